"""Fan-out of live events: 500 server-sent-event clients of one project while points are
logged at about 100,000 per second; the server's CPU and memory, and whether every client got
every event. Usage: python3 bench/live.py BASE_PORT PROJECT SERVER_PID (MILLRACE_TOKEN set)."""

import http.client
import json
import os
import socket
import sys
import threading
import time

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "500"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
POINTS_PER_CALL = 1000
RATE = 100_000  # points per second, spread over the writers
WRITERS = 4


def sse_client(port, path, token, counts, index, stop):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
    sock.settimeout(1.0)
    buffer = b""
    while not stop.is_set():
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        buffer += data
        counts[index] += buffer.count(b"\nevent: metrics\n") + buffer.startswith(b"event: metrics\n")
        buffer = buffer[buffer.rfind(b"\n"):]
    sock.close()


def writer(port, token, uid, calls, stop, interval):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    step = 0
    next_at = time.perf_counter()
    while not stop.is_set():
        body = {"points": [{"key": "loss", "step": step + i, "value": 0.5} for i in range(POINTS_PER_CALL)]}
        step += POINTS_PER_CALL
        connection.request("POST", f"/api/v1/jobs/{uid}/metrics", body=json.dumps(body), headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status == 200:
            calls[0] += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    port, project, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    token = os.environ["MILLRACE_TOKEN"]
    api = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    api.request("POST", f"/api/v1/projects/{project}/jobs", body=json.dumps({"name": "fan-out"}), headers=headers)
    uid = json.loads(api.getresponse().read())["uid"]
    listening, writing = threading.Event(), threading.Event()
    counts = [0] * CLIENTS
    clients = [threading.Thread(target=sse_client, args=(port, f"/api/v1/events?project={project}", token, counts, i, listening), daemon=True)
               for i in range(CLIENTS)]
    rss_before = rss_mb(pid)
    for thread in clients:
        thread.start()
    time.sleep(2.0)
    rss_idle = rss_mb(pid)
    calls = [0]
    writers = [threading.Thread(target=writer, args=(port, token, uid, calls, writing, WRITERS * POINTS_PER_CALL / RATE), daemon=True)
               for _ in range(WRITERS)]
    cpu_start, started = cpu_seconds(pid), time.perf_counter()
    for thread in writers:
        thread.start()
    time.sleep(SECONDS)
    writing.set()
    for thread in writers:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(pid) - cpu_start) / elapsed
    rss_busy = rss_mb(pid)
    # What is in flight reaches the clients before they stop listening.
    time.sleep(2.0)
    listening.set()
    events = calls[0]
    complete = sum(1 for c in counts if c >= events)
    print(f"  {CLIENTS} SSE clients, {events * POINTS_PER_CALL / elapsed:,.0f} points/s logged for {elapsed:.0f} s ({events} events):")
    print(f"    server CPU {cpu * 100:.0f}% of one core; RSS {rss_before:.0f} MB before, {rss_idle:.0f} MB with the clients, {rss_busy:.0f} MB while logging")
    print(f"    clients that received every event: {complete} of {CLIENTS} (fewest received: {min(counts)})")


if __name__ == "__main__":
    main()
