"""Budget alerts: at 80 % and 100 % of a budget, one signed webhook and one email each, then nothing more."""

import hashlib
import hmac
import http.server
import io
import json
import threading
from decimal import Decimal

import openai
import pytest
from django.core.management import call_command

from analytics.models import RequestLog
from billing.models import Budget, WebhookDelivery
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
QUESTION = [{"role": "user", "content": "What is the boiling point of water?"}]


class Receiver(http.server.ThreadingHTTPServer):
    """A customer's webhook endpoint on 127.0.0.1 that keeps what it was sent."""

    def __init__(self):
        self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler):  # noqa: N805 (the handler's own self)
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.received.append((dict(handler.headers), body))
                handler.send_response(204)
                handler.end_headers()

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/optera"


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def signed_by(secret, headers, body):
    parts = dict(part.split("=", 1) for part in headers["X-Optera-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_a_soft_tag_budget_alerts_at_80_and_100_percent_once_each(
    optera_server, openai_client, tenants, receiver, mailoutbox, settings, tasks_run_inline
):
    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = True
    output = io.StringIO()
    call_command("set_webhook", "acme", receiver.url, "--json", stdout=output)
    secret = json.loads(output.getvalue())["secret"]
    # The cost of one request, learnt in another workspace (proxies keep a workspace's budgets a few seconds).
    probe = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": "sk-x"},
    )
    first = probe.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    cost, completion_tokens = Decimal(first.headers["x-optera-cost-usd"]), first.parse().usage.completion_tokens
    Budget.objects.create(
        workspace=tenants.owner.workspace,
        scope="tag",
        scope_value="nightly",
        usd=cost * Decimal("3.5"),
        period="day",
        hard=False,
    )
    wait_for(lambda: RequestLog.objects.count() == 1)

    for number in range(7):
        answer = openai_client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=QUESTION,
            max_tokens=completion_tokens,
            extra_headers={"X-Optera-Tags": "nightly", "X-Optera-Cache": "off"},
        )
        assert answer.http_response.status_code == 200  # soft: never refused
        wait_for(lambda expected=number + 2: RequestLog.objects.count() == expected)  # settled

    wait_for(lambda: len(receiver.received) >= 2, timeout=10)
    payloads = [json.loads(body) for _, body in receiver.received]
    assert sorted(payload["threshold"] for payload in payloads) == [80, 100]
    assert all(signed_by(secret, headers, body) for headers, body in receiver.received)
    assert {(payload["type"], payload["scope"], payload["scope_value"]) for payload in payloads} == {
        ("budget.threshold", "tag", "nightly")
    }
    assert not signed_by("whsec_wrong", *receiver.received[0])
    subjects = sorted(message.subject for message in mailoutbox)
    assert len(subjects) == 2 and "100 %" in subjects[0] and "80 %" in subjects[1]
    assert {tuple(message.to) for message in mailoutbox} == {("owner@acme.test",)}  # owners and admins only
    assert WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 2


def test_a_webhook_to_a_private_address_is_refused(tenants, settings):
    from django.core.management import CommandError

    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.8/hook", "ftp://example.com/x", "http://169.254.169.254/latest"):
        with pytest.raises(CommandError):
            call_command("set_webhook", "acme", url, stdout=io.StringIO())
