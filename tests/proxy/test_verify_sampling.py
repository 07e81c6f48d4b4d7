"""Live precision of the semantic cache: sampled semantic hits are asked upstream again, after the answer.

The fake provider answers from a table, so a paraphrase can get the same answer as its original
(agreement) or another one (disagreement), as a deterministic model would.
"""

import logging
import secrets

import httpx
import pytest

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from cachestore.models import CacheEntry, SemanticThresholdRaise, SemanticVerifyTally
from tests.conftest import PROVIDER_KEY_CANARY, wait_for, wait_for_quiet_database
from tests.fakeprovider import Fault
from tests.proxy.test_privacy import every_row_as_text

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGINAL = "How do I reset my password?"
PARAPHRASE = "how do i reset my password"
ANSWER = "Open Settings, then Security, then choose Reset password."


def ask(client, text, **options):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )


def verifying(workspace, **changes):
    WorkspaceSettings.objects.filter(workspace=workspace).update(verify_sample_rate=1.0, **changes)


def cached_original(client, original=ORIGINAL):
    """Ask the original question and wait until its answer can be found semantically."""
    assert ask(client, original).headers["x-optera-cache"] == "miss"
    wait_for(lambda: CacheEntry.objects.filter(fingerprint__isnull=False).exists(), timeout=15)


def tally_of(workspace):
    return SemanticVerifyTally.objects.filter(workspace=workspace).first()


def samples_reach(workspace, count):
    wait_for(lambda: (tally := tally_of(workspace)) is not None and tally.samples >= count, timeout=15)
    return tally_of(workspace)


def test_at_rate_one_each_semantic_hit_is_asked_upstream_once_and_counted(openai_client, tenants, fake):
    workspace = tenants.owner.workspace
    verifying(workspace)
    fake.add_answers({ORIGINAL: ANSWER, PARAPHRASE: ANSWER})
    cached_original(openai_client)

    hit = ask(openai_client, PARAPHRASE)
    assert hit.headers["x-optera-cache"] == "semantic"
    assert hit.parse().choices[0].message.content == ANSWER
    tally = samples_reach(workspace, 1)
    assert (tally.samples, tally.agreements, tally.disagreements) == (1, 1, 0)
    verify_call = fake.requests[1]
    assert verify_call.json["messages"] == [{"role": "user", "content": PARAPHRASE}]
    # A streamed hit is verified too, with the whole answer asked for at once.
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PARAPHRASE}], stream=True
        )
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == ANSWER
    assert samples_reach(workspace, 2).agreements == 2
    assert len(fake.requests) == 3  # the original, then one verification per hit
    assert "stream" not in fake.requests[2].json
    # The verification's bill is in the ledger: its own request, charged against the cache's savings.
    verify_logs = wait_for(lambda: list(RequestLog.objects.filter(workspace=workspace, endpoint="semantic_verify")))
    assert len(verify_logs) == 2
    assert all(log.cost_usd > 0 and log.savings["cache"] == -float(log.cost_usd) for log in verify_logs)


def test_at_rate_zero_no_hit_is_verified(openai_client, tenants, fake):
    workspace = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=workspace).update(verify_sample_rate=0.0)
    fake.add_answers({ORIGINAL: ANSWER, PARAPHRASE: ANSWER})
    cached_original(openai_client)

    assert ask(openai_client, PARAPHRASE).headers["x-optera-cache"] == "semantic"
    wait_for_quiet_database()
    assert len(fake.requests) == 1
    assert tally_of(workspace) is None
    assert not RequestLog.objects.filter(endpoint="semantic_verify").exists()


def test_disagreement_above_the_bound_raises_the_threshold_and_logs_it(openai_client, tenants, fake, caplog):
    workspace = tenants.owner.workspace
    verifying(workspace, verify_min_samples=5, verify_disagreement_bound=0.01)
    # The model now says something else to the paraphrase: the cached answer was a wrong serve.
    fake.add_answers({ORIGINAL: "The reset link is valid for 15 minutes.", PARAPHRASE: "It is valid for 60 minutes."})
    cached_original(openai_client)

    with caplog.at_level(logging.WARNING, logger="proxy.lookup.verify_sampling"):
        for count in range(1, 6):
            assert ask(openai_client, PARAPHRASE).headers["x-optera-cache"] == "semantic"
            samples_reach(workspace, count)  # one at a time: the raise is judged on the fifth
        raise_row = wait_for(lambda: SemanticThresholdRaise.objects.filter(workspace=workspace).first())

    assert (raise_row.threshold_before, raise_row.threshold_after) == (0.8, 0.82)
    assert (raise_row.window_samples, raise_row.window_disagreements) == (5, 5)
    assert WorkspaceSettings.objects.get(workspace=workspace).semantic_threshold == 0.82
    tally = tally_of(workspace)
    assert (tally.samples, tally.disagreements, tally.window_samples) == (5, 5, 0)
    assert any("raised from 0.80 to 0.82" in message for message in caplog.messages)
    # The other workspace's threshold is its own.
    assert WorkspaceSettings.objects.get(workspace=tenants.outsider.workspace).semantic_threshold == 0.8


def test_agreement_within_the_bound_leaves_the_threshold(openai_client, tenants, fake):
    workspace = tenants.owner.workspace
    verifying(workspace, verify_min_samples=5, verify_disagreement_bound=0.01)
    fake.add_answers({ORIGINAL: ANSWER, PARAPHRASE: ANSWER})
    cached_original(openai_client)

    for count in range(1, 7):
        assert ask(openai_client, PARAPHRASE).headers["x-optera-cache"] == "semantic"
        samples_reach(workspace, count)

    assert tally_of(workspace).agreements == 6
    assert WorkspaceSettings.objects.get(workspace=workspace).semantic_threshold == 0.8
    assert not SemanticThresholdRaise.objects.exists()


def test_metrics_count_verified_hits_by_outcome(openai_client, optera_server, tenants, fake):
    def verified(outcome):
        body = httpx.get(f"{optera_server.url}/metrics").text
        line = next(
            (
                line
                for line in body.splitlines()
                if line.startswith(f'optera_semantic_verify_total{{outcome="{outcome}"}}')
            ),
            None,
        )
        return float(line.split()[-1]) if line else 0.0

    workspace = tenants.owner.workspace
    verifying(workspace)
    before = verified("agree"), verified("disagree")
    fake.add_answers(
        {ORIGINAL: ANSWER, PARAPHRASE: ANSWER, "How do I reset my password??": "Call support on 555-0100."}
    )
    cached_original(openai_client)
    ask(openai_client, PARAPHRASE)
    samples_reach(workspace, 1)
    ask(openai_client, "How do I reset my password??")
    samples_reach(workspace, 2)

    assert (verified("agree"), verified("disagree")) == (before[0] + 1, before[1] + 1)


def test_neither_answer_nor_prompt_of_a_verification_is_stored_or_logged(openai_client, tenants, fake, caplog):
    workspace = tenants.owner.workspace
    verifying(workspace)
    prompt_canary = "QZX" + secrets.token_hex(6)
    answer_canary = "ANS" + secrets.token_hex(6)
    original, paraphrase = f"How do I reset my password {prompt_canary}?", f"how do i reset my password {prompt_canary}"
    fake.add_answers({original: ANSWER, paraphrase: f"{ANSWER} Ticket {answer_canary}."})
    with caplog.at_level(logging.DEBUG):
        cached_original(openai_client, original)
        assert ask(openai_client, paraphrase).headers["x-optera-cache"] == "semantic"
        samples_reach(workspace, 1)
        wait_for_quiet_database()

    stored = every_row_as_text()
    assert tally_of(workspace).disagreements == 1  # the fresh answer named a ticket the served one did not
    for canary in (prompt_canary, answer_canary, PROVIDER_KEY_CANARY):
        assert canary not in stored
        assert canary not in caplog.text


def test_the_client_has_its_answer_before_the_verification_returns(openai_client, tenants, fake):
    workspace = tenants.owner.workspace
    verifying(workspace)
    fake.add_answers({ORIGINAL: ANSWER, PARAPHRASE: ANSWER})
    cached_original(openai_client)
    fake.enqueue(Fault(path="/v1/chat/completions", hold=True))

    hit = ask(openai_client, PARAPHRASE)

    # The answer is here while the verification is still held at the provider, unanswered.
    assert hit.headers["x-optera-cache"] == "semantic"
    assert fake.wait_for_requests(2)[1].json["messages"][0]["content"] == PARAPHRASE
    assert tally_of(workspace) is None
    fake.release_held()
    assert samples_reach(workspace, 1).agreements == 1
