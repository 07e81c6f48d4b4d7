"""The exact cache on the request path: this process, then Redis (when configured), then PostgreSQL.

Lookups and writes to PostgreSQL run in threads; storing happens after the answer has gone out.
"""

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import orjson
from django.utils import timezone

from cachestore import keys, selectors, services
from optera.clients import REQUEST_PATH, redis_client
from proxy.db import in_db_thread
from proxy.memo import BoundedMemo

# The in-process tier keeps an answer at most this long, like the key cache: a purge or a deleted
# workspace is honoured everywhere within seconds.
LOCAL_TIER_SECONDS = 5
HIT_COUNT_FLUSH_SECONDS = 1
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedAnswer:
    entry_id: int | None
    response: dict
    usage: dict
    cost_usd: Decimal
    model: str
    provider: str
    similarity: float | None = None

    @classmethod
    def from_entry(cls, entry, *, similarity=None):
        return cls(
            entry_id=entry.pk,
            response=entry.response,
            usage=entry.usage,
            cost_usd=entry.cost_usd,
            model=entry.model,
            provider=entry.provider,
            similarity=similarity,
        )


class ResponseCache:
    """Exact cache with an in-process tier and a Redis hot tier (when configured) in front of PostgreSQL."""

    def __init__(self, background):
        self._background = background
        self._local = BoundedMemo(ttl_seconds=LOCAL_TIER_SECONDS)
        self._pending_hits = {}
        self._hit_flush = None
        self._redis = redis_client(REQUEST_PATH, asynchronous=True)

    @staticmethod
    def _redis_key(workspace_id, key_hash):
        return keys.redis_cache_key(workspace_id, key_hash)

    def remember_completed(self, workspace_id, key_hash, answer, *, ttl_seconds):
        """Make a complete answer an exact hit in this process at once, before it is embedded and stored.

        Embedding the question (for the semantic cache) takes milliseconds to seconds on a cold
        process; a repeat sent meanwhile must still be an exact hit, not a semantic one.
        """
        self._remember(workspace_id, key_hash, answer, time.time() + ttl_seconds)

    def _remember(self, workspace_id, key_hash, answer, expires_at):
        seconds_left = min(expires_at - time.time(), LOCAL_TIER_SECONDS)
        if seconds_left > 0:
            self._local.put((workspace_id, key_hash), answer, ttl_seconds=seconds_left)

    async def get(self, workspace_id, key_hash):
        """Return a live CachedAnswer for this key, or None: this process first, then Redis, then PostgreSQL."""
        local = self._local.get((workspace_id, key_hash))
        if local is not None:
            return local
        answer, expires_at = await self._get_shared(workspace_id, key_hash)
        if answer is not None:
            self._remember(workspace_id, key_hash, answer, expires_at)
        return answer

    async def _get_shared(self, workspace_id, key_hash):
        if self._redis is not None:
            try:
                raw = await self._redis.get(self._redis_key(workspace_id, key_hash))
            except Exception:  # a Redis outage degrades to the database, never fails the request
                raw = None
                logger.warning("cache: Redis unavailable, reading PostgreSQL")
            if raw:
                stored = orjson.loads(raw)
                if stored["expires_at"] > time.time():
                    answer = CachedAnswer(
                        entry_id=stored["entry_id"],
                        response=stored["response"],
                        usage=stored["usage"],
                        cost_usd=Decimal(stored["cost_usd"]),
                        model=stored["model"],
                        provider=stored["provider"],
                    )
                    return answer, stored["expires_at"]
        entry = await in_db_thread(selectors.cache_entry_find_exact, workspace_id=workspace_id, key_hash=key_hash)
        if entry is None:
            return None, 0.0
        return CachedAnswer.from_entry(entry), entry.expires_at.timestamp()

    async def put(
        self, *, workspace_id, key_hash, ttl_seconds, answer, kind, context_hash="", embedding=None, fingerprint=None
    ):
        expires_at = timezone.now() + timedelta(seconds=ttl_seconds)
        try:
            entry_id = await self._store(
                workspace_id=workspace_id,
                kind=kind,
                key_hash=key_hash,
                context_hash=context_hash,
                answer=answer,
                expires_at=expires_at,
                embedding=embedding,
                fingerprint=fingerprint,
            )
        except services.WorkspaceGone:
            return  # deleted while this request was in flight: keep no copy, not even in Redis
        self._remember(workspace_id, key_hash, dataclasses.replace(answer, entry_id=entry_id), expires_at.timestamp())
        if self._redis is not None:
            payload = orjson.dumps(
                {
                    "entry_id": entry_id,
                    "response": answer.response,
                    "usage": answer.usage,
                    "cost_usd": str(answer.cost_usd),
                    "model": answer.model,
                    "provider": answer.provider,
                    "expires_at": expires_at.timestamp(),
                }
            )
            try:
                await self._redis.set(self._redis_key(workspace_id, key_hash), payload, ex=ttl_seconds)
            except Exception:
                logger.warning("cache: Redis unavailable, stored in PostgreSQL only")

    @staticmethod
    async def _store(*, workspace_id, kind, key_hash, context_hash, answer, expires_at, embedding, fingerprint):
        return await in_db_thread(
            services.cache_entry_store,
            workspace_id=workspace_id,
            kind=kind,
            key_hash=key_hash,
            context_hash=context_hash,
            model=answer.model,
            provider=answer.provider,
            response=answer.response,
            usage=answer.usage,
            cost_usd=answer.cost_usd,
            expires_at=expires_at,
            embedding=embedding,
            fingerprint=fingerprint,
        )

    def record_hit(self, entry_id):
        """Count a hit; counts are written in one batch a second rather than one UPDATE per hit."""
        if entry_id is None:
            return
        self._pending_hits[entry_id] = self._pending_hits.get(entry_id, 0) + 1
        if self._hit_flush is None or self._hit_flush.done():
            self._hit_flush = self._background.spawn(self._flush_hits_later())

    async def _flush_hits_later(self):
        await asyncio.sleep(HIT_COUNT_FLUSH_SECONDS)
        hits, self._pending_hits = self._pending_hits, {}
        try:
            await in_db_thread(services.cache_entries_record_hits, hits=hits)
        except Exception:  # hit counts are statistics; losing a batch must not disturb serving
            logger.warning("cache: could not record %d hit counts", len(hits))
