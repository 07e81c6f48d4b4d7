"""Conversation summaries: turned on with workspace_settings, older turns replaced by a stored summary."""

import io
import secrets
import time

import httpx
import pytest
from django.core.management import call_command

from analytics.models import RequestLog
from cachestore.models import ConversationSummary
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.proxy.test_privacy import every_row_as_text

pytestmark = [pytest.mark.django_db(transaction=True)]


def long_turn(index, canary=""):
    words = "the release plan needs careful review of risks owners budget and dates before launch".split()
    filler = " ".join(words[(index + position) % len(words)] for position in range(160))
    return f"Turn {index}: please remember this about the project. {filler} {canary}".strip()


def conversation(turns, canary):
    messages = [{"role": "system", "content": "You are a helpful project assistant."}]
    for index in range(turns):
        messages.append({"role": "user", "content": long_turn(index, canary if index == 4 else "")})
        messages.append({"role": "assistant", "content": f"Noted point {index}."})
    messages.append({"role": "user", "content": "What should we do next?"})
    return messages


def test_summarised_conversation_sends_fewer_tokens(openai_client, tenants, fake):
    out = io.StringIO()
    call_command(
        "workspace_settings",
        "acme",
        "--set",
        "summaries=on",
        "--set",
        "summary_trigger_tokens=2000",
        "--set",
        "summary_keep_recent_turns=2",
        stdout=out,
    )
    assert '"summaries": true' in out.getvalue()
    canary = f"canary{secrets.token_hex(6)}"
    # ~3,400 tokens over 20 turns, a summary used for ~5 of them (until 1,000 more tokens build up):
    # enough that it pays even against OpenAI's cached reads.
    messages = conversation(20, canary)
    first = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers={"X-Optera-Cache": "off"}
    )
    summary = wait_for(lambda: ConversationSummary.objects.first(), timeout=10)
    assert summary.messages_summarised > 0 and summary.tokens_after < summary.tokens_before
    summariser_call = fake.requests[-1].json
    assert summariser_call["model"] == "gpt-4o-mini"
    assert "faithful" in summariser_call["messages"][0]["content"]
    assert summariser_call["messages"][0]["role"] == "system" and "project assistant" not in str(summariser_call)

    # The conversation goes on: the same turns, the answer, one more question.
    later = messages + [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And after that?"},
    ]
    through_optera = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=later, extra_headers={"X-Optera-Cache": "off"}
    )
    sent = fake.last_request.json["messages"]
    assert sent[0] == messages[0], "the system prompt is never summarised"
    assert sent[1]["role"] == "system" and summary.summary_text in sent[1]["content"]
    assert len(sent) < len(later) and sent[-1] == later[-1]
    direct = httpx.post(
        f"{fake.openai_base_url}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": later},
        headers={"Authorization": f"Bearer {PROVIDER_KEY_CANARY}"},
    ).json()
    assert through_optera.usage.prompt_tokens < direct["usage"]["prompt_tokens"] * 0.6
    log = wait_for(lambda: RequestLog.objects.filter(savings__has_key="summary", endpoint="chat.completions").first())
    assert log.savings["summary"] > 0
    charged = wait_for(lambda: RequestLog.objects.filter(endpoint="summary").first())
    assert charged.savings["summary"] < 0 and charged.cost_usd > 0
    # Only the summary is kept: the raw turns it replaced are nowhere in the database.
    assert canary not in every_row_as_text()


def test_summaries_stay_off_by_default(openai_client, fake):
    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=conversation(8, ""), extra_headers={"X-Optera-Cache": "off"}
    )
    assert len(fake.requests) == 1
    assert not ConversationSummary.objects.exists()


def summaries_on(workspace_name, *extra):
    options = ["summaries=on", "summary_trigger_tokens=500", "summary_keep_recent_turns=2", *extra]
    call_command(
        "workspace_settings",
        workspace_name,
        *(part for option in options for part in ("--set", option)),
        stdout=io.StringIO(),
    )


def test_anthropic_history_read_from_the_provider_cache_is_not_summarised_until_it_pays(
    openai_client, optera_server, tenants, fake
):
    """A summary would make Anthropic write the cached history again at 1.25x to save 0.1x a turn."""
    summaries_on("acme")
    summaries_on("globex", "provider_prompt_cache=off")
    headers = {"X-Optera-Cache": "off", "X-Provider-Key-OpenAI": PROVIDER_KEY_CANARY}
    messages = conversation(8, "")  # ~1,400 tokens: over the trigger

    openai_client.chat.completions.create(model="claude-haiku-4-5", messages=messages, extra_headers=headers)
    time.sleep(1)  # the summariser would have been called by now
    assert [request.path for request in fake.requests] == ["/v1/messages"]
    assert not ConversationSummary.objects.exists()

    # The same conversation where the provider's cache is off is summarised at the plain trigger.
    httpx.post(
        f"{optera_server.v1}/chat/completions",
        json={"model": "claude-haiku-4-5", "messages": messages},
        headers={
            "Authorization": f"Bearer {tenants.outsider.api_key}",
            "X-Provider-Key": PROVIDER_KEY_CANARY,
            **headers,
        },
    ).raise_for_status()
    summary = wait_for(lambda: ConversationSummary.objects.first(), timeout=10)
    assert summary.workspace_id == tenants.outsider.workspace.id


def outlook(provider, *, provider_cache=True, cache_warm=True, replaced=5000, kept=2000, turns=8, resummary=10):
    from proxy.shape.summary_cost import history_prices, summary_outlook

    # Claude Sonnet's and gpt-4o-mini's list prices per million tokens; gpt-4o-mini summarises.
    model_prices = {"anthropic": (3.0, 0.3, 3.75), "openai": (0.15, 0.075, 0.15)}[provider]
    prices = history_prices(
        provider=provider,
        input_price=model_prices[0],
        cached_input_price=model_prices[1],
        cache_write_price=model_prices[2],
        provider_cache=provider_cache,
        cache_warm=cache_warm,
        summariser_input=0.15,
        summariser_output=0.6,
    )
    return summary_outlook(
        replaced_tokens=replaced,
        kept_tokens=kept,
        summary_tokens=600,
        turns_so_far=turns,
        turns_until_resummary=resummary,
        prices=prices,
    )


def test_a_summary_pays_where_history_is_dear_and_not_where_the_provider_cache_reads_it_cheaply():
    # Anthropic's warm cache reads history at 0.1x: re-writing the kept turns at 1.25x costs more.
    assert not outlook("anthropic").pays
    # Cache gone cold between turns: every turn writes the history again, so removing it pays.
    assert outlook("anthropic", cache_warm=False).pays
    # No provider cache: full price each turn.
    assert outlook("anthropic", provider_cache=False).pays
    # OpenAI: cached reads at half price and a summariser call at the same model's price.
    assert not outlook("openai", replaced=1000, kept=400, turns=4).pays
    assert outlook("openai", replaced=20_000, kept=2000, turns=20).pays


def test_the_expected_turns_are_half_the_turns_so_far_at_least_one_and_no_more_than_until_the_next_summary():
    assert outlook("anthropic", turns=1).expected_turns == 1
    assert outlook("anthropic", turns=9).expected_turns == 4
    assert outlook("anthropic", turns=9, resummary=2).expected_turns == 2
    # A summary replaced a turn later must pay on that one turn.
    assert not outlook("openai", replaced=20_000, kept=2000, turns=20, resummary=1).pays
