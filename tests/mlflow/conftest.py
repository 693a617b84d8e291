"""A real `millrace serve` for the official MLflow client's tests, with ann signed in through
MLFLOW_TRACKING_TOKEN, and millrace's own API to check what it stored."""

import os
import socket
import subprocess
import tempfile
import time

import pytest
import requests

BIN = os.environ["MILLRACE_BIN"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp()
    database = f"sqlite://{tmp}/mlflow.db"
    run = lambda *args: subprocess.run([BIN, *args, "--database", database], check=True, capture_output=True, text=True)
    run("user", "create", "ann")
    run("user", "create", "cat")
    token = run("token", "create", "--user", "ann").stdout.strip()
    read_token = run("token", "create", "--user", "ann", "--scope", "read").stdout.strip()
    cat_token = run("token", "create", "--user", "cat").stdout.strip()
    port = _free_port()
    env = dict(os.environ, MILLRACE_LOG="warn")
    proc = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--database", database], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    yield {"url": url, "token": token, "read_token": read_token, "cat_token": cat_token, "files": f"{tmp}/mlflow-files"}
    proc.terminate()
    proc.wait(timeout=30)


def stored(server, run_id):
    """The job behind a run, as millrace's own API shows it."""
    answer = requests.get(
        f"{server['url']}/api/v1/jobs/{run_id}", headers={"Authorization": f"Bearer {server['token']}"}
    )
    answer.raise_for_status()
    return answer.json()
