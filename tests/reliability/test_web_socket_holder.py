"""Restarting the web loses no request: the listening socket outlives gunicorn. On a machine without
systemd deploy/socket-holder.py holds it (as governance-web.socket does under systemd) and passes it
to gunicorn by systemd's protocol; a request that arrives while gunicorn is stopped and started again
waits in the socket's queue and is answered by the new gunicorn instead of being refused."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
HOLDER = REPO / "deploy" / "socket-holder.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")

# Answers with its gunicorn master's pid; its workers take a while to boot, as the project's do, so
# that a restart leaves a stretch in which no gunicorn accepts.
APP = """
import os, time
time.sleep(float(os.environ.get("APP_BOOT_SECONDS", "0")))
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getppid()).encode()]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask(port: int, timeout: float = 20) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def holder(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    pid_file = tmp_path / "web.pid"
    process = subprocess.Popen(
        [sys.executable, str(HOLDER), "--listen", f"127.0.0.1:{port}", "--pid-file", str(pid_file),
         "--restart-delay", "0.2", "--", str(GUNICORN), "--chdir", str(tmp_path), "app:application",
         "--workers", "2", "--graceful-timeout", "5"],
        env={**os.environ, "APP_BOOT_SECONDS": "0.8"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def gunicorn_pid() -> int:
        try:
            return int(pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return 0

    wait_for(gunicorn_pid, what="gunicorn to start")
    process.port, process.pid_file, process.gunicorn_pid = port, pid_file, gunicorn_pid
    yield process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def test_a_request_during_a_restart_waits_for_the_new_gunicorn_instead_of_being_refused(holder):
    old = holder.gunicorn_pid()
    assert ask(holder.port) == str(old)

    holder.send_signal(signal.SIGUSR1)
    new = wait_for(lambda: holder.gunicorn_pid() not in (0, old) and holder.gunicorn_pid(), what="a new gunicorn")
    # The old gunicorn has gone and the new one's workers are still booting: nobody accepts, yet the
    # connection is taken and the request answered once the new gunicorn is up.
    began = time.monotonic()
    assert ask(holder.port) == str(new)
    assert time.monotonic() - began > 0.3


def test_a_gunicorn_that_dies_is_started_again_on_the_same_socket(holder):
    old = holder.gunicorn_pid()
    ask(holder.port)
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: holder.gunicorn_pid() not in (0, old) and holder.gunicorn_pid(), what="a new gunicorn")
    # The killed master's workers answer until they notice they are orphans (their parent is then
    # pid 1); every request is answered, and soon by the new gunicorn.
    wait_for(lambda: ask(holder.port) == str(new), what="the new gunicorn to answer")


def test_stopping_the_holder_stops_gunicorn_and_closes_the_socket(holder):
    gunicorn = holder.gunicorn_pid()
    ask(holder.port)
    holder.terminate()
    assert holder.wait(timeout=30) == 0
    assert not holder.pid_file.exists()
    assert not Path(f"/proc/{gunicorn}").exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", holder.port), timeout=2)
