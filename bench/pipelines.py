"""Pipelines, measured with real processes (run by bench/pipelines.sh):

1. From a step's end to its dependent's start on an idle runner: a chain of trivial steps on one
   runner; for each link, the dependent's job start minus the needed job's end, as the server
   recorded them. Median and p90.
2. A pipeline of 1,000 steps (a wide fan-out beside a long chain): `millrace apply` of it (the
   CLI process: parse, check, send, store) and the POST alone, then the DAG view's server HTML
   for the run, its time and its bytes as sent with brotli and raw. Medians."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from http_api import Api, admin as run_admin, free_port, until

BIN = os.environ["MILLRACE_BIN"]
LINKS = int(os.environ.get("BENCH_LINKS", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))


def chain_yaml(project, n, name="chain"):
    lines = [f"pipeline: {name}", f"project: {project}", "steps:"]
    for i in range(n):
        lines.append(f"  s{i:04}:")
        lines.append("    command: 'true'")
        if i > 0:
            lines.append(f"    needs: [s{i - 1:04}]")
    return "\n".join(lines) + "\n"


def wide_and_long_yaml(project):
    """1,000 steps: a root, 499 steps that need it, and a chain of 500 after it."""
    lines = ["pipeline: big", f"project: {project}", "steps:", "  root: {command: 'true'}"]
    lines += [f"  wide{i:03}: {{command: 'true', needs: [root]}}" for i in range(499)]
    lines += [f"  long{i:03}: {{command: 'true', needs: [{'root' if i == 0 else f'long{i - 1:03}'}]}}"
              for i in range(500)]
    return "\n".join(lines) + "\n"


def cancel_newest(api):
    """Cancels the newest run, so runs left waiting do not load the server while it is timed."""
    newest = api.call("GET", "/api/v1/projects/bench/lab/pipelines")["runs"][0]
    api.call("POST", f"/api/v1/pipelines/{newest['id']}/cancel", {})
    return newest


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def admin(database, *args):
    return run_admin(BIN, database, *args)


def main():
    work = tempfile.mkdtemp(prefix="millrace-pipeline-bench-")
    database = f"sqlite://{work}/bench.db"
    admin(database, "user", "create", "bench")
    token = admin(database, "token", "create", "--user", "bench").strip()
    runner_token = admin(database, "runner-token", "create").strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MILLRACE_LOG="warn")
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--database", database,
                               "--files", os.path.join(work, "files"), "--lease-timeout", "5s"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runner = None
    try:
        until("the server", lambda: subprocess.run(["curl", "-sf", f"{url}/healthz"], capture_output=True).returncode == 0)
        api = Api(port, token)
        api.call("POST", "/api/2.0/mlflow/experiments/create", {"name": "lab"})
        runner = subprocess.Popen([BIN, "runner", "--server", url, "--name", "r1", "--gpus", "",
                                   "--workdir", os.path.join(work, "runner")],
                                  env=dict(env, MILLRACE_RUNNER_TOKEN=runner_token),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        with open(os.path.join(work, "chain.yaml"), "w") as f:
            f.write(chain_yaml("bench/lab", LINKS + 1))
        cli = [BIN, "apply", "--server", url, "--token", token, "-f", os.path.join(work, "chain.yaml")]
        subprocess.run(cli, check=True, capture_output=True)
        run = until("the chain", lambda: (lambda r: r if r["state"] != "running" else None)(
            api.call("GET", "/api/v1/pipelines/1")), timeout=300)
        if run["state"] != "succeeded":
            sys.exit(f"the chain ended {run['state']}: {run['reason']}")
        jobs = {s["step"]: api.call("GET", f"/api/v1/jobs/{s['job']['uid']}") for s in run["steps"]}
        names = sorted(jobs)
        # A job that ends before its runner's "started" report lands has no start time (noted
        # in issue 18's closing note); such links are left out and counted.
        links = [(a, b) for a, b in zip(names, names[1:]) if jobs[b]["started_ms"] is not None]
        gaps = [jobs[b]["started_ms"] - jobs[a]["finished_ms"] for a, b in links]
        queued = [jobs[b]["created_ms"] - jobs[a]["finished_ms"] for a, b in zip(names, names[1:])]
        print(f"step end to dependent's start on an idle runner, {len(gaps)} links "
              f"({len(names) - 1 - len(gaps)} without a start time left out): "
              f"median {statistics.median(gaps):.0f} ms, p90 {percentile(gaps, 90):.0f} ms "
              f"(of which end to queued: median {statistics.median(queued):.0f} ms)")

        # No runner from here on: the big runs' jobs wait, and the timings are the server's alone.
        runner.terminate()
        runner.wait()
        runner = None
        original = wide_and_long_yaml("bench/lab")
        applies, posts, runs = [], [], set()
        for i in range(ROUNDS):
            # A changed spec each round, so each apply starts a run of 1,000 steps.
            with open(os.path.join(work, "big.yaml"), "w") as f:
                f.write(original.replace("root: {command: 'true'}", f"root: {{command: 'true {i}'}}"))
            started = time.perf_counter()
            subprocess.run([BIN, "apply", "--server", url, "--token", token, "-f", os.path.join(work, "big.yaml")],
                           check=True, capture_output=True)
            applies.append((time.perf_counter() - started) * 1000)
            newest = cancel_newest(api)
            runs.add(newest["id"])
            if newest["step_count"] != 1000 or len(runs) != i + 1:
                sys.exit(f"apply {i} did not start a new 1,000-step run: {newest}")
        spec = api.call("GET", "/api/v1/pipelines/2")["spec"]
        for i in range(ROUNDS):
            spec["steps"]["root"]["command"] = f"true post {i}"
            started = time.perf_counter()
            api.call("POST", "/api/v1/projects/bench/lab/pipelines", {"spec": spec})
            posts.append((time.perf_counter() - started) * 1000)
            cancel_newest(api)
        print(f"1,000-step pipeline: millrace apply median {statistics.median(applies):.0f} ms, "
              f"the POST alone median {statistics.median(posts):.0f} ms")

        last = api.call("GET", "/api/v1/projects/bench/lab/pipelines")["runs"][0]["id"]
        page = f"{url}/u/bench/p/lab?pview=pipelines&prun={last}"
        times, sizes = [], {}
        for encoding in ["br", "identity"]:
            for _ in range(ROUNDS):
                request = urllib.request.Request(page, headers={"Authorization": f"Bearer {token}", "Accept-Encoding": encoding})
                started = time.perf_counter()
                with urllib.request.urlopen(request) as answer:
                    body = answer.read()
                if encoding == "br":
                    times.append((time.perf_counter() - started) * 1000)
                sizes[encoding] = len(body)
        print(f"DAG view of 1,000 steps, server HTML: median {statistics.median(times):.0f} ms, "
              f"{sizes['br'] / 1024:.0f} KB sent with brotli ({sizes['identity'] / 1024:.0f} KB raw)")
    finally:
        for process in [runner, server]:
            if process:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
