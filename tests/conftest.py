"""Shared fixtures: the fake provider, a live Optera server, and three tenants with keys.

The server is the real ASGI application served by uvicorn in a thread, talking to the fake
provider over real sockets; tests drive it with the official SDKs. Tests that use it need
committed data (the server has its own database connections), hence `transactional_db`.
"""

import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass

import pytest

# Travels through tests as the provider key; it must never reach a log line or a database row.
PROVIDER_KEY_CANARY = "sk-canary-" + secrets.token_hex(12)
QUICK_LOG_FLUSH_SECONDS = 0.05
TEST_DATABASES = pytest.StashKey[tuple]()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """Create (or reuse) the test database before the first test, outside every per-test timeout.

    Migrating a new test database takes over a minute of CPU (dj-stripe's migrations alone ~70 s);
    inside the first test's 120 s timeout a busy machine ended the run before any test ran.
    """
    config = session.config
    if config.option.collectonly or not any(_needs_database(item) for item in session.items):
        return
    from django.test.utils import setup_databases
    from pytest_django.plugin import blocking_manager_key

    keep = config.getoption("reuse_db") and not config.getoption("create_db")
    with config.stash[blocking_manager_key].unblock():
        databases = setup_databases(verbosity=config.option.verbose, interactive=False, keepdb=keep)
    config.stash[TEST_DATABASES] = (databases, keep)


def _needs_database(item):
    # A django_db marker asks for the database at run time, so it is not among the fixture names.
    return "django_db_setup" in item.fixturenames or item.get_closest_marker("django_db") is not None


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_blocker):
    """The test database that pytest_runtestloop set up; dropped at the end unless it is reused."""
    if TEST_DATABASES not in request.config.stash:
        raise RuntimeError("the test database was not set up before the tests ran")
    yield
    databases, keep = request.config.stash[TEST_DATABASES]
    if not keep:
        from django.test.utils import teardown_databases

        with django_db_blocker.unblock():
            try:
                teardown_databases(databases, verbosity=request.config.option.verbose)
            except Exception as error:  # the live server's threads may still hold connections: say so, go on
                request.node.warn(pytest.PytestWarning(f"could not drop the test database: {error}"))


@pytest.fixture(scope="session")
def fake_provider():
    from tests.fakeprovider import FakeProvider

    fake = FakeProvider()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(fake_provider):
    """The fake provider, reset before the test so queued faults and records start empty."""
    fake_provider.reset()
    yield fake_provider
    fake_provider.reset()


@dataclass(frozen=True)
class LiveServer:
    url: str

    @property
    def v1(self):
        return f"{self.url}/v1"


@pytest.fixture(scope="session")
def optera_server(django_db_setup, django_db_blocker, fake_provider):
    import uvicorn
    from django.conf import settings

    settings.OPENAI_BASE_URL = fake_provider.openai_base_url
    settings.ANTHROPIC_BASE_URL = fake_provider.anthropic_base_url
    settings.OPTERA_RETRY_AFTER_CAP_SECONDS = 2
    # Request logs reach the database within ~50 ms instead of a second, so a test's teardown
    # (wait_for_quiet_database, then TRUNCATE) no longer races a batch that is still waiting.
    settings.OPTERA_LOG_FLUSH_SECONDS = QUICK_LOG_FLUSH_SECONDS
    from optera.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="on", log_level="warning", loop="asyncio", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="optera-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    # As a load balancer would: no request before the process has loaded its models (/readyz says so).
    from optera.asgi import proxy_application

    if not proxy_application.warm_up.wait(120):
        raise RuntimeError("the test server did not finish warming up")
    yield LiveServer(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def second_optera(optera_server, settings, tmp_path):
    """A second Optera server, its own OS process, sharing the database, Redis (when set) and providers."""
    from tests.processes import environment_like_this_one, optera_process

    environment = environment_like_this_one(settings, tmp_path)
    with optera_process(environment, free_port(), tmp_path / "second-optera.log") as process:
        yield process


@dataclass(frozen=True)
class Tenant:
    workspace: object
    user: object
    api_key: str
    key_row: object


@dataclass(frozen=True)
class Tenants:
    owner: Tenant
    member: Tenant
    outsider: Tenant


@pytest.fixture
def tenants(transactional_db):
    """An owner and a member of one workspace and an outsider with a workspace of their own, each with a key."""
    from django.contrib.auth import get_user_model

    from accounts import services
    from accounts.models import Membership

    user_model = get_user_model()
    acme = services.workspace_create(name="acme", owner_email="owner@acme.test")
    owner = user_model.objects.get(username="owner@acme.test")
    member = user_model.objects.create_user(username="member@acme.test", email="member@acme.test")
    Membership.objects.create(user=member, workspace=acme, role=Membership.Role.MEMBER)
    other = services.workspace_create(name="globex", owner_email="outsider@globex.test")
    outsider = user_model.objects.get(username="outsider@globex.test")

    def tenant(workspace, user):
        key_row, full_key = services.api_key_create(workspace=workspace, name=user.username, created_by=user)
        return Tenant(workspace=workspace, user=user, api_key=full_key, key_row=key_row)

    yield Tenants(owner=tenant(acme, owner), member=tenant(acme, member), outsider=tenant(other, outsider))
    wait_for_quiet_database()


def wait_for_quiet_database(timeout=5.0):
    """Let the server's background writes (logs, cache entries) finish before the test's flush truncates tables."""
    from django.db import connection

    # Past the server's log-flush delay: a waiting batch is then written or being written (visible below).
    time.sleep(QUICK_LOG_FLUSH_SECONDS * 2)
    deadline = time.monotonic() + timeout
    # Work the server still has in hand (a summary on its way back from the provider, a log batch
    # about to be written) would insert while the flush truncates: the two deadlock.
    # Imported only by a test that started the server: importing it here would start a warm-up
    # thread that logs after pytest has closed its capture.
    asgi = sys.modules.get("optera.asgi")
    runtime = asgi.proxy_application.built_runtime if asgi is not None else None
    while runtime is not None and runtime.background.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state IN ('active', 'idle in transaction')"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


@pytest.fixture
def openai_client(optera_server, tenants):
    """The official openai SDK pointed at Optera with the owner's key and the canary provider key."""
    import openai

    client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.owner.api_key,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
        max_retries=0,
    )
    yield client
    client.close()


def wait_for(condition, *, timeout=5.0, interval=0.05):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def seeded_prices(request):
    """Put back the price list that TransactionTestCase's flush removes (it came from a data migration)."""
    if "transactional_db" not in request.fixturenames and not _marked_transactional(request):
        yield
        return
    import importlib

    from django.apps import apps

    from analytics.models import ModelPrice

    if not ModelPrice.objects.exists():
        importlib.import_module("analytics.migrations.0002_seed_model_prices").seed(apps, None)
        importlib.import_module("analytics.migrations.0008_seed_flex_prices").seed(apps, None)
    yield


def _marked_transactional(request):
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@dataclass(frozen=True)
class People:
    """One workspace with an owner, an admin and a member, and an outsider with a workspace of their own."""

    workspace: object
    owner: object
    admin: object
    member: object
    outsider: object
    outsiders_workspace: object


@pytest.fixture
def people(db):
    """The cast of every dashboard page test (in a rolled-back transaction: no live server needed)."""
    from django.contrib.auth import get_user_model

    from accounts import services
    from accounts.models import Membership

    user_model = get_user_model()

    def person(email):
        return user_model.objects.create_user(username=email, email=email, password="a long pass phrase 93")

    acme = services.workspace_create(name="acme")
    owner, admin, member = person("owner@acme.test"), person("admin@acme.test"), person("member@acme.test")
    for user, role in ((owner, "owner"), (admin, "admin"), (member, "member")):
        Membership.objects.create(user=user, workspace=acme, role=role)
    globex = services.workspace_create(name="globex")
    outsider = person("outsider@globex.test")
    Membership.objects.create(user=outsider, workspace=globex, role="owner")
    return People(
        workspace=acme, owner=owner, admin=admin, member=member, outsider=outsider, outsiders_workspace=globex
    )


@pytest.fixture
def tasks_run_inline():
    """Run each Celery task where it is enqueued, so a test sees its work as soon as the enqueuing call returns.

    Set on Celery's own configuration (it read the Django settings once), and taken off it afterwards
    rather than set back to False: a value left there would hide CELERY_TASK_ALWAYS_EAGER from tests
    that set it in the settings.
    """
    from optera.celery import app

    app.conf.task_always_eager  # read first: the configuration is loaded on first use
    changes = app.conf.changes
    missing = object()
    before = changes.get("task_always_eager", missing)
    app.conf.task_always_eager = True
    yield
    if before is missing:
        changes.pop("task_always_eager", None)
    else:
        changes["task_always_eager"] = before
