"""Fixtures of the reliability tests: a database that several threads can write at once, and a
redis-server of the test's own, on a free loopback port, that a test may stop and start again."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import time

import pytest
from django.db import connection

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture
def database_for_threads(tmp_path):
    """Threads that write at the same time, each on its own connection, wait for each other's locks.

    PostgreSQL does so as it is. SQLite's in-memory test database is shared between connections through
    the shared cache, whose table locks fail at once with "database table is locked" (the busy timeout
    does not apply to them), so threads writing together would fail at random. On SQLite the migrated
    test database is copied to a file, and every connection, in this thread and the others, opens the
    file with the configured options (WAL, BEGIN IMMEDIATE, busy timeout), as the embedded run does.
    Request it after the database itself (a django_db mark), so that the copy holds what the test set up.
    """
    if connection.vendor != "sqlite":
        yield None
        return
    connection.ensure_connection()
    path = tmp_path / "threads.sqlite3"
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    # Keep the in-memory test database open (it lives as long as a connection to it) while every
    # connection opens the file; the test's flush afterwards runs on the in-memory database again.
    memory_connection, saved_name = connection.connection, connection.settings_dict["NAME"]
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    try:
        yield path
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.connection = memory_connection


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_connect_timeout=2, socket_timeout=5)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server") and not __import__("os").path.exists(REDIS_SERVER):
        pytest.skip("没有 redis-server 可执行文件")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_on_redis(redis_server, monkeypatch):
    """The project's Celery app publishing to `redis_server` for real (not eagerly), no worker."""
    from governance.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", redis_server.url)
    monkeypatch.setitem(app.conf, "broker_write_url", None)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield app
    # Drop connections to the server that is about to go away (monkeypatch restores the old pools).
    if app._pool is not None:
        app._pool.force_close_all()
