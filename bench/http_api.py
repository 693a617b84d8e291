"""What the Python benchmarks share: a free loopback port and a keep-alive API client."""

import http.client
import json
import socket
import sys


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
