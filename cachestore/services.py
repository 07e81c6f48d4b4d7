"""Writes of cache entries: store, count hits, expire, forget a workspace."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary

EXPIRY_BATCH_SIZE = 2000


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
    """Store (or refresh) the entry for this key and return its id; a concurrent duplicate is not an error."""
    values = dict(
        kind=kind,
        context_hash=context_hash,
        model=model,
        provider=provider,
        response=response,
        usage=usage,
        cost_usd=cost_usd,
        expires_at=expires_at,
        embedding=embedding,
        fingerprint=fingerprint,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            entry, _ = CacheEntry.objects.update_or_create(
                workspace_id=workspace_id, key_hash=key_hash, defaults=values
            )
            return entry.pk
    except IntegrityError:
        return None  # another process stored the same answer first


def cache_entries_record_hits(*, hits):
    """Add {entry id: hits} to the entries' counters."""
    now = timezone.now()
    for entry_id, count in hits.items():
        CacheEntry.objects.filter(pk=entry_id).update(hit_count=F("hit_count") + count, last_hit_at=now)


def cache_entries_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete expired entries, `batch_size` at a time, and return how many went."""
    now = now or timezone.now()
    deleted_total = 0
    while True:
        expired_ids = list(CacheEntry.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch_size])
        if not expired_ids:
            return deleted_total
        deleted, _ = CacheEntry.objects.filter(pk__in=expired_ids).delete()
        deleted_total += deleted


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
    CompressedPrompt.objects.get_or_create(
        workspace_id=workspace_id,
        prompt_hash=prompt_hash,
        defaults=dict(compressed_text=compressed_text, tokens_before=tokens_before, tokens_after=tokens_after),
    )
