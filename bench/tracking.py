"""Tracking ingestion and reads through the MLflow REST API: millrace against the MLflow server
(SQLite backend) and FastTrackML, started side by side on loopback and given the same load.
Run by bench/tracking.sh, which installs the peers; prints medians and ratios."""

import concurrent.futures
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

RUNS, KEYS, STEPS = 20, 5, 2000  # ingestion: 20 runs x 5 keys x 2,000 steps
CLIENTS = 4
SINGLE_REQUESTS = int(os.environ.get("BENCH_SINGLE", "1000"))
SEARCH_RUNS = int(os.environ.get("BENCH_SEARCH_RUNS", "10000"))
HISTORY_POINTS = int(os.environ.get("BENCH_HISTORY_POINTS", "1000000"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url, path):
    for _ in range(600):
        try:
            if requests.get(url + path, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    sys.exit(f"{url} did not start")


class Peer:
    def __init__(self, name, command, url, health, headers=None):
        self.name, self.url, self.headers = name, url, headers or {}
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(url, health)
        self.session = requests.Session()
        self.session.headers.update(self.headers)

    def call(self, method, path, **kwargs):
        answer = self.session.request(method, f"{self.url}/api/2.0/mlflow/{path}", **kwargs)
        answer.raise_for_status()
        return answer

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def millrace(tmp):
    binary = os.environ["MILLRACE_BIN"]
    database = f"sqlite://{tmp}/millrace.db"
    cli = lambda *a: subprocess.run([binary, *a, "--database", database], check=True, capture_output=True, text=True).stdout
    cli("user", "create", "bench")
    token = cli("token", "create", "--user", "bench").strip()
    port = free_port()
    command = [binary, "serve", "--addr", f"127.0.0.1:{port}", "--database", database]
    return Peer("millrace", command, f"http://127.0.0.1:{port}", "/healthz", {"Authorization": f"Bearer {token}"})


def mlflow_server(tmp):
    port = free_port()
    command = [os.environ["MLFLOW_BIN"], "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db", "--default-artifact-root", f"{tmp}/artifacts"]
    return Peer("mlflow", command, f"http://127.0.0.1:{port}", "/health")


def fasttrackml(tmp):
    port = free_port()
    command = [os.environ["FML_BIN"], "server", "--listen-address", f"127.0.0.1:{port}",
               "--database-uri", f"sqlite://{tmp}/fml.db", "--default-artifact-root", f"{tmp}/fml-artifacts"]
    return Peer("fasttrackml", command, f"http://127.0.0.1:{port}", "/health")


def experiment(peer, name):
    return peer.call("POST", "experiments/create", json={"name": name}).json()["experiment_id"]


def new_run(peer, experiment_id):
    return peer.call("POST", "runs/create", json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)}).json()["run"]["info"]["run_id"]


def ingestion(peer, urls=None):
    """Points/s of the log-batch load; with `urls` (replicas of one store), the client threads
    are spread over them in turn."""
    # A name of its own each time: a store may be measured more than once.
    exp = experiment(peer, f"ingest-{time.time_ns()}")
    runs = [new_run(peer, exp) for _ in range(RUNS)]
    now = int(time.time() * 1000)
    batches = []
    for run in runs:
        metrics = [{"key": f"m{k}", "value": 1.0 / (s + 1), "timestamp": now, "step": s} for k in range(KEYS) for s in range(STEPS)]
        batches += [(run, metrics[i:i + 1000]) for i in range(0, len(metrics), 1000)]
    # Bodies are encoded beforehand so the Python client's JSON work is not what is measured.
    bodies = [json.dumps({"run_id": run, "metrics": m}).encode() for run, m in batches]
    # Each client thread keeps one plain http.client connection: requests spends ~3 ms of CPU
    # per call, which on a 2-core machine took half the CPU from the server being measured
    # (real training clients run on other machines).
    targets = [url.removeprefix("http://").split(":") for url in (urls or [peer.url])]
    turn = iter(range(CLIENTS))
    headers = dict(peer.headers, **{"Content-Type": "application/json"})
    local = threading.local()

    def send(body):
        if not hasattr(local, "connection"):
            host, port = targets[next(turn) % len(targets)]
            local.connection = http.client.HTTPConnection(host, int(port))
        local.connection.request("POST", "/api/2.0/mlflow/runs/log-batch", body=body, headers=headers)
        answer = local.connection.getresponse()
        if answer.status != 200:
            sys.exit(f"{peer.name}: log-batch answered {answer.status}: {answer.read()[:200]!r}")
        answer.read()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, bodies))
    return RUNS * KEYS * STEPS / (time.perf_counter() - started)


def single_metric(peer):
    run = new_run(peer, experiment(peer, "single"))
    times = []
    for step in range(SINGLE_REQUESTS):
        started = time.perf_counter()
        peer.call("POST", "runs/log-metric", json={"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1, "step": step})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def search(peer):
    exp = experiment(peer, "search")

    def make(i):
        run = new_run(peer, exp)
        peer.call("POST", "runs/log-batch", json={"run_id": run, "metrics": [{"key": "loss", "value": (i * 7919 % 10007) / 10007, "timestamp": 1, "step": 0}]})

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(make, range(SEARCH_RUNS)))
    medians = []
    # Without a filter (millrace orders and pages in SQL), then with one every run passes.
    for extra in [{}, {"filter": "metrics.loss < 2"}]:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            body = {"experiment_ids": [exp], "max_results": 100, "order_by": ["metrics.loss ASC"], **extra}
            found = peer.call("POST", "runs/search", json=body).json()
            times.append(time.perf_counter() - started)
            assert len(found["runs"]) == 100
        medians.append(statistics.median(times) * 1000)
    return medians


def history(peer):
    run = new_run(peer, experiment(peer, "history"))
    batches = [[{"key": "loss", "value": 1.0 / (s + 1), "timestamp": 1, "step": s} for s in range(i, min(i + 1000, HISTORY_POINTS))] for i in range(0, HISTORY_POINTS, 1000)]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda m: peer.call("POST", "runs/log-batch", json={"run_id": run, "metrics": m}), batches))
    started, size, token, count = time.perf_counter(), 0, None, 0
    while True:
        params = {"run_id": run, "metric_key": "loss", "max_results": 25000}
        if token:
            params["page_token"] = token
        answer = peer.call("GET", "metrics/get-history", params=params)
        size += len(answer.content)
        body = answer.json()
        count += len(body.get("metrics", []))
        token = body.get("next_page_token")
        if not token:
            break
    assert count == HISTORY_POINTS, (peer.name, count)
    return (time.perf_counter() - started) * 1000, size


def main():
    tmp = tempfile.mkdtemp()
    results = {}
    wanted = os.environ.get("BENCH_PEERS", "millrace,mlflow,fasttrackml").split(",")
    starters = {"millrace": millrace, "mlflow": mlflow_server, "fasttrackml": fasttrackml}
    for name in wanted:
        peer = starters[name](tmp)
        try:
            print(f"--- {peer.name}", flush=True)
            r = {"ingest": ingestion(peer)}
            print(f"  log-batch ingestion: {r['ingest']:,.0f} points/s", flush=True)
            r["single"] = single_metric(peer)
            print(f"  log-metric, one point a request: median {r['single']:.2f} ms", flush=True)
            r["search"], r["search_filtered"] = search(peer)
            print(f"  runs/search, 100 of {SEARCH_RUNS} runs by a metric: median {r['search']:.1f} ms, "
                  f"with a filter {r['search_filtered']:.1f} ms", flush=True)
            r["history"], r["bytes"] = history(peer)
            print(f"  get-history of {HISTORY_POINTS:,} points: {r['history']:.0f} ms, {r['bytes']:,} bytes", flush=True)
            results[peer.name] = r
        finally:
            peer.stop()
    m = results.get("millrace")
    for other in ("mlflow", "fasttrackml"):
        o = results.get(other)
        if not (m and o):
            continue
        print(f"millrace vs {other}: ingestion x{m['ingest'] / o['ingest']:.1f}, log-metric x{o['single'] / m['single']:.1f} faster, "
              f"search x{o['search'] / m['search']:.1f} faster, get-history x{o['history'] / m['history']:.1f} faster")


if __name__ == "__main__":
    main()
