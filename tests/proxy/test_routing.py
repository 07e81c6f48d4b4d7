"""optera/auto, aliases and X-Optera-Route through the proxy, with routing savings in the ledger."""

import pytest

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
EASY = "Translate 'good morning' into Spanish."
HARD = (
    "Design the sync protocol for an offline-first notes app edited on several devices at once: compare CRDTs "
    "with operational transforms, weigh the trade-offs, and plan the migration step by step."
)


def auto(client, text, headers=None):
    return client.chat.completions.with_raw_response.create(
        model="optera/auto",
        messages=[{"role": "user", "content": text}],
        extra_headers={"X-Optera-Cache": "off", **(headers or {})},
    )


def test_auto_sends_easy_prompts_cheap_and_hard_ones_strong(openai_client, fake):
    easy = auto(openai_client, EASY)
    assert easy.headers["x-optera-model"] == "gpt-4o-mini"
    assert fake.last_request.json["model"] == "gpt-4o-mini"
    assert float(easy.headers.get("x-optera-saved-usd", 0)) > 0, dict(easy.headers)
    hard = auto(openai_client, HARD)
    assert hard.headers["x-optera-model"] == "gpt-4o"
    cheap_log = wait_for(lambda: RequestLog.objects.filter(model_used="gpt-4o-mini").first())
    assert cheap_log.model_requested == "optera/auto"
    assert cheap_log.route_reason.startswith("small") and cheap_log.savings["routing"] > 0
    strong_log = wait_for(lambda: RequestLog.objects.filter(model_used="gpt-4o").first())
    assert strong_log.route_reason.startswith("large") and "routing" not in strong_log.savings


def test_auto_uses_the_workspaces_tiers(openai_client, tenants, fake):
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(
        cheap_model="claude-haiku-4-5", strong_model="claude-sonnet-4-5"
    )
    assert auto(openai_client, EASY).headers["x-optera-model"] == "claude-haiku-4-5"
    assert fake.last_request.path == "/v1/messages"


def test_route_off_keeps_auto_on_the_strong_tier_and_aliases_as_written(openai_client, tenants, fake):
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(model_aliases={"fast": "gpt-4o-mini"})
    assert auto(openai_client, EASY, headers={"X-Optera-Route": "off"}).headers["x-optera-model"] == "gpt-4o"
    aliased = openai_client.chat.completions.with_raw_response.create(
        model="fast", messages=[{"role": "user", "content": "hi"}]
    )
    assert aliased.headers["x-optera-model"] == "gpt-4o-mini"
