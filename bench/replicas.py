"""Replicas on one PostgreSQL: log-batch ingestion through one replica and through two (the load
of bench/tracking.py), with each server's CPU; and leader failover, from SIGKILL of the leader
to the other replica leading (its first scheduler pass starts then). Run by bench/replicas.sh."""

import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid

import requests

# bench/ on the path after the standard library, whose queue module bench/queue.py would shadow.
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
import tracking  # noqa: E402

FAILOVERS = int(os.environ.get("BENCH_FAILOVERS", "5"))
# tracking.py's load, five times longer (1,000,000 points) so that a run lasts seconds, not one.
tracking.RUNS = 100


def cpu_seconds(pid):
    """User and system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Store:
    """A fresh schema on the test PostgreSQL server, with a user and her token."""

    def __init__(self):
        base = os.environ.get("MILLRACE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
        self.schema = f"bench_replicas_{uuid.uuid4().hex[:8]}"
        self.base = base
        subprocess.run(["psql", base, "-qc", f"CREATE SCHEMA {self.schema}"], check=True)
        joiner = "&" if "?" in base else "?"
        # BENCH_PG_OPTIONS adds settings, e.g. `-c synchronous_commit=off` to see what fsync costs.
        extra = os.environ.get("BENCH_PG_OPTIONS", "").replace(" ", "%20").replace("=", "%3D")
        self.url = f"{base}{joiner}options=-c%20search_path%3D{self.schema}" + (f"%20{extra}" if extra else "")
        self.cli("user", "create", "bench")
        self.token = self.cli("token", "create", "--user", "bench").strip()
        self.files = f"/tmp/{self.schema}-files"

    def cli(self, *args):
        return subprocess.run([os.environ["MILLRACE_BIN"], *args, "--database", self.url],
                              check=True, capture_output=True, text=True).stdout

    def psql(self, sql):
        """One value-only query in the schema."""
        return subprocess.run(["psql", self.url, "-Atc", sql], check=True, capture_output=True,
                              text=True).stdout.strip()

    def replica(self):
        port = tracking.free_port()
        command = [os.environ["MILLRACE_BIN"], "serve", "--addr", f"127.0.0.1:{port}",
                   "--database", self.url, "--files", self.files]
        return tracking.Peer("millrace", command, f"http://127.0.0.1:{port}", "/healthz",
                             {"Authorization": f"Bearer {self.token}"})

    def drop(self):
        subprocess.run(["psql", self.base, "-qc", f"DROP SCHEMA {self.schema} CASCADE"], check=True,
                       env=dict(os.environ, PGOPTIONS="--client-min-messages=warning"))
        shutil.rmtree(self.files, ignore_errors=True)


def postgres_cpu_seconds():
    """CPU time so far of every PostgreSQL server process on this machine."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() == "postgres":
                    total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def ingest(replicas):
    before = [cpu_seconds(r.proc.pid) for r in replicas]
    database_before = postgres_cpu_seconds()
    started = time.perf_counter()
    rate = tracking.ingestion(replicas[0], [r.url for r in replicas])
    wall = time.perf_counter() - started
    cpu = [(cpu_seconds(r.proc.pid) - b) / wall for r, b in zip(replicas, before)]
    return rate, cpu, (postgres_cpu_seconds() - database_before) / wall


def leads(replica):
    try:
        text = requests.get(replica.url + "/metrics", timeout=2).text
    except requests.RequestException:
        return False
    return "\nmillrace_leader 1\n" in text


def failover(store, replicas):
    """Seconds from SIGKILL of the leader to another replica leading; a new replica replaces it."""
    while sum(map(leads, replicas)) != 1:
        time.sleep(0.05)
    leader = next(r for r in replicas if leads(r))
    others = [r for r in replicas if r is not leader]
    leader.proc.kill()
    killed = time.perf_counter()
    leader.proc.wait()
    while not any(map(leads, others)):
        time.sleep(0.02)
    took = time.perf_counter() - killed
    return took, others + [store.replica()]


def main():
    store = Store()
    replicas = [store.replica()]
    try:
        rate, cpu, database = ingest(replicas)
        print(f"one replica:  {rate:,.0f} points/s, CPU: millrace {cpu[0]:.2f}, "
              f"PostgreSQL {database:.2f} cores", flush=True)
        replicas.append(store.replica())
        rate2, cpu2, database2 = ingest(replicas)
        shown = " + ".join(f"{c:.2f}" for c in cpu2)
        print(f"two replicas: {rate2:,.0f} points/s (x{rate2 / rate:.2f}), CPU: millrace {shown}, "
              f"PostgreSQL {database2:.2f} cores", flush=True)
        times = []
        for _ in range(FAILOVERS):
            took, replicas = failover(store, replicas)
            times.append(took)
        print(f"leader failover (SIGKILL to the next leader): median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {FAILOVERS}", flush=True)
    finally:
        for replica in replicas:
            replica.stop()
        store.drop()


if __name__ == "__main__":
    main()
