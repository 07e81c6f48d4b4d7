"""Writes of cache entries: store, count hits, expire, forget a workspace; count verified semantic hits."""

import functools

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from cachestore import keys
from cachestore.models import (
    CacheEntry,
    CompressedPrompt,
    ConversationSummary,
    SemanticThresholdRaise,
    SemanticVerifyTally,
)
from optera.clients import BATCH, redis_client, redis_delete_matching
from optera.db.batches import delete_in_batches, delete_past_retention

EXPIRY_BATCH_SIZE = 2000


# One statement: the workspace must exist and not be deleted (the SELECT), and a concurrent
# duplicate refreshes the same row (ON CONFLICT). Written out rather than built by the ORM: it runs
# once per stored answer, and the ORM's INSERT plus a separate workspace check cost a round trip
# more and more CPU than PostgreSQL's own work (issue 18).
STORED_COLUMNS = (
    "kind",
    "context_hash",
    "model",
    "provider",
    "response",
    "usage",
    "cost_usd",
    "expires_at",
    "embedding",
    "fingerprint",
    "created_at",
)
# A SELECT list's values are not typed by the INSERT's columns: the vector's text needs its cast.
STORED_CASTS = {"embedding": "::vector"}


@functools.cache
def _store_entry_statement():
    from accounts.models import Workspace  # accounts imports this module: read at first use

    placeholders = ", ".join(f"%s{STORED_CASTS.get(column, '')}" for column in STORED_COLUMNS)
    return f"""
        INSERT INTO {CacheEntry._meta.db_table} (workspace_id, key_hash, hit_count, {", ".join(STORED_COLUMNS)})
        SELECT id, %s, 0, {placeholders}
        FROM {Workspace._meta.db_table} WHERE id = %s AND deleted_at IS NULL
        ON CONFLICT (workspace_id, key_hash) DO UPDATE
        SET {", ".join(f"{column} = EXCLUDED.{column}" for column in STORED_COLUMNS)}
        RETURNING id
    """


def cache_entry_store(
    *,
    workspace_id,
    kind,
    key_hash,
    context_hash,
    model,
    provider,
    response,
    usage,
    cost_usd,
    expires_at,
    embedding=None,
    fingerprint=None,
):
    """Store (or refresh) the entry for this key and return its id; a concurrent duplicate refreshes it.

    Raise WorkspaceGone when the workspace was deleted meanwhile (a request still in flight), so the
    caller keeps no copy of the answer anywhere.
    """
    stored_values = {
        "kind": kind,
        "context_hash": context_hash,
        "model": model,
        "provider": provider,
        "response": response,
        "usage": usage,
        "cost_usd": cost_usd,
        "expires_at": expires_at,
        "embedding": embedding,
        "fingerprint": fingerprint,
        "created_at": timezone.now(),
    }
    # Each value prepared by its model field, as the ORM's INSERT would (JSON, the vector's text).
    prepared = [
        CacheEntry._meta.get_field(column).get_db_prep_save(stored_values[column], connection)
        for column in STORED_COLUMNS
    ]
    try:
        # In a transaction, though it is one statement: when the INSERT takes its backend down (a
        # vector write on a pgvector built for another CPU), the rollback fails too, with no
        # SQLSTATE, which is how proxy.db tells that from a server shutting down (57P01) and the
        # semantic cache is switched off instead of the answer being dropped as in an outage.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_store_entry_statement(), [key_hash, *prepared, workspace_id])
            stored = cursor.fetchone()
    except IntegrityError:
        raise WorkspaceGone(workspace_id) from None  # purged while the statement ran
    if stored is None:
        raise WorkspaceGone(workspace_id)
    return stored[0]


class WorkspaceGone(Exception):
    """The workspace was deleted: nothing more may be cached for it."""


def cache_entries_record_hits(*, hits):
    """Add {entry id: hits} to the entries' counters."""
    now = timezone.now()
    for entry_id, count in hits.items():
        CacheEntry.objects.filter(pk=entry_id).update(hit_count=F("hit_count") + count, last_hit_at=now)


def cache_entries_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete expired entries, `batch_size` at a time, and return how many went."""
    now = now or timezone.now()
    return delete_in_batches(CacheEntry.objects.filter(expires_at__lte=now), batch_size=batch_size)


def shaping_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete compressed prompts, markers and summaries unused for their workspace's retention."""
    now = now or timezone.now()
    return sum(
        delete_past_retention(model.objects.all(), time_field="last_used_at", now=now, batch_size=batch_size)
        for model in (CompressedPrompt, ConversationSummary)
    )


def workspace_cache_forget(*, workspace_id, hot_tier=True, batch_size=EXPIRY_BATCH_SIZE):
    """Delete a workspace's cache entries, compressed prompts and summaries; with `hot_tier`, its Redis copies too.

    The Redis pass scans the keyspace, so a deletion request leaves it to the purge task; meanwhile
    the copies are unreachable, since only the workspace's (revoked) keys can read them.
    """
    deleted = 0
    for model in (CacheEntry, CompressedPrompt, ConversationSummary):
        deleted += delete_in_batches(model.objects.filter(workspace_id=workspace_id), batch_size=batch_size)
    return deleted + (_forget_hot_tier(workspace_id) if hot_tier else 0)


def _forget_hot_tier(workspace_id):
    """Delete the workspace's answers and single-flight claims from Redis; return how many keys went."""
    client = redis_client(BATCH)
    if client is None:
        return 0
    try:
        return sum(
            redis_delete_matching(client, pattern)
            for pattern in (keys.redis_cache_pattern(workspace_id), keys.redis_flight_pattern(workspace_id))
        )
    finally:
        client.close()


def conversation_summary_store(
    *, workspace_id, prefix_hash, summary_text, messages_summarised, tokens_before, tokens_after, model, cost_usd
):
    """Store a summary; when another request stored the same prefix first, keep theirs."""
    ConversationSummary.objects.get_or_create(
        workspace_id=workspace_id,
        prefix_hash=prefix_hash,
        defaults=dict(
            summary_text=summary_text,
            messages_summarised=messages_summarised,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            model=model,
            cost_usd=cost_usd,
        ),
    )


def compressed_prompt_store(*, workspace_id, prompt_hash, compressed_text, tokens_before, tokens_after):
    """Keep a system prompt's compressed text, or, when compressing saved nothing, a marker without text.

    The marker (empty text, tokens_after = tokens_before) stops the prompt being compressed again;
    keeping the "compressed" text of a prompt compression did not shorten would store the prompt
    itself, verbatim, which the privacy policy does not allow.
    """
    if tokens_after >= tokens_before:
        compressed_text, tokens_after = "", tokens_before
    CompressedPrompt.objects.get_or_create(
        workspace_id=workspace_id,
        prompt_hash=prompt_hash,
        defaults=dict(compressed_text=compressed_text, tokens_before=tokens_before, tokens_after=tokens_after),
    )


# An automatic raise adds this to the semantic threshold, never past the cap: at 1.0 only an
# identical embedding would hit, which the exact cache already serves.
THRESHOLD_RAISE_STEP = 0.02
THRESHOLD_RAISE_CAP = 0.99
# A window that reaches this many times the workspace's minimum samples without a raise starts
# again, so that months of agreement cannot dilute a problem that starts today.
WINDOW_RESTART_FACTOR = 10


def semantic_verify_record(*, workspace_id, agreed):
    """Count one verified semantic hit; raise the workspace's threshold when its window says so.

    Return the SemanticThresholdRaise made, or None. The raise rule: once the window holds at
    least `verify_min_samples` samples and more than `verify_disagreement_bound` of them
    disagreed, the threshold rises by THRESHOLD_RAISE_STEP (capped at THRESHOLD_RAISE_CAP) and
    the window starts again. The counts move with F() updates inside one transaction, which
    holds the tally's row lock until the rule has been applied: concurrent samples from any
    process count once each and cannot raise twice on the same evidence.
    """
    from accounts.models import WorkspaceSettings  # accounts imports this module: read at first use

    with transaction.atomic():
        SemanticVerifyTally.objects.get_or_create(workspace_id=workspace_id)
        disagreed = 0 if agreed else 1
        SemanticVerifyTally.objects.filter(workspace_id=workspace_id).update(
            samples=F("samples") + 1,
            agreements=F("agreements") + (1 - disagreed),
            disagreements=F("disagreements") + disagreed,
            window_samples=F("window_samples") + 1,
            window_disagreements=F("window_disagreements") + disagreed,
            updated_at=timezone.now(),
        )
        tally = SemanticVerifyTally.objects.get(workspace_id=workspace_id)
        workspace_settings = WorkspaceSettings.objects.select_for_update().filter(workspace_id=workspace_id).first()
        if workspace_settings is None:
            return None
        if tally.window_samples < workspace_settings.verify_min_samples:
            return None
        bound = workspace_settings.verify_disagreement_bound
        over_bound = tally.window_disagreements > bound * tally.window_samples
        before = workspace_settings.semantic_threshold
        if not over_bound or before >= THRESHOLD_RAISE_CAP:
            if tally.window_samples >= WINDOW_RESTART_FACTOR * workspace_settings.verify_min_samples:
                _restart_window(workspace_id)
            return None
        after = round(min(before + THRESHOLD_RAISE_STEP, THRESHOLD_RAISE_CAP), 4)
        WorkspaceSettings.objects.filter(workspace_id=workspace_id).update(
            semantic_threshold=after, updated_at=timezone.now()
        )
        _restart_window(workspace_id)
        return SemanticThresholdRaise.objects.create(
            workspace_id=workspace_id,
            threshold_before=before,
            threshold_after=after,
            window_samples=tally.window_samples,
            window_disagreements=tally.window_disagreements,
            disagreement_bound=bound,
        )


def _restart_window(workspace_id):
    SemanticVerifyTally.objects.filter(workspace_id=workspace_id).update(window_samples=0, window_disagreements=0)
