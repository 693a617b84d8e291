"""Latency of the jobs column's server function (`/api/list_jobs`) with 1,000,000 jobs in one
project (BENCH_JOBS sets how many), over real HTTP on loopback, on SQLite or, with
BENCH_COLUMNS_DATABASE set to a PostgreSQL URL naming a schema of its own, on PostgreSQL (where
the demo's jobs are copied in SQL past the first 500,000). Run by bench/columns.sh; prints
medians and p99."""

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
SEED_JOBS = 500_000
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


def fill():
    """Makes the project: `millrace demo` writes every job on SQLite; on PostgreSQL it writes the
    first SEED_JOBS and SQL copies them until there are JOBS, because the demo holds every job's
    plan in memory (10M jobs were killed by the OOM killer at 24 GiB)."""
    started = time.perf_counter()
    postgres = not DB.startswith("sqlite://")
    seed = min(JOBS, SEED_JOBS) if postgres else JOBS
    cli("demo", "--users", "1", "--projects", "1", "--jobs", str(seed), "--points", "2", "--long-series", "10",
        "--sweep-trials", "0")
    if postgres and JOBS > seed:
        copy()
    print(f"made {JOBS:,} jobs in {time.perf_counter() - started:.0f} s ({DB})", flush=True)


def copy():
    """Copies the demo's jobs and their metric summaries (what the column reads) into the same
    project, each copy older than the last and its names, numbers and uids its own, until the
    project holds at least JOBS; every sort then sees the demo's mix of names, statuses and
    values. The tables' indexes are dropped meanwhile and made again at the end: maintaining ten
    of them row by row took minutes per copy. A copy cut short is rolled back; run it again."""
    job_columns = columns("jobs", {"id", "number", "uid", "name", "created_ms"})
    series_columns = columns("metric_series", {"id", "job_id"})
    # The demo's uids are 32 hex digits; copies add '-K'.
    seed = "uid NOT LIKE '%-%'"
    span = int(psql(f"SELECT max(created_ms) - min(created_ms) + 1 FROM jobs WHERE {seed}"))
    seed_jobs, last_number, last_seed_job = map(int, psql(f"SELECT count(*), max(number), max(id) FROM jobs WHERE {seed}").split("|"))
    made = int(psql("SELECT count(*) FROM jobs")) // seed_jobs - 1
    copies = -(-JOBS // seed_jobs) - 1
    if made >= copies:
        return
    indexes = drop_indexes(["jobs", "metric_series"])
    print("  indexes dropped until the copies are made; to make them again by hand:", *indexes, sep="\n    ", flush=True)
    for k in range(made + 1, copies + 1):
        psql(f"""
            BEGIN;
            INSERT INTO jobs (number, uid, name, created_ms, {job_columns})
                SELECT number + {k * last_number}, uid || '-{k}', name || '-{k}', created_ms - {k * span}, {job_columns}
                FROM jobs WHERE id <= {last_seed_job};
            INSERT INTO metric_series (job_id, {series_columns})
                SELECT copy.id, {prefixed("s", series_columns)}
                FROM metric_series s JOIN jobs seed ON seed.id = s.job_id
                JOIN jobs copy ON copy.uid = seed.uid || '-{k}'
                WHERE seed.id <= {last_seed_job};
            COMMIT;""")
        print(f"  {(k + 1) * seed_jobs:,} jobs", flush=True)
    for statement in indexes:
        psql(statement)
    psql("UPDATE projects SET job_count = (SELECT count(*) FROM jobs),"
         " next_job_number = (SELECT max(number) + 1 FROM jobs)")


def drop_indexes(tables):
    """Drops the tables' unique constraints and other indexes (not their primary keys); returns
    the statements that make them again."""
    names = ", ".join(f"'{t}'" for t in tables)
    constraints = psql(f"""SELECT format('%I', conrelid::regclass::text) || '|' || conname || '|' || pg_get_constraintdef(oid)
                           FROM pg_constraint WHERE contype = 'u' AND connamespace = current_schema()::regnamespace
                           AND conrelid::regclass::text IN ({names})""").splitlines()
    indexes = psql(f"""SELECT indexname || '|' || indexdef FROM pg_indexes i
                       WHERE schemaname = current_schema() AND tablename IN ({names})
                       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname
                                       AND c.connamespace = current_schema()::regnamespace)""").splitlines()
    again = []
    for line in constraints:
        table, name, definition = line.split("|", 2)
        psql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        again.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for line in indexes:
        name, definition = line.split("|", 1)
        psql(f"DROP INDEX {name}")
        again.append(definition)
    return again


def columns(table, skip):
    names = psql(f"SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
                 f" WHERE table_schema = current_schema() AND table_name = '{table}'").split(",")
    return ", ".join(n for n in names if n not in skip)


def prefixed(alias, names):
    return ", ".join(f"{alias}.{n.strip()}" for n in names.split(","))


def psql(sql):
    done = subprocess.run(["psql", DB, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"psql failed: {done.stderr.strip()}\n{sql}")
    return done.stdout.strip()


def main():
    if not filled():
        fill()
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
