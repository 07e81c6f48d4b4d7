"""A failing vector extension switches the semantic cache off for the process; forwarding and exact hits go on.

Each fault is made in PostgreSQL itself: a trigger that refuses, or kills the backend on, any row
carrying a vector (as a pgvector built for another CPU does), or an `embedding` column no vector
operator applies to (every similarity search fails).
"""

import logging

import httpx
import pytest
from django.db import connection

from cachestore.models import CacheEntry
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
TABLE = CacheEntry._meta.db_table
REFUSE_VECTORS = "RAISE EXCEPTION 'vector writes are broken'"
KILL_BACKEND_ON_VECTORS = "PERFORM pg_terminate_backend(pg_backend_pid())"


@pytest.fixture
def semantic_cache(optera_server):
    """The test server's semantic cache, switched back on after the test broke it."""
    from optera.asgi import proxy_application

    semantic = proxy_application.runtime.semantic
    semantic.switch_on()
    yield semantic
    semantic.switch_on()


def break_vector_writes(action):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION optera_test_vector_fault() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.embedding IS NOT NULL THEN {action}; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER optera_test_vector_fault BEFORE INSERT ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION optera_test_vector_fault()"
        )


def repair_vector_writes():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS optera_test_vector_fault ON {TABLE}")
        cursor.execute("DROP FUNCTION IF EXISTS optera_test_vector_fault()")


@pytest.fixture
def refused_vector_writes(tenants):
    break_vector_writes(REFUSE_VECTORS)
    yield
    repair_vector_writes()


@pytest.fixture
def backend_killed_by_vector_writes(tenants):
    break_vector_writes(KILL_BACKEND_ON_VECTORS)
    yield
    repair_vector_writes()


@pytest.fixture
def failing_vector_search(tenants):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME COLUMN embedding TO embedding_aside")
        cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN embedding text")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DROP COLUMN embedding")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME COLUMN embedding_aside TO embedding")


def ask(client, text):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )


def assert_switched_off_once(caplog, optera_server, semantic_cache, action):
    assert semantic_cache.off_reason is not None and semantic_cache.off_reason.startswith(action)
    switched_off = [record for record in caplog.records if "semantic cache switched off" in record.getMessage()]
    assert len(switched_off) == 1 and switched_off[0].levelno == logging.ERROR
    ready = httpx.get(f"{optera_server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["semantic_cache"].startswith(f"off: {action}")


@pytest.mark.parametrize("fault", ["refused_vector_writes", "backend_killed_by_vector_writes"])
def test_a_failing_vector_write_keeps_the_answer_for_exact_hits(
    request, fault, openai_client, fake, semantic_cache, optera_server, caplog
):
    request.getfixturevalue(fault)
    caplog.set_level(logging.ERROR)
    first = ask(openai_client, "How do I reset my password?")
    assert first.http_response.status_code == 200 and first.headers["x-optera-cache"] == "miss"
    repeat = ask(openai_client, "How do I reset my password?")
    assert repeat.http_response.status_code == 200 and repeat.headers["x-optera-cache"] == "hit"
    assert repeat.parse().choices[0].message.content == "Echo: How do I reset my password?"
    wait_for(lambda: CacheEntry.objects.filter(embedding__isnull=True).count() == 1)
    assert not CacheEntry.objects.filter(embedding__isnull=False).exists()

    paraphrase = ask(openai_client, "how do i reset my password")
    assert paraphrase.http_response.status_code == 200 and paraphrase.headers["x-optera-cache"] == "miss"
    ask(openai_client, "What is the capital of France?")
    assert len(fake.requests) == 3
    assert_switched_off_once(caplog, optera_server, semantic_cache, "storing a vector failed")


def test_a_failing_vector_search_is_a_miss_not_an_error(
    failing_vector_search, openai_client, fake, semantic_cache, optera_server, caplog
):
    caplog.set_level(logging.ERROR)
    first = ask(openai_client, "How do I reset my password?")
    assert first.http_response.status_code == 200 and first.headers["x-optera-cache"] == "miss"
    second = ask(openai_client, "What is the capital of France?")
    assert second.http_response.status_code == 200 and second.headers["x-optera-cache"] == "miss"
    assert ask(openai_client, "How do I reset my password?").headers["x-optera-cache"] == "hit"
    assert len(fake.requests) == 2
    assert_switched_off_once(caplog, optera_server, semantic_cache, "vector search failed")


def test_readyz_is_ok_while_the_semantic_cache_works(optera_server, semantic_cache):
    ready = httpx.get(f"{optera_server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert "semantic_cache" not in ready.json()["checks"]
