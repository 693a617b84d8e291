"""Latency of the jobs column's server function (`/api/list_jobs`) with 1,000,000 jobs in one
project (BENCH_JOBS sets how many), over real HTTP on loopback, on SQLite or, with
BENCH_COLUMNS_DATABASE set to a PostgreSQL URL naming a schema of its own, on PostgreSQL. Run
by bench/columns.sh; prints medians and p99."""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

JOBS = int(os.environ.get("BENCH_JOBS", "1000000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
DEEP_ROWS = 10_000
BIN = os.environ["MILLRACE_BIN"]
DB_FILE = os.path.expanduser(f"~/.cache/millrace-bench-columns-{JOBS}.db")
DB = os.environ.get("BENCH_COLUMNS_DATABASE", f"sqlite://{DB_FILE}")


def filled():
    """Whether the store holds the jobs already (made once: the SQLite file is kept in ~/.cache,
    a PostgreSQL schema until it is dropped)."""
    if DB.startswith("sqlite://"):
        return os.path.exists(DB_FILE)
    count = subprocess.run(["psql", DB, "-Atc", "SELECT count(*) FROM jobs"], capture_output=True, text=True)
    return count.returncode == 0 and int(count.stdout or 0) >= JOBS


def cli(*args):
    return subprocess.run([BIN, *args, "--database", DB], check=True, capture_output=True, text=True).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, name, body):
        self.connection.request("POST", f"/api/{name}", body=json.dumps(body), headers=self.headers)
        answer = self.connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            sys.exit(f"{name} answered {answer.status}: {data[:300]!r}")
        return json.loads(data)


def query(sort, desc):
    return {"sort": sort, "dir": "desc" if desc else "asc",
            "filter": {"text": None, "statuses": [], "tag": None, "archived": False}}


def main():
    if not filled():
        started = time.perf_counter()
        cli("demo", "--users", "1", "--projects", "1", "--jobs", str(JOBS), "--points", "2", "--long-series", "10",
            "--sweep-trials", "0")
        print(f"made {JOBS:,} jobs in {time.perf_counter() - started:.0f} s ({DB})", flush=True)
    if not DB.startswith("sqlite://"):
        # Fresh statistics, as autovacuum gives a store in use: right after the bulk fill the
        # planner knows nothing of 1M rows and the first pages take 60-600 ms instead of 2-5.
        subprocess.run(["psql", DB, "-qc", "ANALYZE"], check=True)
    port = free_port()
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--database", DB],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # A user of our own for the token; the demo's one user owns the project.
        name = "bench-columns"
        try:
            cli("user", "create", name)
        except subprocess.CalledProcessError:
            pass
        token = cli("token", "create", "--user", name).strip()
        client = Client(port, token)
        users = client.call("list_users", {"query": query("name", False), "cursor": None})["items"]
        owner = next(u["name"] for u in users if u["name"] != name)
        project = client.call("list_projects", {"owner": owner, "query": query("updated", True), "cursor": None})["items"][0]
        print(f"{owner}/{project['name']}: {project['job_count']:,} jobs; {SAMPLES} samples per case", flush=True)
        sorts = [("created", True), ("created", False), ("name", False), ("status", False),
                 ("duration", True), ({"metric": "train/loss"}, False)]
        for sort, desc in sorts:
            body = {"owner": owner, "project": project["name"], "query": query(sort, desc), "cursor": None}
            first = sample(client, body)
            for _ in range(DEEP_ROWS // 50):
                body["cursor"] = client.call("list_jobs", body)["next"]
            deep = sample(client, body)
            label = (sort if isinstance(sort, str) else f"metric {sort['metric']}") + (" desc" if desc else " asc")
            print(f"  {label:<22} first page median {first[0]:.2f} ms p99 {first[1]:.2f} ms | "
                  f"{DEEP_ROWS:,} deep median {deep[0]:.2f} ms p99 {deep[1]:.2f} ms", flush=True)
    finally:
        server.terminate()
        server.wait()


def sample(client, body):
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        page = client.call("list_jobs", body)
        times.append((time.perf_counter() - started) * 1000)
        assert len(page["items"]) == 50
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


if __name__ == "__main__":
    main()
