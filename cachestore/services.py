"""Writes of cache entries: store, count hits, expire, forget a workspace."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cachestore.models import CacheEntry

EXPIRY_BATCH_SIZE = 2000


def cache_entry_store(*, workspace_id, kind, key_hash, context_hash, model, provider, response, usage, cost_usd,
                      expires_at, embedding=None, fingerprint=None):
    """Store (or refresh) the entry for this key and return its id; a concurrent duplicate is not an error."""
    values = dict(kind=kind, context_hash=context_hash, model=model, provider=provider, response=response, usage=usage,
                  cost_usd=cost_usd, expires_at=expires_at, embedding=embedding, fingerprint=fingerprint,
                  created_at=timezone.now())
    try:
        with transaction.atomic():
            entry, _ = CacheEntry.objects.update_or_create(workspace_id=workspace_id, key_hash=key_hash,
                                                           defaults=values)
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
