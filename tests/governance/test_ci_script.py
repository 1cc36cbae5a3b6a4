""".ci/run under CI: a run that cannot reach PostgreSQL or Redis fails instead of passing on pass 1 alone."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ci_copy(tmp_path):
    """The script in a scratch checkout whose `make test` (pass 1) only prints a passing summary."""
    (tmp_path / ".ci").mkdir()
    shutil.copy2(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / ".venv").symlink_to((ROOT / ".venv").resolve())
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake_make = bin_dir / "make"
    fake_make.write_text('#!/bin/sh\necho "====== 3 passed in 0.01s ======"\n')
    fake_make.chmod(0o755)
    return tmp_path, bin_dir


def run_ci(ci_copy, **env_overrides):
    root, bin_dir = ci_copy
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "DATABASE_URL", "REDIS_URL"}}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "CI_PG_PORT": str(closed_port()), **env_overrides})
    return subprocess.run(["bash", str(root / ".ci" / "run")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_ci_fails_when_postgresql_does_not_answer(ci_copy):
    result = run_ci(ci_copy, CI="true")
    assert result.returncode != 0, result.stdout
    assert "第二遍无法运行" in result.stdout and "PostgreSQL" in result.stdout
    assert "pass 2 skipped" not in result.stdout


def test_ci_fails_when_redis_does_not_answer(ci_copy):
    if subprocess.run([sys.executable, "-c", "import psycopg; psycopg.connect(host='127.0.0.1', user='postgres', "
                       "dbname='postgres', connect_timeout=2).close()"], capture_output=True).returncode:
        pytest.skip("PostgreSQL 不可用：本测试需要它应答而 Redis 不应答")
    result = run_ci(ci_copy, CI="true", CI_PG_PORT="5432", CI_REDIS_PORT=str(closed_port()))
    assert result.returncode != 0, result.stdout
    assert "第二遍无法运行" in result.stdout and "Redis" in result.stdout


def test_outside_ci_a_missing_service_still_skips_pass_two(ci_copy):
    result = run_ci(ci_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pass 2 skipped" in result.stdout and "3 passed" in result.stdout
