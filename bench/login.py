"""Sign-in timing and a sign-in storm against a real `millrace serve`. Run by bench/login.sh."""

import http.client
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse

BIN = os.environ["MILLRACE_BIN"]
PASSWORD = "bench password"
# Under the throttle: 5 failures per name and 20 per address in 15 minutes.
SAMPLES = 8
STORM_USERS = 8
STORM_SECONDS = 10
# The login server function's path, read from the form once the server is up.
LOGIN = ["/api/login"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login_path(port):
    """Where the login form posts (the server function's path carries a hash)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/login")
    page = connection.getresponse().read().decode()
    return page.split('action="', 1)[1].split('"', 1)[0]


def sign_in(port, name, password):
    """One sign-in as the app's script sends it; (status, seconds)."""
    body = urllib.parse.urlencode({"name": name, "password": password})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    connection.request("POST", LOGIN[0], body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Origin": f"http://127.0.0.1:{port}",
    })
    answer = connection.getresponse()
    answer.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return answer.status, elapsed


def healthz(connection):
    start = time.perf_counter()
    connection.request("GET", "/healthz")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
    return time.perf_counter() - start


def main():
    with tempfile.TemporaryDirectory() as root:
        database = f"sqlite://{root}/login.db"
        names = [f"user{i}" for i in range(max(SAMPLES, STORM_USERS))]
        for name in names:
            subprocess.run([BIN, "user", "create", name, "--password-stdin", "--database", database],
                           input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([BIN, "serve", "--database", database, "--addr", f"127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    healthz(http.client.HTTPConnection("127.0.0.1", port, timeout=5))
                    break
                except OSError:
                    time.sleep(0.1)
            LOGIN[0] = login_path(port)
            sign_in(port, names[0], PASSWORD)  # warm up: the stand-in hash, connections
            unknown, wrong = [], []
            # Alternated, so noise on the shared machine hits both alike; one wrong password per
            # name keeps every attempt under the throttle.
            for i in range(SAMPLES):
                status, seconds = sign_in(port, f"nobody{i}", "guess")
                assert status == 400, status
                unknown.append(seconds)
                status, seconds = sign_in(port, names[i], "guess")
                assert status == 400, status
                wrong.append(seconds)
            u, w = statistics.median(unknown), statistics.median(wrong)
            print(f"refusing an unknown name: median {u * 1000:.1f} ms; a wrong password: "
                  f"median {w * 1000:.1f} ms (ratio {u / w:.2f})")

            quiet = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            calm = [healthz(quiet) for _ in range(200)]
            stop = time.monotonic() + STORM_SECONDS
            signed_in = [0]

            def storm(name):
                while time.monotonic() < stop:
                    status, _ = sign_in(port, name, PASSWORD)
                    assert status < 400, status
                    signed_in[0] += 1

            threads = [threading.Thread(target=storm, args=(n,)) for n in names[:STORM_USERS]]
            for thread in threads:
                thread.start()
            stormy = []
            while time.monotonic() < stop:
                stormy.append(healthz(quiet))
                time.sleep(0.005)
            for thread in threads:
                thread.join()

            def p(values, q):
                return sorted(values)[int(q * (len(values) - 1))] * 1000

            print(f"/healthz alone: median {p(calm, 0.5):.2f} ms, p99 {p(calm, 0.99):.2f} ms")
            print(f"/healthz during {STORM_USERS} concurrent sign-in loops ({signed_in[0]} sign-ins "
                  f"in {STORM_SECONDS} s): median {p(stormy, 0.5):.2f} ms, p99 {p(stormy, 0.99):.2f} ms")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
