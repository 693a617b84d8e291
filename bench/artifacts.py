"""Artifact upload, download and listing through the official MLflow client: millrace with its
files on the local disk and on S3-compatible storage (the s3s-fs test server), against
`mlflow server --serve-artifacts`, each on loopback with its own temporary store. Run by
bench/artifacts.sh; prints medians and millrace's peak memory."""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

MB = int(os.environ.get("BENCH_ARTIFACT_MB", "1024"))
LIST_FILES = int(os.environ.get("BENCH_LIST_FILES", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_kb(pid, field="VmHWM"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def start_millrace_s3(tmp):
    """millrace with its files in a fresh prefix of the S3 test server's bucket."""
    s3 = {
        "AWS_ENDPOINT_URL": os.environ.get("MILLRACE_TEST_S3", "http://127.0.0.1:8014"),
        "AWS_ACCESS_KEY_ID": "millrace-test",
        "AWS_SECRET_ACCESS_KEY": "millrace-test-secret",
        "AWS_REGION": "us-east-1",
    }
    prefix = os.path.basename(tmp.rstrip("/")) + f"-{os.getpid()}"
    return start_millrace(tmp, ["--files", f"s3://millrace-test/bench-{prefix}"], s3)


def start_millrace(tmp, flags=(), env=None):
    binary = os.environ["MILLRACE_BIN"]
    database = f"sqlite://{tmp}/millrace.db"
    run = lambda *args: subprocess.run([binary, *args, "--database", database], check=True, capture_output=True, text=True)
    run("user", "create", "bench")
    token = run("token", "create", "--user", "bench").stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--addr", f"127.0.0.1:{port}", "--database", database, *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, MILLRACE_LOG="warn", **(env or {})),
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/healthz")
    return proc, url, token


def start_mlflow(tmp):
    port = free_port()
    proc = subprocess.Popen(
        [os.environ["MLFLOW_BIN"], "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db", "--serve-artifacts",
         "--artifacts-destination", f"{tmp}/mlartifacts", "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/health")
    return proc, url, None


def wait_for(url):
    for _ in range(1200):
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    sys.exit(f"{url} did not start")


def use(url, token):
    os.environ["MLFLOW_TRACKING_URI"] = url
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    else:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)


def measure(name, url, token, big, many):
    from mlflow import MlflowClient

    use(url, token)
    client = MlflowClient()
    experiment = client.create_experiment(f"bench-{name}")
    ups, downs, lists = [], [], []
    for i in range(ROUNDS):
        run = client.create_run(experiment).info.run_id
        started = time.perf_counter()
        client.log_artifact(run, big)
        ups.append(MB / (time.perf_counter() - started))
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            client.download_artifacts(run, os.path.basename(big), out)
            downs.append(MB / (time.perf_counter() - started))
    run = client.create_run(experiment).info.run_id
    started = time.perf_counter()
    client.log_artifacts(run, many, "files")
    logged = time.perf_counter() - started
    for _ in range(5):
        started = time.perf_counter()
        listed = client.list_artifacts(run, "files")
        lists.append((time.perf_counter() - started) * 1000)
    assert len(listed) == LIST_FILES, len(listed)
    if name.startswith("millrace"):
        web_figures(url, token, experiment, run, big_run=client.search_runs([experiment])[-1].info.run_id)
    return statistics.median(ups), statistics.median(downs), statistics.median(lists), logged


def web_figures(url, token, experiment, many_run, big_run):
    """What the web app's Artifacts tab costs: its page for the folder of many files (the
    server function the tab calls), and a folder's zip download."""
    import requests

    auth = {"Authorization": f"Bearer {token}"}
    project = requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment}, headers=auth).json()
    slug = project["experiment"]["name"]
    body = {"owner": "bench", "project": slug, "job": many_run, "path": "files"}
    times = []
    for _ in range(5):
        started = time.perf_counter()
        answer = requests.post(f"{url}/api/get_artifacts", json=body, headers=auth)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    shown = len(answer.json()["folders"][-1]["entries"])
    print(f"  millrace Artifacts tab, folder of {LIST_FILES} files: median {statistics.median(times):.1f} ms "
          f"({shown} listed, {len(answer.content):,} bytes)", flush=True)
    for run, what in [(many_run, f"{LIST_FILES} small files"), (big_run, f"one {MB} MB file")]:
        started, size = time.perf_counter(), 0
        with requests.get(f"{url}/api/v1/jobs/{run}/zip", headers=auth, stream=True) as answer:
            answer.raise_for_status()
            for piece in answer.iter_content(1 << 20):
                size += len(piece)
        took = time.perf_counter() - started
        print(f"  millrace zip of {what}: {size / 1e6:.1f} MB in {took:.2f} s ({size / 1e6 / took:.0f} MB/s)", flush=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "weights.bin")
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(MB):
                f.write(block)
        many = os.path.join(tmp, "many")
        os.mkdir(many)
        for i in range(LIST_FILES):
            with open(os.path.join(many, f"f{i:05}.txt"), "w") as f:
                f.write(str(i))
        results = {}
        servers = [("millrace", start_millrace), ("millrace-s3", start_millrace_s3), ("mlflow", start_mlflow)]
        for name, start in servers:
            store = os.path.join(tmp, name)
            os.mkdir(store)
            proc, url, token = start(store)
            try:
                before = peak_kb(proc.pid, "VmRSS")
                results[name] = measure(name, url, token, big, many) + (before, peak_kb(proc.pid))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        print(f"{MB} MB file, {ROUNDS} rounds (medians); {LIST_FILES} files listed (median of 5)")
        for name, (up, down, listing, logged, before, peak) in results.items():
            memory = f", server memory {before // 1024} MB at start, peak {peak // 1024} MB" if name.startswith("millrace") else ""
            print(f"  {name:11} upload {up:7.1f} MB/s  download {down:7.1f} MB/s  "
                  f"list {listing:7.1f} ms  (logging the {LIST_FILES} files: {logged:.1f} s){memory}")
        f = results["mlflow"]
        for name in ["millrace", "millrace-s3"]:
            m = results[name]
            print(f"  {name} / mlflow: upload {m[0] / f[0]:.2f}x, download {m[1] / f[1]:.2f}x, list {f[2] / m[2]:.2f}x faster")


if __name__ == "__main__":
    main()
