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
        "summary_trigger_tokens=500",
        "--set",
        "summary_keep_recent_turns=2",
        stdout=out,
    )
    assert '"summaries": true' in out.getvalue()
    canary = f"canary{secrets.token_hex(6)}"
    messages = conversation(8, canary)
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


def test_anthropic_history_read_from_the_provider_cache_waits_ten_times_longer(
    openai_client, optera_server, tenants, fake
):
    """A summary would make Anthropic write the cached history again at 1.25x; it waits until it pays."""
    summaries_on("acme")
    summaries_on("globex", "provider_prompt_cache=off")
    headers = {"X-Optera-Cache": "off", "X-Provider-Key-OpenAI": PROVIDER_KEY_CANARY}
    messages = conversation(8, "")  # ~1,400 tokens: over the trigger, under ten times it

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


@pytest.mark.parametrize(
    "provider, provider_prompt_cache, expected",
    [("anthropic", True, 40_000), ("anthropic", False, 4000), ("openai", True, 4000)],
)
def test_the_trigger_scales_only_where_anthropic_caches_the_history(provider, provider_prompt_cache, expected):
    from accounts.models import WorkspaceSettings
    from proxy.shape.routing import Target
    from proxy.shape.summaries import summary_trigger_tokens

    workspace_settings = WorkspaceSettings(summary_trigger_tokens=4000, provider_prompt_cache=provider_prompt_cache)
    assert summary_trigger_tokens(workspace_settings, Target(provider=provider, model="any")) == expected
