"""Providers as they really answer: CRLF framing and comments, errors in the middle of a stream, a key
they refuse, and their limit of four cache breakpoints. The fake plays each; the SDKs read Optera."""

import anthropic
import openai
import pytest

from analytics.models import RequestLog
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault
from tests.proxy.test_provider_cache import LONG_SYSTEM

pytestmark = [pytest.mark.django_db(transaction=True)]


def native_client(optera_server, tenants, provider_key=PROVIDER_KEY_CANARY):
    return anthropic.Anthropic(
        base_url=optera_server.url,
        api_key=provider_key,
        default_headers={"X-Optera-Key": tenants.owner.api_key},
        max_retries=0,
    )


def streamed_text(client, model, question="framing test"):
    chunks = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": question}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Optera-Cache": "off"},
    )
    pieces, usage = [], None
    for chunk in chunks:
        pieces.extend(choice.delta.content or "" for choice in chunk.choices)
        usage = chunk.usage or usage
    return "".join(pieces), usage


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-6"])
def test_crlf_framed_streams_with_comments_arrive_whole(openai_client, fake, model):
    fake.enqueue(Fault(crlf=True, sse_comments=True))
    text, usage = streamed_text(openai_client, model)
    assert text == "Echo: framing test" and usage.completion_tokens > 0


def test_a_native_stream_in_crlf_with_comments_arrives_whole(optera_server, tenants, fake):
    fake.enqueue(Fault(crlf=True, sse_comments=True))
    question = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "crlf"}]}
    with native_client(optera_server, tenants).messages.stream(**question) as stream:
        assert "".join(stream.text_stream) == "Echo: crlf"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-6"])
def test_an_error_in_the_middle_of_a_stream_reaches_the_client_as_an_error(openai_client, fake, model):
    fake.enqueue(Fault(error_after_chunks=2, filler_words=20))
    with pytest.raises(openai.APIError):
        streamed_text(openai_client, model)
    log = wait_for(lambda: RequestLog.objects.filter(model_requested=model).first())
    assert log.status_code >= 400 or log.error_type
    # Nothing half-said is cached: the same question goes upstream again.
    calls = len(fake.requests)
    streamed_text(openai_client, model)
    assert len(fake.requests) == calls + 1


def test_a_native_stream_error_is_raised_by_the_anthropic_sdk(optera_server, tenants, fake):
    fake.enqueue(Fault(error_after_chunks=3, filler_words=20))
    question = {"model": "claude-sonnet-4-6", "max_tokens": 80, "messages": [{"role": "user", "content": "cut"}]}
    with pytest.raises(anthropic.APIStatusError):
        with native_client(optera_server, tenants).messages.stream(**question) as stream:
            "".join(stream.text_stream)


def test_a_provider_key_the_provider_refuses_is_a_401_in_each_api_s_shape(optera_server, tenants, fake):
    sdk = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.owner.api_key,
        default_headers={"X-Provider-Key": "not-a-provider-key"},
        max_retries=0,
    )
    with pytest.raises(openai.AuthenticationError):
        sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.AuthenticationError):
        native_client(optera_server, tenants, provider_key="not-a-provider-key").messages.create(
            model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )


def test_optera_adds_no_breakpoint_to_a_request_that_already_has_four(optera_server, tenants, fake):
    """Anthropic refuses a fifth cache_control; Optera's own placement must count the client's."""
    marked = {"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}
    answer = native_client(optera_server, tenants).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=20,
        system=[marked, {**marked, "text": LONG_SYSTEM + " more"}],
        messages=[{"role": "user", "content": [{**marked, "text": "first"}, {**marked, "text": "second"}]}],
    )
    assert answer.content[0].text.startswith("Echo:")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_claude_answer_in_several_text_blocks_arrives_as_one_text(
    openai_client, optera_server, tenants, fake, stream
):
    question = "please answer in several blocks of text"
    fake.enqueue(Fault(text_blocks=3))
    if stream:
        text, _ = streamed_text(openai_client, "claude-sonnet-4-6", question)
    else:
        completion = openai_client.chat.completions.create(
            model="claude-sonnet-4-6",
            messages=[{"role": "user", "content": question}],
            extra_headers={"X-Optera-Cache": "off"},
        )
        text = completion.choices[0].message.content
    assert text == f"Echo: {question}"
    # Natively, the blocks pass through as they came.
    fake.enqueue(Fault(text_blocks=3))
    native = native_client(optera_server, tenants).messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": question}]
    )
    assert len(native.content) == 3 and "".join(block.text for block in native.content) == f"Echo: {question}"
