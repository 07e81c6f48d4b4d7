"""The exact cache end to end: hits, stream <-> non-stream, tenants, expiry, failures, single-flight."""

import threading
from datetime import timedelta

import openai
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from cachestore import services
from cachestore.models import CacheEntry
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault

pytestmark = [pytest.mark.django_db(transaction=True)]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def ask(client, **options):
    return client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION, **options)


def stored_entries(count=1):
    return wait_for(lambda: CacheEntry.objects.count() >= count and list(CacheEntry.objects.all()))


def test_repeat_is_a_hit_without_upstream_call(openai_client, fake):
    first = ask(openai_client, temperature=1.0)
    assert first.headers["x-optera-cache"] == "miss"
    stored_entries()
    second = ask(openai_client, temperature=1)
    assert second.headers["x-optera-cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert float(second.headers["x-optera-saved-usd"]) > 0 and second.headers["x-optera-cost-usd"] == "0"
    assert len(fake.requests) == 1
    log = wait_for(lambda: RequestLog.objects.filter(cache_status="hit").first())
    assert log.saved_usd > 0 and log.cost_usd == 0 and log.savings["cache"] > 0
    wait_for(lambda: CacheEntry.objects.filter(hit_count=1, last_hit_at__isnull=False).exists())


def test_changing_any_answer_field_misses(openai_client, fake):
    ask(openai_client)
    stored_entries()
    for options in [
        dict(temperature=0.5),
        dict(max_tokens=7),
        dict(seed=3),
        dict(stop=["x"]),
        dict(top_p=0.5),
        dict(response_format={"type": "json_object"}),
    ]:
        assert ask(openai_client, **options).headers["x-optera-cache"] == "miss", options
    other_system = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "Be terse."}] + QUESTION
    )
    assert other_system.headers["x-optera-cache"] == "miss"
    other_model = openai_client.chat.completions.with_raw_response.create(model="gpt-4o", messages=QUESTION)
    assert other_model.headers["x-optera-cache"] == "miss"


def test_stream_served_from_a_non_stream_entry_and_back(openai_client, fake):
    plain = ask(openai_client).parse()
    stored_entries()
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
    )
    content_chunks = [chunk for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert len(content_chunks) >= 2, "a replay is several chunks, not one blob"
    assert "".join(chunk.choices[0].delta.content for chunk in content_chunks) == plain.choices[0].message.content
    assert chunks[-1].usage is not None
    assert len(fake.requests) == 1
    # And back: a streamed answer is stored and serves a non-stream request.
    streamed_question = [{"role": "user", "content": "Name three rivers"}]
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=streamed_question, stream=True))
    stored_entries(2)
    again = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=streamed_question)
    assert again.headers["x-optera-cache"] == "hit"
    assert again.parse().choices[0].message.content == "Echo: Name three rivers"


def test_tool_calls_replay_as_stream(openai_client, fake):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    plain = openai_client.chat.completions.create(
        model="gpt-4o", messages=QUESTION, tools=tools, tool_choice="required"
    )
    stored_entries()
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=QUESTION, tools=tools, tool_choice="required", stream=True
    )
    deltas = [chunk.choices[0].delta for chunk in stream if chunk.choices and chunk.choices[0].delta.tool_calls]
    assert deltas[0].tool_calls[0].function.name == "lookup"
    arguments = "".join(delta.tool_calls[0].function.arguments or "" for delta in deltas)
    assert arguments == plain.choices[0].message.tool_calls[0].function.arguments
    assert len(fake.requests) == 1


def test_another_workspace_misses(openai_client, optera_server, tenants, fake):
    ask(openai_client)
    stored_entries()
    outsider = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    assert ask(outsider).headers["x-optera-cache"] == "miss"
    member = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.member.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    assert ask(member).headers["x-optera-cache"] == "hit"


def test_expired_entry_misses_and_the_sweep_deletes_it(openai_client, fake):
    ask(openai_client)
    stored_entries()
    CacheEntry.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ask(openai_client, extra_headers={"X-Optera-Cache": "exact"}).headers["x-optera-cache"] in ("miss", "hit")
    CacheEntry.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with_redis_bypassed = ask(openai_client, extra_headers={"X-Optera-Cache-TTL": "1"})
    assert with_redis_bypassed.headers["x-optera-cache"] in ("miss", "hit")
    CacheEntry.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.cache_entries_expire(batch_size=1) >= 1
    assert CacheEntry.objects.count() == 0


def test_expired_entry_is_never_served(openai_client, fake, settings):
    ask(openai_client, extra_headers={"X-Optera-Cache-TTL": "1"})
    stored_entries()
    import time

    time.sleep(1.2)
    assert ask(openai_client).headers["x-optera-cache"] == "miss"
    assert len(fake.requests) == 2


def test_failed_or_cut_answers_are_not_cached(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", status=400))
    with pytest.raises(openai.BadRequestError):
        ask(openai_client)
    fake.enqueue(Fault(path="/v1/chat/completions", drop_after_chunks=3, filler_words=10))
    with pytest.raises(openai.APIError):
        list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True))
    assert ask(openai_client).headers["x-optera-cache"] == "miss"


def test_cache_off_by_header_or_setting(openai_client, tenants, fake):
    ask(openai_client)
    stored_entries()
    assert ask(openai_client, extra_headers={"X-Optera-Cache": "off"}).headers["x-optera-cache"] == "bypass"
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(cache_mode="off")
    import time

    time.sleep(5.1)  # the key record (with its settings) is cached for up to 5 s
    # A request cannot widen the workspace's mode.
    assert ask(openai_client, extra_headers={"X-Optera-Cache": "semantic"}).headers["x-optera-cache"] == "bypass"


def test_bad_cache_headers_are_400(openai_client, fake):
    with pytest.raises(openai.BadRequestError):
        ask(openai_client, extra_headers={"X-Optera-Cache": "sometimes"})
    for name, value in [
        ("X-Optera-Cache-TTL", "-5"),
        ("X-Optera-Cache-TTL", "soon"),
        ("X-Optera-Similarity-Threshold", "nan"),
        ("X-Optera-Similarity-Threshold", "high"),
    ]:
        with pytest.raises(openai.BadRequestError):
            ask(openai_client, extra_headers={name: value})


def test_ten_concurrent_identical_misses_make_one_upstream_call(openai_client, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", delay_before_headers=0.5))
    barrier = threading.Barrier(10)
    answers = []

    def one():
        barrier.wait()
        answers.append(ask(openai_client))

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(answers) == 10
    assert {answer.parse().choices[0].message.content for answer in answers} == {"Echo: What is the capital of France?"}
    assert len(fake.requests) == 1


def test_embeddings_are_cached_per_workspace(openai_client, optera_server, tenants, fake):
    first = openai_client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert first.headers["x-optera-cache"] == "miss"
    stored_entries()
    second = openai_client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert second.headers["x-optera-cache"] == "hit"
    assert second.parse().data[0].embedding == first.parse().data[0].embedding
    assert len(fake.requests) == 1
    other = openai_client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["alpha"])
    assert other.headers["x-optera-cache"] == "miss"
    outsider = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    assert (
        outsider.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["alpha", "beta"]).headers[
            "x-optera-cache"
        ]
        == "miss"
    )


def test_storing_a_key_again_refreshes_its_one_row_and_keeps_its_hits(tenants):
    def store(answer):
        return services.cache_entry_store(
            workspace_id=tenants.owner.workspace.pk,
            kind="chat",
            key_hash="same-key",
            context_hash="",
            model="gpt-4o-mini",
            provider="openai",
            response={"answer": answer},
            usage={},
            cost_usd=0,
            expires_at=timezone.now() + timedelta(hours=1),
        )

    first = store("first")
    services.cache_entries_record_hits(hits={first: 3})
    with CaptureQueriesContext(connection) as queries:
        second = store("second")
    # One INSERT ... SELECT (the workspace check) ... ON CONFLICT DO UPDATE in its transaction: no
    # separate check, no locking read, no savepoint.
    begin, statement, commit = [query["sql"].split() for query in queries]
    assert (begin, commit) == (["BEGIN"], ["COMMIT"])
    assert statement[0] == "INSERT" and "SELECT" in statement and "CONFLICT" in statement
    entry = CacheEntry.objects.get()
    assert second == first == entry.pk
    assert entry.response == {"answer": "second"} and entry.hit_count == 3
