"""Redis killed under steady traffic: no request fails, /readyz says so, and the process reconnects by itself.

The Optera process under test uses a Redis server of the test's own (cache hot tier, counters,
single-flight locks, live feed, Celery broker), which the test kills with SIGKILL and starts again.
"""

import shutil
import subprocess
import time

import httpx
import pytest

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from tests.conftest import free_port, wait_for
from tests.processes import environment_like_this_one, optera_process
from tests.traffic import Traffic

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

OUTAGE_SECONDS = 10


class PrivateRedis:
    """A redis-server on a port of its own, which the test may kill and start again."""

    def __init__(self, port):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process = None

    def start(self):
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10)

    def kill(self):
        self._process.kill()
        self._process.wait()

    def _answers(self):
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"


def test_redis_killed_under_traffic(optera_server, tenants, fake, settings, tmp_path):
    workspace = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=workspace).update(rate_limit_per_minute=100_000)
    redis = PrivateRedis(free_port())
    redis.start()
    try:
        environment = environment_like_this_one(
            settings, tmp_path, REDIS_URL=redis.url, CELERY_BROKER_URL=redis.url, ALLOWED_HOSTS="127.0.0.1"
        )
        with optera_process(environment, free_port(), tmp_path / "optera.log") as server:
            traffic = Traffic(server.url, tenants.owner.api_key)
            workers = traffic.run()
            try:
                wait_for(lambda: traffic.statuses("before")[200] >= 10, timeout=30)
                traffic.phase = "outage"
                redis.kill()
                wait_for(lambda: traffic.statuses("outage")[200] >= 5, timeout=15)
                down = httpx.get(f"{server.url}/readyz", timeout=30)
                time.sleep(OUTAGE_SECONDS)
                traffic.phase = "starting"
                redis.start()
                traffic.phase = "after"
                # It reconnects by itself: no restart, no request needed to notice.
                wait_for(lambda: httpx.get(f"{server.url}/readyz", timeout=30).json()["status"] == "ok", timeout=30)
                wait_for(lambda: traffic.statuses("after")[200] >= 10, timeout=30)
            finally:
                traffic.stop(workers)

            assert set(traffic.statuses()) == {200}, traffic.statuses()
            assert traffic.statuses("outage")[200] >= OUTAGE_SECONDS
            assert down.status_code == 200 and down.json()["status"] == "degraded"
            assert down.json()["checks"]["redis"].startswith("error")
            sent = len(traffic.answers)
            wait_for(lambda: RequestLog.objects.filter(workspace=workspace).count() >= sent, timeout=30)
            assert RequestLog.objects.filter(workspace=workspace).count() == sent
            assert " 500 " not in server.log_path.read_text()
    finally:
        redis.kill()
