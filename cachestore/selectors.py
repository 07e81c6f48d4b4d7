"""Reads of cache entries. Every query filters on the workspace first."""

import datetime

from django.db import connection, transaction
from django.utils import timezone
from pgvector import Vector

from cachestore.models import (
    CacheEntry,
    CompressedPrompt,
    ConversationSummary,
    SemanticThresholdRaise,
    SemanticVerifyTally,
)

SEMANTIC_CANDIDATES = 3
# How stale a compressed prompt's or summary's recorded last use may be: they expire after
# the workspace's retention without use, which is counted in days.
LAST_USE_PRECISION = datetime.timedelta(days=1)
# What a workspace export holds of each kind of stored row: the answers, summaries and prompts
# themselves, not the keyed hashes and vectors that only serve look-ups.
EXPORTED_CACHE_ENTRY_FIELDS = (
    "kind",
    "model",
    "provider",
    "response",
    "usage",
    "cost_usd",
    "created_at",
    "expires_at",
    "hit_count",
    "last_hit_at",
)
EXPORTED_SUMMARY_FIELDS = (
    "summary_text",
    "messages_summarised",
    "tokens_before",
    "tokens_after",
    "model",
    "cost_usd",
    "created_at",
)
EXPORTED_COMPRESSED_PROMPT_FIELDS = ("compressed_text", "tokens_before", "tokens_after", "created_at")


def cache_entry_find_exact(*, workspace_id, key_hash, now=None):
    """Return the live entry for this key in this workspace, or None."""
    return (
        CacheEntry.objects.filter(workspace_id=workspace_id, key_hash=key_hash, expires_at__gt=now or timezone.now())
        .only("id", "response", "usage", "cost_usd", "model", "provider", "expires_at")
        .first()
    )


# Parameters: the query vector, workspace id, context hash, now, limit. Ordered by the distance, so
# PostgreSQL may walk the HNSW index; or, for a context of few rows, read them by the B-tree. Read
# with Model.objects.raw: the candidates hold these columns only (what the verifier and a served
# answer need), converted as the ORM converts them, and `distance` as an attribute.
SIMILAR_ENTRIES = f"""
    SELECT id, response, usage, cost_usd, model, provider, expires_at, fingerprint,
        embedding <=> %s::vector AS distance
    FROM {CacheEntry._meta.db_table}
    WHERE workspace_id = %s AND context_hash = %s AND expires_at > %s AND embedding IS NOT NULL
    ORDER BY distance
    LIMIT %s
"""


def cache_entry_find_similar(*, workspace_id, context_hash, embedding, limit=SEMANTIC_CANDIDATES, now=None):
    """Return up to `limit` live entries with this context, nearest first, as (entry, cosine similarity).

    The statement is written out: it runs on every semantic look-up, and building it through the
    ORM's query compiler cost more of the process's CPU than the search cost PostgreSQL (issue 18).
    """
    parameters = [Vector._to_db(embedding), workspace_id, context_hash, now or timezone.now(), limit]
    with transaction.atomic(), connection.cursor() as cursor:
        # pgvector 0.8: keep scanning the HNSW graph until enough rows pass the workspace filter
        # (SET LOCAL lasts until the end of this transaction).
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        entries = list(CacheEntry.objects.raw(SIMILAR_ENTRIES, parameters))
    return [(entry, 1.0 - float(entry.distance)) for entry in entries]


def conversation_summary_find_longest(*, workspace_id, prefix_hashes, now=None):
    """Return the summary covering the longest of these prefixes (hashes in prefix order), or None.

    Its last use is recorded (at most daily), since summaries unused for the retention expire.
    """
    summaries = {
        summary.prefix_hash: summary
        for summary in ConversationSummary.objects.filter(workspace_id=workspace_id, prefix_hash__in=prefix_hashes)
    }
    for prefix_hash in reversed(prefix_hashes):
        if prefix_hash in summaries:
            return _used(summaries[prefix_hash], now=now)
    return None


def compressed_prompt_find(*, workspace_id, prompt_hash, now=None):
    """Return the compressed prompt (or not-worth-compressing marker) stored under this hash, its use recorded."""
    found = CompressedPrompt.objects.filter(workspace_id=workspace_id, prompt_hash=prompt_hash).first()
    return None if found is None else _used(found, now=now)


def _used(row, *, now):
    """Record that `row` was used now, if its last recorded use is a day old: one write a day, not one a request."""
    now = now or timezone.now()
    if row.last_used_at < now - LAST_USE_PRECISION:
        type(row).objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def cache_entry_export_rows(*, workspace_id):
    """Return the workspace's cached answers as dicts of their exported fields, by id (a lazy query)."""
    return CacheEntry.objects.filter(workspace_id=workspace_id).order_by("pk").values(*EXPORTED_CACHE_ENTRY_FIELDS)


def conversation_summary_export_rows(*, workspace_id):
    """Return the workspace's conversation summaries as dicts of their exported fields, by id (a lazy query)."""
    return ConversationSummary.objects.filter(workspace_id=workspace_id).order_by("pk").values(*EXPORTED_SUMMARY_FIELDS)


def compressed_prompt_export_rows(*, workspace_id):
    """Return the workspace's compressed prompts as dicts of their exported fields, by id (a lazy query)."""
    return (
        CompressedPrompt.objects.filter(workspace_id=workspace_id)
        .order_by("pk")
        .values(*EXPORTED_COMPRESSED_PROMPT_FIELDS)
    )


def semantic_verify_summary(*, workspace_id):
    """Return the workspace's verified semantic hits: counts, agreement share and the last automatic raise."""
    tally = SemanticVerifyTally.objects.filter(workspace_id=workspace_id).first()
    samples = tally.samples if tally else 0
    agreements = tally.agreements if tally else 0
    return {
        "samples": samples,
        "agreements": agreements,
        "disagreements": tally.disagreements if tally else 0,
        "agreement_percent": 100.0 * agreements / samples if samples else None,
        "window_samples": tally.window_samples if tally else 0,
        "window_disagreements": tally.window_disagreements if tally else 0,
        "last_raise": SemanticThresholdRaise.objects.filter(workspace_id=workspace_id).first(),
    }
