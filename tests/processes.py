"""Real Optera processes beside the test server, to test what several workers share (Redis, PostgreSQL)."""

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent


def database_url_of(database):
    """Return a DATABASE_URL for Django's connection settings (a socket directory or a host)."""
    host = database["HOST"]
    user = quote(database.get("USER") or "postgres", safe="")
    password = f":{quote(database['PASSWORD'], safe='')}" if database.get("PASSWORD") else ""
    location = quote(host, safe="") if host.startswith("/") else f"{host}:{database.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{location}/{database['NAME']}"


def environment_like_this_one(settings, tmp_path, **overrides):
    """The environment of a child process that shares this test run's database, Redis, broker and providers."""
    from django.db import connection

    from optera.celery import app

    connection.ensure_connection()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": app.conf.broker_url,
        "OPTERA_VAR_DIR": str(tmp_path),
        "OPENAI_BASE_URL": settings.OPENAI_BASE_URL,
        "ANTHROPIC_BASE_URL": settings.ANTHROPIC_BASE_URL,
    }
    environment.pop("REDIS_URL", None)
    if settings.REDIS_URL:
        environment["REDIS_URL"] = settings.REDIS_URL
    environment.update(overrides)
    return environment


@dataclass(frozen=True)
class OpteraProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def v1(self):
        return f"{self.url}/v1"


@contextlib.contextmanager
def optera_process(environment, port, log_path, *, timeout=60, command=None):
    """Run `uvicorn optera.asgi:application` (or `command`) on `port` until the block ends; wait for /readyz first."""
    command = command or [
        sys.executable,
        "-m",
        "uvicorn",
        "optera.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, log_path, timeout)
        yield OpteraProcess(url=url, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process, url, log_path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Optera process exited:\n{log_path.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Optera process was not ready within {timeout} s:\n{log_path.read_text()[-4000:]}")


def deployment_check(environment, *options):
    """Run `manage.py check --deploy` (plus `options`) in a process of its own with `environment`."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", *options],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
    )
