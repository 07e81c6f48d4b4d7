"""The semantic cache through the proxy: paraphrases hit, hard negatives and other contexts miss, tenants stay apart."""

import uuid

import openai
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import WorkspaceSettings
from cachestore.models import CacheEntry
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def ask(client, text, *, system=None, **options):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    return client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages, **options)


def wait_for_entries(count):
    wait_for(lambda: CacheEntry.objects.filter(fingerprint__isnull=False).count() >= count, timeout=15)


def test_paraphrase_is_a_semantic_hit_with_its_similarity(openai_client, fake):
    original = ask(openai_client, "How do I reset my password?")
    assert original.headers["x-optera-cache"] == "miss"
    wait_for_entries(1)
    paraphrase = ask(openai_client, "how do i reset my password")
    assert paraphrase.headers["x-optera-cache"] == "semantic"
    assert 0.8 <= float(paraphrase.headers["x-optera-similarity"]) <= 1.0
    assert paraphrase.parse().choices[0].message.content == "Echo: How do I reset my password?"
    assert len(fake.requests) == 1
    # Streamed too.
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "How do I reset my password??"}], stream=True
        )
    )
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        == "Echo: How do I reset my password?"
    )
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "stored, asked",
    [
        # several words said otherwise: the embedding decides, once the guards pass
        ("What's the minimum age to rent a car in the US?", "How old do you have to be to rent a car in the US?"),
        # "selct" is not corrected alone (the vocabulary does not decide it): found against the stored words
        ("SQL query to select all rows where email is NULL", "sql query to selct all rows where email is null"),
    ],
)
def test_a_rephrasing_and_an_ambiguous_slip_are_served_through_the_proxy(openai_client, fake, stored, asked):
    ask(openai_client, stored)
    wait_for_entries(1)
    response = ask(openai_client, asked)

    assert response.headers["x-optera-cache"] == "semantic"
    assert response.parse().choices[0].message.content == f"Echo: {stored}"
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "near_miss",
    [
        "What is 15% of 90?",
        "What is 15% of 80 dollars in euros?",
        "What is not 15% of 80?",
    ],
)
def test_hard_negatives_miss(openai_client, fake, near_miss):
    ask(openai_client, "What is 15% of 80?")
    wait_for_entries(1)
    assert ask(openai_client, near_miss).headers["x-optera-cache"] == "miss"
    assert len(fake.requests) == 2


def test_a_different_context_misses(openai_client, fake):
    ask(openai_client, "How do I reset my password?", system="You support the Acme app.")
    wait_for_entries(1)
    assert (
        ask(openai_client, "how do i reset my password", system="You support the Globex app.").headers["x-optera-cache"]
        == "miss"
    )


def test_threshold_can_be_raised_by_a_request_never_lowered(openai_client, tenants, fake):
    ask(openai_client, "How do I reset my password?")
    wait_for_entries(1)
    raised = ask(openai_client, "how do i reset my password", extra_headers={"X-Optera-Similarity-Threshold": "1.0"})
    assert raised.headers["x-optera-cache"] == "miss"
    # Control: at the workspace's 0.8 this paraphrase is served (a lower header changes nothing)...
    assert (
        ask(
            openai_client, "how do I reset my password please", extra_headers={"X-Optera-Similarity-Threshold": "0.1"}
        ).headers["x-optera-cache"]
        == "semantic"
    )
    # ...and where the workspace demands 1.0, a request asking for 0.1 still misses.
    WorkspaceSettings.objects.filter(workspace=tenants.member.workspace).update(semantic_threshold=1.0)
    member = openai.OpenAI(
        base_url=openai_client.base_url,
        api_key=tenants.member.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    lowered = ask(member, "how do I reset my password please", extra_headers={"X-Optera-Similarity-Threshold": "0.1"})
    assert lowered.headers["x-optera-cache"] == "miss"


def test_exact_mode_header_turns_semantic_off(openai_client, fake):
    ask(openai_client, "How do I reset my password?")
    wait_for_entries(1)
    assert (
        ask(openai_client, "how do i reset my password", extra_headers={"X-Optera-Cache": "exact"}).headers[
            "x-optera-cache"
        ]
        == "miss"
    )


PROMPTS = [
    "How do I reset my password?",
    "What is the refund policy?",
    "Where is my order?",
    "How do I cancel my subscription?",
    "What are your opening hours?",
]


def fresh_workspace_client(optera_server, name, provider_key):
    """A workspace made for one example, with its own key: nothing cached, nothing shared."""
    from accounts import services

    workspace = services.workspace_create(name=name)
    _, api_key = services.api_key_create(workspace=workspace, name="example")
    client = openai.OpenAI(
        base_url=optera_server.v1, api_key=api_key, max_retries=0, default_headers={"X-Provider-Key": provider_key}
    )
    return workspace, client


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(prompt=st.sampled_from(PROMPTS), variant=st.sampled_from(["same", "lower", "paraphrase"]))
def test_no_lookup_returns_another_workspaces_entry(optera_server, tenants, fake, prompt, variant):
    """Whatever one workspace stored, another workspace's identical or paraphrased request never hits it.

    Every example makes its own two workspaces: the function-scoped fixtures live across examples,
    and an outsider that had asked before could rightly be served its own answer.
    """
    example = uuid.uuid4().hex[:8]
    owners_workspace, owner = fresh_workspace_client(optera_server, f"owner-{example}", PROVIDER_KEY_CANARY)
    outsiders_workspace, outsider = fresh_workspace_client(optera_server, f"outsider-{example}", "sk-outsider")
    ask(owner, prompt)
    wait_for(lambda: CacheEntry.objects.filter(workspace=owners_workspace, fingerprint__isnull=False).exists())
    text = {"same": prompt, "lower": prompt.lower(), "paraphrase": "Please, " + prompt.lower()}[variant]
    answer = ask(outsider, text)
    # The outsider has never asked anything: any hit would be the owner's answer.
    assert answer.headers["x-optera-cache"] == "miss"
    assert answer.parse().choices[0].message.content == f"Echo: {text}"


def test_openai_embedder_when_the_operator_chooses_it(openai_client, fake, settings):
    settings.OPTERA_EMBEDDER = "openai"
    ask(openai_client, "How do I reset my password?", extra_headers={"X-Provider-Key-Openai": "sk-proj-embedder"})
    embedding_calls = [request for request in fake.requests if request.path == "/v1/embeddings"]
    assert embedding_calls and embedding_calls[0].json["dimensions"] == 384
    assert embedding_calls[0].headers["authorization"] == "Bearer sk-proj-embedder"
    wait_for_entries(1)
    assert len(CacheEntry.objects.first().embedding) == 384
