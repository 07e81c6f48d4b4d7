"""deploy/nginx/optera.conf run by Debian's nginx in front of two Optera processes started as
deploy/systemd/optera-web@.service starts them, with PostgreSQL and Redis: what crosses nginx
(TLS, streams, the live feed's WebSocket, a body too large, a client hanging up) works as it does
without it. Only the listen ports, the upstream ports and the certificate are swapped.
"""

import json
import os
import secrets
import shlex
import ssl
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import openai
import pytest
from django.conf import settings as django_settings
from websockets.sync.client import connect

from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, free_port, wait_for
from tests.deploy.nginx_site import NGINX, running_site
from tests.fakeprovider import Fault
from tests.processes import environment_like_this_one, optera_process
from tests.traffic import stream_two_events_and_hang_up

REPO = Path(__file__).resolve().parents[2]
WEB_UNIT = REPO / "deploy/systemd/optera-web@.service"
METRICS_TOKEN = "nginx-test-metrics-token"
HELLO = [{"role": "user", "content": "hello through nginx"}]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
    # Two processes behind one balancer share counters and the live feed through Redis, as the
    # production shape requires; the CI pass with Redis runs this.
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="the production shape needs Redis: runs in the CI pass with it"
    ),
    pytest.mark.skipif(NGINX is None, reason="Debian's nginx is installed by .ci/run"),
]


@dataclass(frozen=True)
class Edge:
    https: str
    http: str
    certificate: Path
    access_log: Path
    upstream_ports: tuple
    access_log_offset: int = 0

    def tls(self):
        return ssl.create_default_context(cafile=str(self.certificate))

    def upstreams_of(self, path_part):
        """The upstream address of each request logged since the test began whose path contains `path_part`."""
        with open(self.access_log, "rb") as log:
            log.seek(self.access_log_offset)
            lines = log.read().decode().splitlines()
        return [line.split()[-1] for line in lines if path_part in line]


def web_unit_command(port):
    """The unit's ExecStart, with the virtualenv's uvicorn run as this interpreter's module and %i as `port`."""
    text = WEB_UNIT.read_text().replace("\\\n", " ")
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    arguments = shlex.split(exec_start.removeprefix("ExecStart="))
    assert arguments[0] == "/srv/optera/.venv/bin/uvicorn"
    return [sys.executable, "-m", "uvicorn", *(argument.replace("%i", str(port)) for argument in arguments[1:])]


@pytest.fixture(scope="module")
def edge_servers(django_db_setup, django_db_blocker, fake_provider, tmp_path_factory):
    """nginx on two free ports in front of two Optera processes run by the systemd unit's command."""
    directory = tmp_path_factory.mktemp("edge")
    upstream_ports = (free_port(), free_port())
    metrics_directory = directory / "metrics"
    metrics_directory.mkdir()
    with django_db_blocker.unblock():
        environment = environment_like_this_one(
            django_settings,
            directory,
            OPENAI_BASE_URL=fake_provider.openai_base_url,
            ANTHROPIC_BASE_URL=fake_provider.anthropic_base_url,
            ALLOWED_HOSTS="localhost,127.0.0.1",
            SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
            SECURE_SSL_REDIRECT="true",
            OPTERA_METRICS_TOKEN=METRICS_TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(metrics_directory),
        )
    with ExitStack() as stack:
        for index, port in enumerate(upstream_ports):
            stack.enter_context(
                optera_process(environment, port, directory / f"web-{index}.log", command=web_unit_command(port))
            )
        site = stack.enter_context(running_site(directory, upstream_ports))
        edge = Edge(
            https=site.https,
            http=site.http,
            certificate=site.certificate,
            access_log=site.access_log,
            upstream_ports=upstream_ports,
        )
        wait_for(lambda: _answers(edge), timeout=10, interval=0.1)
        yield edge


@pytest.fixture
def edge(edge_servers, tenants, fake):
    """The servers, with the access log read from this test's first request on."""
    edge_servers.access_log.touch()
    return replace(edge_servers, access_log_offset=edge_servers.access_log.stat().st_size)


def _answers(edge):
    try:
        return httpx.get(f"{edge.https}/readyz", verify=edge.tls(), timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sdk_client(edge, tenant):
    return openai.OpenAI(
        base_url=f"{edge.https}/v1",
        api_key=tenant.api_key,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
        http_client=httpx.Client(verify=edge.tls()),
        max_retries=0,
    )


def test_requests_and_streams_through_nginx_reach_both_processes(edge, tenants, fake):
    client = sdk_client(edge, tenants.owner)
    counted_before = requests_counted(edge)
    for number in range(6):
        question = [{"role": "user", "content": f"question {number} through nginx"}]
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=question)
        assert completion.choices[0].message.content == f"Echo: question {number} through nginx"

    # Streamed: events arrive as the provider sends them, not when the answer is whole.
    fake.enqueue(Fault(path="/v1/chat/completions", chunk_delay=0.15, filler_words=12))
    started = time.monotonic()
    arrivals = []
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 10
    assert arrivals[-1] - arrivals[0] >= 1.0, "nginx buffered the stream"

    assert set(edge.upstreams_of("/v1/chat")) == {f"127.0.0.1:{port}" for port in edge.upstream_ports}
    # The client's own X-Forwarded-For is not believed: the log keeps the address nginx saw.
    httpx.post(
        f"{edge.https}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": HELLO},
        headers={
            "Authorization": f"Bearer {tenants.owner.api_key}",
            "X-Provider-Key": PROVIDER_KEY_CANARY,
            "X-Forwarded-For": "203.0.113.7",
        },
        verify=edge.tls(),
    ).raise_for_status()
    logged = wait_for(lambda: RequestLog.objects.count() >= 8 and RequestLog.objects.all())
    assert {log.client_ip for log in logged} == {"127.0.0.1"}

    # /metrics through nginx, with the token, sums both processes (PROMETHEUS_MULTIPROC_DIR of the unit).
    wait_for(lambda: requests_counted(edge) == counted_before + 8)


def requests_counted(edge):
    metrics = httpx.get(
        f"{edge.https}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, verify=edge.tls()
    )
    assert metrics.status_code == 200
    lines = metrics.text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("optera_requests_total{"))


def test_plain_http_redirects_and_django_sees_https(edge):
    redirected = httpx.post(f"{edge.http}/v1/chat/completions", json={})
    assert redirected.status_code == 308 and redirected.headers["location"].startswith("https://")
    # SECURE_SSL_REDIRECT is on in the processes: the sign-in page answers 200 through nginx (it
    # trusts X-Forwarded-Proto) and redirects to https when asked directly over plain HTTP.
    page = httpx.get(f"{edge.https}/accounts/login/", verify=edge.tls(), headers={"Host": "localhost"})
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.text
    direct = httpx.get(f"http://127.0.0.1:{edge.upstream_ports[0]}/accounts/login/", headers={"Host": "localhost"})
    assert direct.status_code == 301 and direct.headers["location"].startswith("https://")


def test_a_body_over_the_limit_gets_the_api_s_own_413(edge, tenants):
    too_large = (
        b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "'
        + b"x" * (django_settings.OPTERA_MAX_BODY_BYTES + 1)
        + b'"}]}'
    )
    headers = {"Authorization": f"Bearer {tenants.owner.api_key}", "Content-Type": "application/json"}
    chat = httpx.post(f"{edge.https}/v1/chat/completions", content=too_large, headers=headers, verify=edge.tls())
    assert chat.status_code == 413
    assert chat.json()["error"]["code"] == "request_too_large"
    assert chat.json()["error"]["type"] == "invalid_request_error"
    messages = httpx.post(f"{edge.https}/v1/messages", content=too_large, headers=headers, verify=edge.tls())
    assert messages.status_code == 413
    assert messages.json() == {
        "type": "error",
        "error": {
            "type": "request_too_large",
            "message": f"request body exceeds {django_settings.OPTERA_MAX_BODY_BYTES} bytes",
        },
    }
    # What nginx says is word for word what Optera says for a body it reads itself.
    direct = httpx.post(
        f"http://127.0.0.1:{edge.upstream_ports[0]}/v1/chat/completions", content=too_large, headers=headers
    )
    assert direct.status_code == 413 and direct.json() == chat.json()


def test_a_client_that_hangs_up_through_nginx_cancels_the_upstream(edge, tenants, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", chunk_delay=0.2, filler_words=200))
    closed_at = stream_two_events_and_hang_up(f"{edge.https}/v1", tenants.owner.api_key, verify=edge.tls())
    disconnect = fake.wait_for_disconnect(timeout=5)
    # nginx notices at its next write to the client (the next event, 0.2 s later), then Optera within a second.
    assert disconnect.noticed_at - closed_at <= 2.0
    log = wait_for(lambda: RequestLog.objects.filter(error_type="client_disconnected").first())
    assert log.status_code == 499
    assert len(fake.requests) == 1


def test_the_live_feed_works_through_nginx_whichever_process_serves_the_request(edge, tenants, client):
    client.force_login(tenants.member.user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    address = edge.https.replace("https://", "wss://") + f"/ws/workspaces/{tenants.owner.workspace.pk}/requests"
    sdk = sdk_client(edge, tenants.owner)
    with connect(
        address, ssl=edge.tls(), additional_headers={"Cookie": cookie}, origin="https://localhost", open_timeout=10
    ) as feed:
        # least_conn sends them to the process without the open socket: each reaches the feed through Redis.
        canaries = [f"feed canary {secrets.token_hex(4)}" for _ in range(4)]
        for canary in canaries:
            sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": canary}])
        messages = [json.loads(feed.recv(timeout=10)) for _ in canaries]
    assert [message["status_code"] for message in messages] == [200] * 4
    feed_served_by = set(edge.upstreams_of("/ws/"))
    requests_served_by = set(edge.upstreams_of("/v1/chat"))
    assert len(feed_served_by) == 1 and requests_served_by - feed_served_by
