"""Production settings without SECRET_KEY: the server refuses to start; key-less commands still run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args, code=None):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "TESTING", "DATABASE_URL", "REDIS_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_makemigrations_check_runs_without_a_secret_key():
    result = run("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr


def test_deploy_check_refuses_production_without_a_secret_key():
    result = run("check", "--deploy")
    assert result.returncode != 0
    assert "未设置 SECRET_KEY" in result.stderr


def test_the_web_application_refuses_to_start_without_a_secret_key():
    result = run(code="import config.wsgi")
    assert result.returncode != 0
    assert "未设置 SECRET_KEY" in result.stderr


def test_the_celery_worker_refuses_to_start_without_a_secret_key():
    code = "from celery.signals import worker_init; import governance.celery; worker_init.send(sender=None)"
    result = run(code=code)
    assert result.returncode != 0
    assert "未设置 SECRET_KEY" in result.stderr
