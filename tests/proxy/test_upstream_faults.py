"""Retries, fallbacks, Retry-After, client disconnects and upstream drops, against real sockets."""

import asyncio
import socket
import time

import openai
import pytest

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from proxy.forward.upstream import UpstreamClient
from proxy.providers.base import UpstreamRequest
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault
from tests.traffic import stream_two_events_and_hang_up

pytestmark = [pytest.mark.django_db(transaction=True)]
HELLO = [{"role": "user", "content": "hello"}]


def test_one_upstream_500_is_retried_transparently(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=500))
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.choices[0].message.content == "Echo: hello"
    assert len(fake.requests) == 2


def test_a_connection_closed_after_the_request_went_out_is_not_sent_again(openai_client, fake):
    # The provider may be generating (and billing) it: a second POST could be a second charge.
    fake.enqueue(Fault(path="/v1/chat/completions", close_connection=True))
    with pytest.raises(openai.InternalServerError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.status_code == 502
    assert len(fake.requests) == 1


def test_a_first_byte_timeout_reaches_the_provider_once(openai_client, fake, settings):
    settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT = 1
    fake.enqueue(Fault(path="/v1/chat/completions", delay_before_headers=3))
    with pytest.raises(openai.APIStatusError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.status_code == 504
    assert raised.value.body["code"] == "upstream_timeout"
    assert len(fake.requests) == 1


def test_an_answer_that_says_not_to_retry_is_not_retried(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=503, headers={"x-should-retry": "false"}, times=3))
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert len(fake.requests) == 1


@pytest.mark.asyncio
async def test_a_refused_connection_is_worth_retrying_and_a_dropped_one_is_not():
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    accepting = socket.create_server(("127.0.0.1", 0))  # accepts, reads nothing, then closes
    client = UpstreamClient()
    try:

        def request_to(sock):
            port = sock.getsockname()[1]
            return UpstreamRequest(
                provider="openai",
                model="gpt-4o",
                url=f"http://127.0.0.1:{port}/v1/chat/completions",
                headers={},
                body=b"{}",
            )

        refused, _ = await client._attempt(request_to(refusing), 5)
        dropping = asyncio.get_running_loop().run_in_executor(None, lambda: accepting.accept()[0].close())
        dropped, _ = await client._attempt(request_to(accepting), 5)
        await dropping
    finally:
        await client.close()
        refusing.close()
        accepting.close()
    assert (refused.status, refused.retryable) == (502, True)
    assert (dropped.status, dropped.retryable) == (502, False)


def test_no_retry_waits_past_the_requests_deadline(openai_client, fake, settings):
    # Each 503 asks for a 1 s wait; with a 1 s deadline the first answer is the last.
    settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT = 1
    fake.enqueue(Fault(path="/v1/chat/completions", status=503, headers={"Retry-After": "1"}, times=3))
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert len(fake.requests) == 1


def test_4xx_is_not_retried_and_passes_through(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=400, error_message="bad temperature"))
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert "bad temperature" in str(raised.value)
    assert len(fake.requests) == 1


def test_retry_after_is_honoured_then_passed_on(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert time.monotonic() - started >= 0.9
    # A wait longer than the cap (2 s in tests) is not slept: the client gets 429 with the header.
    fake.enqueue(Fault(path="/v1/chat/completions", status=429, headers={"Retry-After": "107"}))
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO, extra_headers={"X-Optera-Cache": "off"})
    assert time.monotonic() - started < 2
    assert raised.value.response.headers["retry-after"] == "107"


@pytest.mark.parametrize("nonsense", ["nan", "inf", "-inf", "soon"])
def test_a_nonsense_retry_after_gets_the_default_backoff(openai_client, fake, nonsense):
    fake.enqueue(Fault(path="/v1/chat/completions", status=429, headers={"Retry-After": nonsense}))
    answer = openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert answer.choices and len(fake.requests) == 2


def test_retries_are_bounded_then_502(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=503, times=5))
    with pytest.raises(openai.InternalServerError) as raised:
        openai_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert raised.value.status_code == 502
    assert len(fake.requests) == 3


def test_fallback_model_answers_when_the_primary_fails(optera_server, tenants, fake):
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(
        fallbacks={"gpt-4o": ["claude-sonnet-4-5"]}
    )
    client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.owner.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY, "X-Provider-Key-Anthropic": "sk-ant-fallback"},
    )
    fake.enqueue(Fault(path="/v1/chat/completions", status=503, times=3))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    assert raw.parse().choices[0].message.content == "Echo: hello"
    assert raw.headers["x-optera-model"] == "claude-sonnet-4-5"
    assert fake.last_request.headers["x-api-key"] == "sk-ant-fallback"


def test_client_disconnect_closes_upstream_within_one_second(optera_server, tenants, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", chunk_delay=0.2, filler_words=200))
    closed_at = stream_two_events_and_hang_up(optera_server.v1, tenants.owner.api_key)
    disconnect = fake.wait_for_disconnect(timeout=5)
    assert disconnect.noticed_at - closed_at <= 1.0
    log = wait_for(lambda: RequestLog.objects.filter(error_type="client_disconnected").first())
    assert log.status_code == 499 and log.prompt_tokens > 0 and log.usage_estimated


def test_upstream_drop_mid_stream_is_an_error_event_not_a_stop(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", drop_after_chunks=3, filler_words=20))
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    finish_reasons = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            finish_reasons += [choice.finish_reason for choice in chunk.choices if choice.finish_reason]
    assert finish_reasons == []
    log = wait_for(lambda: RequestLog.objects.filter(error_type="upstream_disconnected").first())
    assert log.status_code == 502


def test_anthropic_drop_mid_stream_is_an_error_event(openai_client, fake):
    fake.enqueue(Fault(path="/v1/messages", drop_after_chunks=4, filler_words=20))
    stream = openai_client.chat.completions.create(model="claude-sonnet-4-5", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError):
        for chunk in stream:
            assert not (chunk.choices and chunk.choices[0].finish_reason)
