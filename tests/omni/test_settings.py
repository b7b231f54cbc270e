"""Settings come from the environment and refuse an unsafe production start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_start_with_debug_off_and_default_secret():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_starts_with_debug_off_and_a_real_secret():
    result = run_check(DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="omni.example.com")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("0", False), ("off", False), ("", True)]
)
def test_env_bool(monkeypatch, raw, expected):
    from omni.settings import env_bool

    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", True) is expected


@pytest.mark.parametrize(
    ("broker", "level"), [("", "WARNING"), ("redis://127.0.0.1:6379/0", "INFO")]
)
def test_task_success_lines_are_quiet_only_when_tasks_run_in_process(broker, level):
    """Without a broker every task runs eagerly inside the command that triggered it (the demo
    data load runs hundreds): its per-task "succeeded" lines are dropped there, kept in a
    worker's log."""
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "LOG_LEVEL"}}
    env.update(CELERY_BROKER_URL=broker, SECRET_KEY="x" * 50)
    script = (
        "import django, logging; django.setup(); "
        "print(logging.getLevelName(logging.getLogger('celery.app.trace').getEffectiveLevel()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "omni.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == level
