"""The fake provider's prompt caches: Anthropic's marked prefixes with their TTLs, OpenAI's automatic prefixes."""

from __future__ import annotations

import anthropic
import httpx

from tests.fakeprovider_tests.helpers import (
    ANTHROPIC_MODEL,
    LONG_SYSTEM_PROMPT,
    OPENAI_MODEL,
    latest_usage,
    message,
)


def test_anthropic_prompt_cache_writes_then_reads(fake, anthropic_sdk):
    system = [{"type": "text", "text": LONG_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]

    first = message(anthropic_sdk, "first question", system=system).usage
    second = message(anthropic_sdk, "second question", system=system).usage

    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens >= 1024
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens  # Only the question is billed in full.


def test_anthropic_prompt_cache_needs_the_minimum_and_the_same_key(fake, anthropic_sdk):
    short_system = [{"type": "text", "text": "Short prompt.", "cache_control": {"type": "ephemeral"}}]
    long_system = [{"type": "text", "text": LONG_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    short = message(anthropic_sdk, "x", system=short_system)
    message(anthropic_sdk, "x", system=long_system)
    with anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="sk-ant-other", max_retries=0) as other_key:
        other = message(other_key, "x", system=long_system)

    assert short.usage.cache_creation_input_tokens == 0
    assert other.usage.cache_read_input_tokens == 0
    assert other.usage.cache_creation.ephemeral_1h_input_tokens > 0


def test_anthropic_cache_follows_a_growing_conversation(fake, anthropic_sdk):
    system = [{"type": "text", "text": LONG_SYSTEM_PROMPT}]

    def marked(text):
        return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]

    first = message(anthropic_sdk, marked("turn one"), system=system)
    second = anthropic_sdk.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=5,
        system=system,
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "turn one"}]},
            {"role": "assistant", "content": "Echo: turn one"},
            {"role": "user", "content": marked("turn two")},
        ],
    )

    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens > 0


def test_openai_automatic_prefix_caching(fake, openai_sdk):
    def ask(question):
        messages = [{"role": "system", "content": LONG_SYSTEM_PROMPT}, {"role": "user", "content": question}]
        return openai_sdk.chat.completions.create(model=OPENAI_MODEL, messages=messages).usage

    first = ask("first question")
    second = ask("second question")

    assert first.prompt_tokens_details.cached_tokens == 0
    assert second.prompt_tokens_details.cached_tokens >= 1024
    assert second.prompt_tokens_details.cached_tokens % 128 == 0
    assert second.prompt_tokens_details.cached_tokens <= second.prompt_tokens
    assert latest_usage(fake).cache_read_tokens == second.prompt_tokens_details.cached_tokens


def test_haiku_4_5_caches_nothing_below_4096_tokens(fake, anthropic_sdk):
    system = [{"type": "text", "text": "word " * 2500, "cache_control": {"type": "ephemeral"}}]
    asked = {"max_tokens": 5, "system": system, "messages": [{"role": "user", "content": "x"}]}
    haiku = anthropic_sdk.messages.create(model="claude-haiku-4-5", **asked)
    sonnet = anthropic_sdk.messages.create(model="claude-sonnet-4-6", **asked)
    assert haiku.usage.cache_creation_input_tokens == 0 and sonnet.usage.cache_creation_input_tokens > 1024


def test_anthropic_cache_entries_expire_by_their_ttl_on_the_advanced_clock(fake, anthropic_sdk):
    five_minutes = [{"type": "text", "text": LONG_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    one_hour = [
        {"type": "text", "text": "Hour. " + LONG_SYSTEM_PROMPT, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    message(anthropic_sdk, "x", system=five_minutes)
    written = message(anthropic_sdk, "x", system=one_hour).usage
    assert written.cache_creation.ephemeral_1h_input_tokens == written.cache_creation_input_tokens > 0
    assert httpx.post(f"{fake.url}/_fake/advance", json={"seconds": 20 * 60}).status_code == 200

    assert message(anthropic_sdk, "x", system=five_minutes).usage.cache_read_input_tokens == 0
    assert message(anthropic_sdk, "x", system=one_hour).usage.cache_read_input_tokens > 0
    fake.advance(59 * 60)  # the read refreshed the hour: 59 more minutes still find it
    assert message(anthropic_sdk, "x", system=one_hour).usage.cache_read_input_tokens > 0
    fake.advance(61 * 60)
    assert message(anthropic_sdk, "x", system=one_hour).usage.cache_read_input_tokens == 0
    assert fake.usage_totals()[ANTHROPIC_MODEL].cache_write_1h_tokens == 2 * written.cache_creation_input_tokens


def test_the_clock_only_moves_forward(fake):
    assert httpx.post(f"{fake.url}/_fake/advance", json={"seconds": -1}).status_code == 400
