"""The job queue, measured over real HTTP on loopback with a real `millrace runner` and with
50 protocol-level runners. Run by bench/queue.sh."""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from http_api import Api, free_port

BIN = os.environ["MILLRACE_BIN"]
LATENCY_JOBS = int(os.environ.get("BENCH_LATENCY_JOBS", "30"))
LEASE_JOBS = int(os.environ.get("BENCH_LEASE_JOBS", "2000"))
LEASE_RUNNERS = 50
LOG_LINES = int(os.environ.get("BENCH_LOG_LINES", "500000"))
UNFIT_JOBS = int(os.environ.get("BENCH_UNFIT_JOBS", "10000"))
# An empty database to run on instead of a fresh SQLite file, e.g. a PostgreSQL URL.
DATABASE = os.environ.get("BENCH_DATABASE")


def queue(api, name, command, always=True):
    body = {"name": name, "plan": {"command": {"shell": command}}}
    return api.call("POST", "/api/v1/projects/bench/lab/apply" + ("?always=true" if always else ""), body)["uid"]


def wait_status(api, uid, wanted, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = api.call("GET", f"/api/v1/jobs/{uid}")["status"]
        if status in wanted:
            return status
        time.sleep(0.01)
    sys.exit(f"job {uid} did not reach {wanted}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def queue_to_start(api, port, runner_token, work):
    runner = subprocess.Popen([BIN, "runner", "--server", f"http://127.0.0.1:{port}", "--token", runner_token,
                               "--name", "idle", "--workdir", os.path.join(work, "runner")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        stamp = os.path.join(work, "stamp")
        latencies = []
        for i in range(LATENCY_JOBS):
            time.sleep(0.2)  # the runner is idle, waiting at the server, when the job arrives
            submitted = time.time()
            uid = queue(api, f"latency-{i}", f"date +%s.%N > {stamp}")
            wait_status(api, uid, {"succeeded"})
            with open(stamp) as f:
                latencies.append((float(f.read()) - submitted) * 1000)
        print(f"queue to start on an idle runner ({LATENCY_JOBS} jobs): median {statistics.median(latencies):.0f} ms,"
              f" p99 {percentile(latencies, 0.99):.0f} ms (aim: under 1 s)", flush=True)
    finally:
        runner.terminate()
        runner.wait()


def lease_throughput(port, user_api, runner_token):
    for i in range(LEASE_JOBS):
        queue(user_api, f"lease-{i}", "true")
    leased = []
    lock = threading.Lock()
    done = threading.Event()

    def runner(n):
        api = Api(port, runner_token)
        me = api.call("POST", "/api/v1/runner/register", {"name": f"sim-{n}", "max_jobs": 1})["runner_id"]
        while not done.is_set():
            connection = api.connection
            connection.request("POST", "/api/v1/runner/lease", body=json.dumps({"runner_id": me, "wait_ms": 200}),
                               headers=api.headers)
            answer = connection.getresponse()
            data = answer.read()
            if answer.status == 204:
                continue
            job = json.loads(data)
            api.call("POST", f"/api/v1/runner/jobs/{job['uid']}/finish", {"runner_id": me, "status": "succeeded", "exit_code": 0})
            with lock:
                leased.append(job["uid"])
                if len(leased) >= LEASE_JOBS:
                    done.set()

    threads = [threading.Thread(target=runner, args=(n,), daemon=True) for n in range(LEASE_RUNNERS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    done.wait(600)
    elapsed = time.perf_counter() - started
    for t in threads:
        t.join(5)
    unique = len(set(leased))
    print(f"lease throughput, {LEASE_RUNNERS} runners polling, {LEASE_JOBS} jobs: {len(leased) / elapsed:,.0f} jobs/s"
          f" (lease + finish each); leased {len(leased)}, distinct {unique}"
          f" -> {'no double lease' if unique == len(leased) else 'DOUBLE LEASE'}", flush=True)


def lease_past_unfit(port, user_api, runner_token):
    """A lease pass over UNFIT_JOBS queued jobs that none of the runners can take: each needs the
    label `big` and a GPU of 80 GB. One runner lacks the label (the SQL rules the jobs out by
    label), the other has it but a 40 GB card (ruled out by GPU memory). Compares the two."""
    body = {"plan": {"command": {"shell": "true"}}, "labels": ["big"], "gpus": 1, "gpu_memory_mib": 76_294}
    for i in range(UNFIT_JOBS):
        user_api.call("POST", "/api/v1/projects/bench/lab/apply?always=true", {**body, "name": f"big-{i}"})
    card = {"id": "0", "name": "NVIDIA A100-PCIE-40GB", "memory_mib": 40_536, "uuid": "GPU-bench"}
    figures = {}
    for name, labels in [("by label", []), ("by GPU memory", ["big"])]:
        api = Api(port, runner_token)
        me = api.call("POST", "/api/v1/runner/register", {
            "name": f"unfit-{len(figures)}", "max_jobs": 1, "gpus": ["0"], "gpu_models": [card], "labels": labels,
        })["runner_id"]
        times = []
        for _ in range(200):
            started = time.perf_counter()
            api.connection.request("POST", "/api/v1/runner/lease", body=json.dumps({"runner_id": me, "wait_ms": 0}),
                                   headers=api.headers)
            answer = api.connection.getresponse()
            answer.read()
            times.append((time.perf_counter() - started) * 1000)
            if answer.status != 204:
                sys.exit(f"runner {name} was leased a job it cannot run ({answer.status})")
        figures[name] = statistics.median(times)
        print(f"lease past {UNFIT_JOBS:,} queued jobs that do not fit, ruled out {name}: median {figures[name]:.2f} ms,"
              f" p95 {percentile(times, 0.95):.2f} ms", flush=True)
    print(f"  GPU-memory filter / label filter: {figures['by GPU memory'] / figures['by label']:.2f}x", flush=True)


def log_streaming(api, port, runner_token, work):
    runner = subprocess.Popen([BIN, "runner", "--server", f"http://127.0.0.1:{port}", "--token", runner_token,
                               "--name", "chatty", "--workdir", os.path.join(work, "runner2")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        uid = queue(api, "chatty", f"seq 1 {LOG_LINES} | sed 's/^/training line /'")
        wait_status(api, uid, {"running", "succeeded"})
        started = time.perf_counter()
        wait_status(api, uid, {"succeeded"}, timeout=600)
        elapsed = time.perf_counter() - started
        stored, after = 0, 0
        while True:
            page = api.call("GET", f"/api/v1/jobs/{uid}/logs?after={after}")
            if not page["chunks"]:
                break
            stored += sum(chunk["text"].count("\n") for chunk in page["chunks"])
            after = page["next"]
        print(f"log streaming, one job printing {LOG_LINES:,} lines: {LOG_LINES / elapsed:,.0f} lines/s into the store;"
              f" {stored:,} lines stored", flush=True)
    finally:
        runner.terminate()
        runner.wait()


def main():
    work = tempfile.mkdtemp(prefix="millrace-bench-queue-")
    database = DATABASE or f"sqlite://{work}/queue.db"

    def cli(*args):
        return subprocess.run([BIN, *args, "--database", database], check=True, capture_output=True, text=True).stdout

    cli("user", "create", "bench")
    token = cli("token", "create", "--user", "bench").strip()
    runner_token = cli("runner-token", "create").strip()
    port = free_port()
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--database", database],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        api = Api(port, token)
        api.call("POST", "/api/2.0/mlflow/experiments/create", {"name": "lab"})
        queue_to_start(api, port, runner_token, work)
        lease_throughput(port, api, runner_token)
        lease_past_unfit(port, api, runner_token)
        log_streaming(api, port, runner_token, work)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
