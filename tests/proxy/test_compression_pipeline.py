"""System-prompt compression through the proxy: computed once, stored, then sent in place of the original."""

import pytest

from analytics.models import RequestLog
from cachestore.models import CompressedPrompt
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
UNTIDY = "\n".join(
    ["=" * 40, "  SUPPORT   RULES  ", "=" * 40, "", "", ""]
    + [f"Rule {index}:   be   kind and   precise.   " for index in range(40)]
    + [
        "",
        "",
        "Never share internal notes.",
        "Never share internal notes.",
        "",
        "-" * 40,
        "",
        "```python",
        "def keep(  spacing ):",
        "        return   'exactly'",
        "```",
    ]
)


def ask(client, question, **headers):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": UNTIDY}, {"role": "user", "content": question}],
        extra_headers={"X-Optera-Cache": "off", **headers},
    )


def test_compressed_once_then_used(openai_client, fake):
    ask(openai_client, "first")
    assert fake.last_request.json["messages"][0]["content"] == UNTIDY
    stored = wait_for(lambda: CompressedPrompt.objects.first())
    assert stored.tokens_after < stored.tokens_before
    assert UNTIDY not in str(list(CompressedPrompt.objects.values()))
    second = ask(openai_client, "second")
    sent = fake.last_request.json["messages"][0]["content"]
    assert sent == stored.compressed_text and len(sent) < len(UNTIDY)
    assert "def keep(  spacing ):\n        return   'exactly'" in sent
    assert sent.count("Never share internal notes.") == 1
    assert float(second.headers["x-optera-saved-usd"]) > 0
    log = wait_for(lambda: RequestLog.objects.filter(savings__has_key="compression").first())
    assert log.savings["compression"] > 0
    assert CompressedPrompt.objects.count() == 1


def test_compression_can_be_turned_off_per_request(openai_client, fake):
    ask(openai_client, "first")
    wait_for(lambda: CompressedPrompt.objects.first())
    ask(openai_client, "second", **{"X-Optera-Compress": "off"})
    assert fake.last_request.json["messages"][0]["content"] == UNTIDY


def test_an_incompressible_system_prompt_is_never_stored(openai_client, fake):
    """A tidy 2,000-character prompt: compression removes nothing, so only a marker without text is kept."""
    import secrets

    canary = f"canary-{secrets.token_hex(8)}"
    tidy = " ".join(f"Sentence {index} of the policy names {canary} once." for index in range(40))[:2000].strip()
    for question in ("first", "second"):
        openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": tidy}, {"role": "user", "content": question}],
            extra_headers={"X-Optera-Cache": "off"},
        )
        assert fake.last_request.json["messages"][0]["content"] == tidy
    marker = wait_for(lambda: CompressedPrompt.objects.first())
    assert marker.compressed_text == "" and marker.tokens_after == marker.tokens_before
    assert canary not in str(list(CompressedPrompt.objects.values()))
