import httpx
import pytest

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_healthz_and_readyz(optera_server, settings):
    assert httpx.get(f"{optera_server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{optera_server.url}/readyz")
    assert ready.status_code == 200, ready.text
    expected = {"database": "ok", **({"redis": "ok"} if settings.REDIS_URL else {})}
    assert ready.json()["checks"] == expected


def test_readyz_reports_a_dead_redis_as_degraded(optera_server, settings):
    # The proxy serves on without Redis: a load balancer must not take every instance out for it.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ready = httpx.get(f"{optera_server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"].startswith("error")


def test_admin_login_is_served_with_its_css(optera_server):
    page = httpx.get(f"{optera_server.url}/admin/login/")
    assert page.status_code == 200 and "/static/admin/css/base.css" in page.text
    css = httpx.get(f"{optera_server.url}/static/admin/css/base.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_management_api_docs_are_served(optera_server):
    assert httpx.get(f"{optera_server.url}/api/docs").status_code == 200


def test_readyz_says_starting_until_the_warm_up_has_loaded_the_models():
    import asyncio

    from cachestore.semantic.embedder import local_embedder
    from proxy.edge import ProxyApplication
    from proxy.warm_up import WarmUp

    application = ProxyApplication()
    application.warm_up = WarmUp()  # not started: a process that is still loading
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(application.readyz({"type": "http", "path": "/readyz", "headers": []}, None, send))
    assert sent[0]["status"] == 503 and b'"starting"' in sent[1]["body"]

    application.warm_up.start()
    assert application.warm_up.wait(120) and application.warm_up.error is None
    # What a first request would have loaded is loaded.
    assert local_embedder.cache_info().currsize == 1
