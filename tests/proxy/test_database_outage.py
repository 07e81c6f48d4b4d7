"""PostgreSQL stopped for 30 s under steady traffic: known keys are served, nothing answers 500, no log is lost.

The Optera process under test runs on a PostgreSQL server of the test's own (a copy of the test
database), which the test stops and starts again while clients keep sending requests.
"""

import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, WorkspaceSettings
from tests.conftest import free_port, wait_for
from tests.private_postgres import PrivatePostgres
from tests.processes import database_url_of, environment_like_this_one, optera_process
from tests.traffic import Traffic

pytestmark = [pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 30


def test_postgresql_stopped_for_30_seconds_under_traffic(optera_server, tenants, fake, settings, tmp_path):
    from django.db import connection
    from django.test import Client

    # Steady traffic, not a flood: the workspace's own rate limit must not be what answers.
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(rate_limit_per_minute=100_000)
    browser = Client()
    browser.force_login(tenants.owner.user)
    session = {"sessionid": browser.cookies["sessionid"].value}
    # A key the process will not have read: not used or made in the last day, so a warm start
    # does not read it ahead (proxy.warm_up.read_active_keys_ahead).
    unseen_row, unseen_key = services.api_key_create(workspace=tenants.owner.workspace, name="unseen")
    ApiKey.objects.filter(pk=unseen_row.pk).update(created_at=timezone.now() - timedelta(days=2))
    database = PrivatePostgres(tmp_path / "pg")
    try:
        connection.ensure_connection()
        database.copy_database(database_url_of(connection.settings_dict))
        environment = environment_like_this_one(
            settings, tmp_path, DATABASE_URL=database.database_url, ALLOWED_HOSTS="127.0.0.1"
        )
        environment.pop("CELERY_BROKER_URL")  # without Redis the broker lives in the stopped database too
        with optera_process(environment, free_port(), tmp_path / "optera.log") as server:
            traffic = Traffic(server.url, tenants.owner.api_key)
            workers = traffic.run()
            try:
                wait_for(lambda: traffic.statuses("before")[200] >= 10, timeout=30)
                traffic.phase = "stopping"
                database.stop()
                traffic.phase = "outage"
                outage_ends = time.monotonic() + OUTAGE_SECONDS
                # A key this process has never seen cannot be checked while the database is away.
                wait_for(lambda: traffic.statuses("outage")[200] >= 5, timeout=15)
                unknown = httpx.post(
                    f"{server.v1}/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]},
                    headers={"Authorization": f"Bearer {unseen_key}"},
                    timeout=30,
                )
                api = httpx.get(f"{server.url}/api/workspaces", cookies=session, timeout=30)
                page = httpx.get(f"{server.url}/", cookies=session, timeout=30)
                ready = httpx.get(f"{server.url}/readyz", timeout=30)
                time.sleep(max(0.0, outage_ends - time.monotonic()))
                traffic.phase = "starting"
                database.start()
                traffic.phase = "after"
                wait_for(lambda: traffic.statuses("after")[200] >= 10, timeout=60)
            finally:
                traffic.stop(workers)

            assert set(traffic.statuses()) == {200}, traffic.statuses()
            outage = traffic.statuses("outage")
            assert outage[200] >= OUTAGE_SECONDS, "traffic kept flowing through the outage"
            # Served from memory, and said so: the key record is trusted for 5 s, then read stale.
            assert set(traffic.flags("before")) == {None}
            assert traffic.flags("outage")["database"] >= outage[200] * 0.7, traffic.flags("outage")

            assert unknown.status_code == 503 and unknown.headers["retry-after"]
            assert unknown.json()["error"]["code"] == "database_unavailable"
            assert api.status_code == 503 and api.headers["retry-after"], api.text
            assert api.json()["error"]["code"] == "database_unavailable"
            assert ready.status_code == 200 and ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["database"].startswith("error")
            assert page.status_code == 503 and page.headers["retry-after"] and "Back in a moment" in page.text

            # Every answer's log row reaches the database once it is back.
            sent = len(traffic.answers)
            wait_for(lambda: _log_rows(database) >= sent, timeout=60)
            assert _log_rows(database) == sent
            log = server.log_path.read_text()
            assert " 500 " not in log
            assert "semantic cache switched off" not in log, "an outage is not a broken vector extension"
    finally:
        database.close()


def _log_rows(database):
    with database.connect() as connection:
        return connection.execute("SELECT count(*) FROM analytics_requestlog").fetchone()[0]
