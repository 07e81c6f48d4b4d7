"""A request enqueues a task and a real `celery -A optera worker -B` process runs it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accounts.models import ApiKey
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.processes import database_url_of

pytestmark = [pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(settings, tmp_path):
    from django.db import connection

    from optera.celery import app

    connection.ensure_connection()
    # Earlier tests enqueued tasks with no worker running; start from an empty queue.
    app.control.purge()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": app.conf.broker_url,
        "OPTERA_VAR_DIR": str(tmp_path),
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "optera", "worker", "-B", "--loglevel=INFO", "--concurrency=1"],
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "ready." in log_path.read_text() or process.poll() is not None, timeout=60)
        assert process.poll() is None, log_path.read_text()
        yield process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_request_enqueues_a_task_that_the_worker_runs(optera_server, tenants, fake, worker):
    import openai

    process, log_path = worker
    client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    key = wait_for(
        lambda: ApiKey.objects.filter(pk=tenants.outsider.key_row.pk, last_used_at__isnull=False).first(),
        timeout=30,
        interval=0.25,
    )
    assert key.last_used_at is not None
    assert "api_key_mark_used" in log_path.read_text()
    time.sleep(1)
    assert process.poll() is None, "the worker (with beat) must stay up"
