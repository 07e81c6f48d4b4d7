"""Tests of the fake OpenAI + Anthropic provider, driven with the official SDKs and raw HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import openai
import pytest

from tests.fakeprovider import Fault, Price
from tests.fakeprovider_tests.helpers import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    SEARCH_TOOL_ANTHROPIC,
    SEARCH_TOOL_OPENAI,
    chat,
    latest_usage,
    message,
    raw_request,
)

# OpenAI


def test_openai_chat_echoes_the_last_user_message(fake, openai_sdk):
    completion = openai_sdk.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "question"}]},
        ],
        n=2,
    )

    assert completion.id.startswith("chatcmpl-")
    assert completion.model == OPENAI_MODEL
    assert [choice.message.content for choice in completion.choices] == ["Echo: second question"] * 2
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 2 * 3
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    record = fake.last_request
    assert (record.method, record.path) == ("POST", "/v1/chat/completions")
    assert record.headers["authorization"] == "Bearer sk-test"
    assert record.json["n"] == 2


def test_openai_stream_with_usage_reassembles_the_answer(fake, openai_sdk):
    chunks = list(chat(openai_sdk, "stream these four words", stream=True, stream_options={"include_usage": True}))

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Echo: stream these four words"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 5
    assert latest_usage(fake).stream and latest_usage(fake).completed


def test_openai_max_tokens_cuts_the_answer(openai_sdk):
    completion = chat(openai_sdk, "one two three four five", max_completion_tokens=3)

    assert completion.choices[0].message.content == "Echo: one two"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 3


def test_openai_tool_call_when_asked_to_use_the_tool(openai_sdk):
    completion = chat(openai_sdk, "Please use the tool to find refunds", tools=[SEARCH_TOOL_OPENAI])

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_")
    assert call.function.name == "search"
    assert json.loads(call.function.arguments) == {"query": "Please use the tool to find refunds"}


def test_openai_tool_result_gets_a_text_answer(openai_sdk):
    call = {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
    completion = openai_sdk.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[
            {"role": "user", "content": "use the tool"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "3 refunds"},
        ],
        tools=[SEARCH_TOOL_OPENAI],
    )

    assert completion.choices[0].message.content == "Echo: 3 refunds"


def test_openai_streamed_forced_tool_call(openai_sdk):
    lookup_tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    forced = {"type": "function", "function": {"name": "lookup"}}
    chunks = list(
        chat(openai_sdk, "invoice 42", tools=[SEARCH_TOOL_OPENAI, lookup_tool], tool_choice=forced, stream=True)
    )

    deltas = [call for chunk in chunks for call in (chunk.choices[0].delta.tool_calls or [])]
    assert deltas[0].id.startswith("call_") and deltas[0].function.name == "lookup"
    assert json.loads("".join(delta.function.arguments or "" for delta in deltas)) == {"query": "invoice 42"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_embeddings_are_deterministic(openai_sdk):
    first = openai_sdk.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    second = openai_sdk.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="float")

    assert len(first.data) == 2 and len(first.data[0].embedding) == 8
    assert first.data[0].embedding == pytest.approx(second.data[0].embedding, abs=1e-6)
    assert first.data[0].embedding != first.data[1].embedding
    assert first.usage.prompt_tokens == 2 * 2  # len(text) // 4 + 1 per input


def test_models_list_in_both_shapes(fake, openai_sdk):
    assert OPENAI_MODEL in [model.id for model in openai_sdk.models.list()]
    status, _, body = raw_request(fake, "GET", "/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert status == 200 and json.loads(body)["data"][0]["type"] == "model"


def test_openai_requires_an_api_key(fake):
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "x"}]}
    status, _, payload = raw_request(fake, "POST", "/v1/chat/completions", body)
    assert status == 401
    assert json.loads(payload)["error"]["code"] == "invalid_api_key"


# Anthropic


def test_anthropic_message_echoes(anthropic_sdk):
    content = [{"type": "text", "text": "hello"}, {"type": "text", "text": "there"}]
    answer = message(anthropic_sdk, content, system="Be brief.")
    counted = anthropic_sdk.messages.count_tokens(
        model=ANTHROPIC_MODEL, system="Be brief.", messages=[{"role": "user", "content": content}]
    )

    assert answer.id.startswith("msg_")
    assert answer.model == ANTHROPIC_MODEL
    assert answer.content[0].text == "Echo: hello there"
    assert answer.stop_reason == "end_turn"
    assert answer.usage.output_tokens == 3
    assert answer.usage.input_tokens == counted.input_tokens > 0


def test_anthropic_stop_sequence_and_max_tokens(anthropic_sdk):
    stopped = message(anthropic_sdk, "go on STOP here", stop_sequences=["STOP"])
    cut = message(anthropic_sdk, "a b c d", max_tokens=2)

    assert (stopped.content[0].text, stopped.stop_reason, stopped.stop_sequence) == (
        "Echo: go on ",
        "stop_sequence",
        "STOP",
    )
    assert (cut.content[0].text, cut.stop_reason) == ("Echo: a", "max_tokens")


def test_anthropic_stream_parses_with_the_sdk(fake, anthropic_sdk):
    with anthropic_sdk.messages.stream(
        model=ANTHROPIC_MODEL, max_tokens=100, messages=[{"role": "user", "content": "streamed words here"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert pieces == ["Echo:", " streamed", " words", " here"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4
    assert latest_usage(fake).provider == "anthropic" and latest_usage(fake).stream


def test_anthropic_tool_use_plain_and_streamed(anthropic_sdk):
    forced = message(anthropic_sdk, "refunds in May", tools=[SEARCH_TOOL_ANTHROPIC], tool_choice={"type": "any"})
    with anthropic_sdk.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=100,
        tools=[SEARCH_TOOL_ANTHROPIC],
        messages=[{"role": "user", "content": "Use the tool for refunds"}],
    ) as stream:
        streamed = stream.get_final_message()

    assert forced.stop_reason == "tool_use"
    assert forced.content[0].type == "tool_use" and forced.content[0].id.startswith("toolu_")
    assert (forced.content[0].name, forced.content[0].input) == ("search", {"query": "refunds in May"})
    assert streamed.stop_reason == "tool_use"
    assert streamed.content[0].input == {"query": "Use the tool for refunds"}


def test_anthropic_refuses_missing_key_version_or_max_tokens(fake):
    body = {"model": ANTHROPIC_MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    without_max_tokens = {key: value for key, value in body.items() if key != "max_tokens"}
    no_key = raw_request(fake, "POST", "/v1/messages", body, {"anthropic-version": "2023-06-01"})
    no_version = raw_request(fake, "POST", "/v1/messages", body, {"x-api-key": "sk-ant-k"})
    no_max_tokens = raw_request(
        fake, "POST", "/v1/messages", without_max_tokens, {"x-api-key": "sk-ant-k", "anthropic-version": "2023-06-01"}
    )

    assert no_key[0] == 401 and json.loads(no_key[2])["error"]["type"] == "authentication_error"
    assert no_version[0] == 400 and json.loads(no_version[2])["type"] == "error"
    assert no_max_tokens[0] == 400 and "max_tokens" in json.loads(no_max_tokens[2])["error"]["message"]


# Faults


def test_status_fault_sends_retry_after_then_recovers(fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=429, headers={"Retry-After": "7"}))
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    auth = {"Authorization": "Bearer sk-test"}

    status, headers, payload = raw_request(fake, "POST", "/v1/chat/completions", body, auth)
    retried = raw_request(fake, "POST", "/v1/chat/completions", body, auth)

    assert status == 429 and headers["Retry-After"] == "7"
    assert json.loads(payload)["error"]["code"] == "rate_limit_exceeded"
    assert retried[0] == 200
    assert fake.pending_faults == []


def test_faults_wait_for_their_path_and_repeat(fake, openai_sdk, anthropic_sdk):
    fake.enqueue(Fault(path="/v1/messages", status=529, times=2))

    chat(openai_sdk, "not for me")
    for _ in range(2):
        with pytest.raises(anthropic.APIStatusError) as failure:
            message(anthropic_sdk, "x")
        assert failure.value.status_code == 529
        assert failure.value.body["error"]["type"] == "overloaded_error"
    assert message(anthropic_sdk, "x").content


def test_drop_after_chunks_breaks_the_stream(fake, openai_sdk):
    fake.enqueue(Fault(drop_after_chunks=3))
    received = []

    with pytest.raises(openai.APIConnectionError):
        for chunk in chat(openai_sdk, "a b c d e f", stream=True):
            received.append(chunk)

    assert len(received) == 3  # The role chunk, then "Echo:" and " a".
    usage = latest_usage(fake)
    assert (usage.completed, usage.output_tokens) == (False, 2)
    assert fake.disconnects == []  # The fake hung up; that is not a client disconnect.


def test_close_connection_gives_no_response(fake, openai_sdk):
    fake.enqueue(Fault(close_connection=True))

    with pytest.raises(openai.APIConnectionError):
        chat(openai_sdk, "x")


def test_slow_long_stream_after_delayed_headers(fake, openai_sdk):
    fake.enqueue(Fault(delay_before_headers=0.2, chunk_delay=0.005, filler_words=40))
    started = time.monotonic()

    chunks = list(chat(openai_sdk, "x", stream=True))

    assert time.monotonic() - started >= 0.2 + 40 * 0.005
    assert len([chunk for chunk in chunks if chunk.choices[0].delta.content]) == 42


def test_client_timeout_while_waiting_for_headers_is_a_disconnect(fake):
    fake.enqueue(Fault(delay_before_headers=3))
    impatient = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0, timeout=0.2)

    with pytest.raises(openai.APITimeoutError):
        chat(impatient, "x")
    gave_up_at = time.monotonic()

    disconnect = fake.wait_for_disconnect(timeout=2)
    assert disconnect.stage == "before_headers"
    assert disconnect.noticed_at - gave_up_at < 1.0


# Disconnects


def test_client_disconnect_mid_stream_is_noticed_promptly(fake, openai_sdk):
    fake.chunk_delay = 0.3
    stream = chat(openai_sdk, "a slow answer of many words", stream=True)
    next(iter(stream))
    stream.close()
    closed_at = time.monotonic()

    disconnect = fake.wait_for_disconnect(timeout=2)

    assert (disconnect.path, disconnect.model, disconnect.stage) == ("/v1/chat/completions", OPENAI_MODEL, "streaming")
    assert 0 <= disconnect.noticed_at - closed_at < 1.0
    assert latest_usage(fake).completed is False


def test_wait_for_disconnect_times_out(fake):
    with pytest.raises(TimeoutError):
        fake.wait_for_disconnect(timeout=0.05)


# Prompt caching and billing


def test_bill_prices_every_answer(fake, openai_sdk, anthropic_sdk):
    chat(openai_sdk, "a b")
    message(anthropic_sdk, "c")
    totals = fake.usage_totals()
    openai_usage, anthropic_usage = totals[OPENAI_MODEL], totals[ANTHROPIC_MODEL]

    bill = fake.bill_usd({OPENAI_MODEL: Price(input=1.0, output=2.0), "*": Price(input=3.0, output=15.0)})

    expected = (
        openai_usage.input_tokens * 1.0
        + openai_usage.output_tokens * 2.0
        + anthropic_usage.input_tokens * 3.0
        + anthropic_usage.output_tokens * 15.0
    ) / 1_000_000
    assert bill == pytest.approx(expected)
    with pytest.raises(KeyError):
        fake.bill_usd({OPENAI_MODEL: Price(input=1.0, output=2.0)})


def test_flex_is_billed_at_half_price_on_flex_models_and_refused_elsewhere(fake, openai_sdk):
    flex = openai_sdk.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "a b"}], service_tier="flex"
    )
    stream = openai_sdk.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "c"}], service_tier="flex", stream=True
    )
    standard = openai_sdk.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "a b"}])
    with pytest.raises(openai.BadRequestError):
        chat(openai_sdk, "x", service_tier="flex")

    assert (flex.service_tier, standard.service_tier) == ("flex", "default")
    assert {chunk.service_tier for chunk in stream} == {"flex"}
    deadline = time.monotonic() + 5
    while len(fake.usages) < 3 and time.monotonic() < deadline:  # a stream's usage lands after its last chunk
        time.sleep(0.01)
    assert sorted(usage.service_tier for usage in fake.usages) == ["default", "flex", "flex"]
    flex_totals = fake.usage_totals(service_tier="flex")["gpt-5-mini"]
    assert flex_totals.requests == 2 and fake.usage_totals()["gpt-5-mini"].requests == 3
    price = Price(input=1.0, output=4.0)
    standard_cost = (standard.usage.prompt_tokens * 1.0 + standard.usage.completion_tokens * 4.0) / 1_000_000
    flex_cost = (flex_totals.input_tokens * 0.5 + flex_totals.output_tokens * 2.0) / 1_000_000
    assert fake.bill_usd({"gpt-5-mini": price}) == pytest.approx(standard_cost + flex_cost)


def test_a_flex_fault_refuses_only_flex_requests(fake, openai_sdk):
    fake.enqueue(Fault.flex_unavailable())
    standard = openai_sdk.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError) as refused:
        openai_sdk.chat.completions.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": "x"}], service_tier="flex"
        )

    assert standard.choices and refused.value.code == "resource_unavailable"
    assert fake.pending_faults == []


def test_reset_forgets_everything(fake, openai_sdk):
    chat(openai_sdk, "x")
    fake.enqueue(Fault(status=500))
    fake.chunk_delay = 1.0

    fake.reset()

    assert (fake.requests, fake.usages, fake.pending_faults, fake.chunk_delay) == ([], [], [], 0.0)
    assert fake.usage_totals() == {}


# Standalone


def test_standalone_server_and_control_endpoints():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeprovider", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in process.stdout.readline()
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-bench", max_retries=0)
        control = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        control.request("POST", "/_fake/faults", body=json.dumps({"status": 503}))
        assert control.getresponse().read() == b'{"queued":1}'

        with pytest.raises(openai.InternalServerError):
            chat(client, "x")
        chat(client, "x")

        control.request("GET", "/_fake/usage")
        assert json.loads(control.getresponse().read())[OPENAI_MODEL]["requests"] == 1
        control.close()
        client.close()
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0  # SIGTERM stops it cleanly.


def test_the_fake_refuses_what_the_real_apis_refuse(fake):
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    openai_key = {"Authorization": "Bearer sk-test"}
    assert raw_request(fake, "POST", "/v1/chat/completions", chat, {"Authorization": "Bearer not-a-key"})[0] == 401
    unknown = raw_request(fake, "POST", "/v1/chat/completions", {**chat, "model": "gpt4o"}, openai_key)
    assert unknown[0] == 404 and "does not exist" in json.loads(unknown[2])["error"]["message"]
    options = raw_request(fake, "POST", "/v1/chat/completions", {**chat, "stream_options": {}}, openai_key)
    assert options[0] == 400 and "stream_options" in json.loads(options[2])["error"]["message"]
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    five_markers = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 5,
        "system": [marked, marked],
        "messages": [{"role": "user", "content": [marked, marked, marked]}],
    }
    anthropic_key = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
    too_many = raw_request(fake, "POST", "/v1/messages", five_markers, anthropic_key)
    assert too_many[0] == 400 and "Found 5" in json.loads(too_many[2])["error"]["message"]
