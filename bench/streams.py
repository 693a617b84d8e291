"""2,000 event-stream clients spread over two replicas on one PostgreSQL while 100,000 metric
points a second are logged through both: whether every client receives every event, how late,
and each replica's memory. Run by bench/streams.sh."""

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time

import requests

# bench/ on the path after the standard library, whose queue module bench/queue.py would shadow.
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from replicas import Store  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_STREAM_CLIENTS", "2000"))
POINTS_PER_SECOND = int(os.environ.get("BENCH_POINTS_PER_SECOND", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# Ten requests a second, alternating between the replicas.
BATCH = POINTS_PER_SECOND // 10


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class Client:
    """One event stream: the metric events it received (count, sum of ids) and when."""

    def __init__(self):
        self.count = 0
        self.id_sum = 0
        self.arrivals = {}

    async def follow(self, port, token, ready):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /api/v1/events?project=bench/live HTTP/1.1\r\nHost: t\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        await writer.drain()
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.startswith(b"HTTP/1.1") and b" 200 " not in line:
                sys.exit(f"the event stream answered {line!r}")
        ready()
        event, id_ = None, None
        while line := await reader.readline():
            if line.startswith(b"event: "):
                event = line[7:].strip()
            elif line.startswith(b"id: "):
                id_ = int(line[4:])
            elif line in (b"\r\n", b"\n"):
                if event == b"metrics" and id_ is not None:
                    self.count += 1
                    self.id_sum += id_
                    self.arrivals[id_] = time.time()
                event, id_ = None, None


def load(replicas, token, uid, sent):
    """POSTs BATCH points ten times a second for SECONDS, alternating replicas; notes when each
    request was sent."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    for i in range(SECONDS * 10):
        points = [{"key": "loss", "step": i * BATCH + j, "value": 1.0 / (j + 1)} for j in range(BATCH)]
        replica = replicas[i % 2]
        sent.append(time.time())
        answer = session.post(f"{replica.url}/api/v1/jobs/{uid}/metrics", json={"points": points})
        answer.raise_for_status()
        delay = started + (i + 1) / 10 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return time.perf_counter() - started


async def run(store, replicas):
    token = store.token
    auth = {"Authorization": f"Bearer {token}"}
    made = requests.post(f"{replicas[0].url}/api/v1/projects", json={"name": "live"}, headers=auth)
    made.raise_for_status()
    job = requests.post(f"{replicas[0].url}/api/v1/projects/bench/live/jobs", json={"name": "loaded"}, headers=auth)
    job.raise_for_status()
    uid = job.json()["uid"]
    idle = [rss_mb(r.proc.pid) for r in replicas]

    clients = [Client() for _ in range(CLIENTS)]
    opened = 0

    def ready():
        nonlocal opened
        opened += 1

    ports = [int(r.url.rsplit(":", 1)[1]) for r in replicas]
    tasks = []
    for i, client in enumerate(clients):
        tasks.append(asyncio.create_task(client.follow(ports[i % 2], token, ready)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    while opened < CLIENTS:
        await asyncio.sleep(0.1)
    connected = [rss_mb(r.proc.pid) for r in replicas]
    print(f"{CLIENTS} streams open ({CLIENTS // 2} on each replica); replica memory "
          f"{idle[0]:.0f} / {idle[1]:.0f} MB idle, {connected[0]:.0f} / {connected[1]:.0f} MB with the streams",
          flush=True)

    sent = []
    took = await asyncio.to_thread(load, replicas, token, uid, sent)
    await asyncio.sleep(2)
    peaks = [rss_mb(r.proc.pid, "VmHWM") for r in replicas]
    for task in tasks:
        task.cancel()
    print(f"logged {SECONDS * 10 * BATCH:,} points in {took:.1f} s ({SECONDS * 10 * BATCH / took:,.0f} points/s) "
          f"through both replicas", flush=True)

    expected = store.psql(
        "SELECT count(*) || ' ' || coalesce(sum(e.id), 0) FROM events e JOIN projects p ON p.id = e.project_id "
        "WHERE p.name = 'live' AND e.kind = 'metrics'").split()
    count, id_sum = int(expected[0]), int(expected[1])
    complete = sum(1 for c in clients if (c.count, c.id_sum) == (count, id_sum))
    print(f"{count} metric events in the log; {complete} of {CLIENTS} clients received every one of them"
          + ("" if complete == CLIENTS else
             f" (fewest received: {min(c.count for c in clients)})"), flush=True)
    # How late: from the start of each request (10,000 points to store) to each client's
    # arrival of its event, matched in order (one event per request); every 7th client.
    ids = sorted(clients[0].arrivals)
    delays = [clients[k].arrivals[event] - sent[n] for k in range(0, CLIENTS, 7)
              for n, event in enumerate(ids[:len(sent)]) if event in clients[k].arrivals]
    delays.sort()
    if delays:
        print(f"delivery from the start of the write: median {statistics.median(delays) * 1000:.0f} ms, "
              f"p99 {delays[int(len(delays) * 0.99) - 1] * 1000:.0f} ms", flush=True)
    print(f"replica memory at the peak: {peaks[0]:.0f} / {peaks[1]:.0f} MB, "
          f"{(peaks[0] - idle[0]) * 1024 / (CLIENTS / 2):.0f} / {(peaks[1] - idle[1]) * 1024 / (CLIENTS / 2):.0f} "
          f"KB above idle per stream", flush=True)


def main():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, CLIENTS * 4), hard))
    store = Store()
    replicas = [store.replica(), store.replica()]
    try:
        asyncio.run(run(store, replicas))
    finally:
        for replica in replicas:
            replica.stop()
        store.drop()


if __name__ == "__main__":
    main()
