"""What the Python benchmarks share: a free loopback port, a keep-alive API client, the admin
commands of a `millrace` binary and waiting for a condition."""

import http.client
import json
import socket
import subprocess
import sys
import time


def free_port():
    """A TCP port free on loopback now, for a server a benchmark starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """One keep-alive connection; the same for every call, as a runner or a script would."""

    def __init__(self, port, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        """The decoded JSON answer; exits with the status and body on an error."""
        self.connection.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        answer = self.connection.getresponse()
        data = answer.read()
        if answer.status >= 300:
            sys.exit(f"{method} {path} answered {answer.status}: {data[:300]!r}")
        return json.loads(data) if data else None


def admin(binary, database, *args):
    """The standard output of `binary ARGS --database DATABASE`, which must succeed."""
    return subprocess.run([binary, *args, "--database", database], check=True, capture_output=True, text=True).stdout


def until(what, check, timeout=60, every=0.02):
    """The first truthy answer of `check`, asked every `every` seconds; exits naming `what`
    when none comes within `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    sys.exit(f"timed out waiting for {what}")
