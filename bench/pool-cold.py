"""Queue-to-running on a cold pool, measured with real processes: a job waits on a pool with no
machine, the server runs the local provider's create script (docs/pools/local-create.sh, which
starts a `millrace runner` on this machine), the runner registers and takes the job. Split into
the provider's time (request to registration: creating and booting the machine) and millrace's
(queue to request, plus registration to running). Run by bench/pool-cold.sh."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from http_api import Api, admin as run_admin, free_port, until

BIN = os.environ["MILLRACE_BIN"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def admin(database, *args):
    return run_admin(BIN, database, *args)


def main():
    work = tempfile.mkdtemp(prefix="millrace-pool-bench-")
    scripts = os.path.join(work, "scripts")
    gpus = os.path.join(work, "gpus")
    os.makedirs(scripts)
    os.makedirs(gpus)
    for name in ["local-create.sh", "local-delete.sh"]:
        shutil.copy(os.path.join(ROOT, "docs/pools", name), scripts)
    smi = os.path.join(gpus, "nvidia-smi")
    with open(smi, "w") as f:
        f.write("#!/bin/sh\ncase \"$1\" in --query-gpu=index,name,*) echo '0, NVIDIA L4, 23034, GPU-a';; *) exit 9;; esac\n")
    os.chmod(smi, 0o755)
    database = f"sqlite://{work}/bench.db"
    admin(database, "user", "create", "bench")
    token = admin(database, "token", "create", "--user", "bench").strip()
    port = free_port()
    env = dict(os.environ, PATH=f"{gpus}:{os.path.dirname(BIN)}:{os.environ['PATH']}", MILLRACE_LOG="warn")
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--database", database,
                               "--files", os.path.join(work, "files"), "--lease-timeout", "5s",
                               "--pool-scripts", scripts], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until("the server", lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/healthz"],
                                                    capture_output=True).returncode == 0)
        api = Api(port, token)
        api.call("POST", "/api/2.0/mlflow/experiments/create", {"name": "lab"})
        settings = {"labels": ["cold"], "gpus_per_machine": 1, "price_per_hour": 1.0, "min": 0, "max": 1,
                    "idle_timeout_s": 1, "boot_timeout_s": 60, "command_timeout_s": 60,
                    "create": ["local-create.sh", "{{name}}"], "delete": ["local-delete.sh", "{{name}}"]}
        api.call("PUT", "/api/v1/pools/cold", settings)
        scheduler, provider, after, total = [], [], [], []
        for i in range(ROUNDS):
            until("no machine", lambda: not api.call("GET", "/api/v1/pools")[0]["machines"])
            body = {"name": f"cold-{i}", "plan": {"command": {"shell": "true"}}, "gpus": 1, "labels": ["cold"]}
            uid = api.call("POST", "/api/v1/projects/bench/lab/apply?always=true", body)["uid"]
            job = until("the job", lambda: (lambda j: j if j["status"] == "succeeded" else None)(
                api.call("GET", f"/api/v1/jobs/{uid}")))
            history = api.call("GET", "/api/v1/pools")[0]["history"]
            machine = next(c["machine"] for c in history if c["state"] == "requested"
                           and c["at_ms"] >= job["created_ms"])
            at = {c["state"]: c["at_ms"] for c in reversed(history) if c["machine"] == machine}
            scheduler.append(at["requested"] - job["created_ms"])
            provider.append(at["ready"] - at["requested"])
            after.append(job["started_ms"] - at["ready"])
            total.append(job["started_ms"] - job["created_ms"])
        med = statistics.median
        print(f"cold pool, queue to running, {ROUNDS} rounds, medians: {med(total):.0f} ms in all = "
              f"provider {med(provider):.0f} ms (create script, runner start, registration) + millrace "
              f"{med(scheduler) + med(after):.0f} ms (queue to request {med(scheduler):.0f} ms, "
              f"registration to running {med(after):.0f} ms); aim: millrace's part under 1,000 ms")
    finally:
        server.terminate()
        server.wait()
        machines = os.path.join(scripts, "machines")
        for name in os.listdir(machines) if os.path.isdir(machines) else []:
            pid = os.path.join(machines, name, "pid")
            if os.path.exists(pid):
                subprocess.run(["kill", "-KILL", open(pid).read().strip()], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


main()
