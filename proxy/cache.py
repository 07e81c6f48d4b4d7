"""The cache on the request path: exact look-ups (Redis hot tier, then PostgreSQL), single-flight, storing.

Lookups and writes to PostgreSQL run in threads; storing happens after the answer has gone out.
"""

import asyncio
import dataclasses
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import orjson
from django.conf import settings
from django.utils import timezone

from accounts.models import CacheMode
from cachestore import keys, selectors, services
from proxy.db import in_db_thread
from proxy.errors import ProxyError

MODE_ORDER = {CacheMode.OFF: 0, CacheMode.EXACT: 1, CacheMode.SEMANTIC: 2}
SINGLE_FLIGHT_WAIT_SECONDS = 60
SINGLE_FLIGHT_POLL_SECONDS = 0.05
# The in-process tier keeps an answer at most this long, like the key cache: a purge or a deleted
# workspace is honoured everywhere within seconds.
LOCAL_TIER_SECONDS = 5
LOCAL_TIER_MAX_ENTRIES = 10_000
HIT_COUNT_FLUSH_SECONDS = 1
RELEASE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
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


def effective_mode(workspace_mode, header):
    """A request may narrow its workspace's cache mode (off < exact < semantic), never widen it."""
    if not header:
        return workspace_mode
    requested = header.strip().lower()
    if requested not in MODE_ORDER:
        raise ProxyError(400, "X-Optera-Cache must be off, exact or semantic", param="X-Optera-Cache")
    return requested if MODE_ORDER[requested] < MODE_ORDER[workspace_mode] else workspace_mode


def _header_number(header, convert, name, description):
    """Parse a numeric request header, answering 400 (never 500) for anything else."""
    try:
        value = convert(header)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise ProxyError(400, f"{name} must be {description}", param=name)
    return value


def effective_ttl(workspace_ttl, header):
    """A request may shorten the workspace's TTL with X-Optera-Cache-TTL, never lengthen it."""
    if not header:
        return workspace_ttl
    seconds = _header_number(header, int, "X-Optera-Cache-TTL", "a whole number of seconds")
    if seconds < 1:
        raise ProxyError(400, "X-Optera-Cache-TTL must be at least 1", param="X-Optera-Cache-TTL")
    return min(seconds, workspace_ttl)


def effective_threshold(workspace_threshold, header):
    """A request may raise the similarity a semantic hit needs, never lower it."""
    if not header:
        return workspace_threshold
    requested = _header_number(header, float, "X-Optera-Similarity-Threshold", "a number")
    return min(max(requested, workspace_threshold), 1.0)


class ResponseCache:
    """Exact cache with a Redis hot tier when configured, and in-process single-flight."""

    def __init__(self):
        self._flights = {}
        self._lock_tokens = {}
        self._local = {}
        self._pending_hits = {}
        self._hit_flush = None
        self._redis = None
        if settings.REDIS_URL:
            import redis.asyncio

            self._redis = redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=0.25
            )

    @staticmethod
    def _redis_key(workspace_id, key_hash):
        return keys.redis_cache_key(workspace_id, key_hash)

    def _remember(self, workspace_id, key_hash, answer, expires_at):
        if len(self._local) >= LOCAL_TIER_MAX_ENTRIES:
            self._local.clear()
        self._local[(workspace_id, key_hash)] = (answer, min(expires_at, time.time() + LOCAL_TIER_SECONDS))

    async def get(self, workspace_id, key_hash):
        """Return a live CachedAnswer for this key, or None: this process first, then Redis, then PostgreSQL."""
        local = self._local.get((workspace_id, key_hash))
        if local is not None:
            if local[1] > time.time():
                return local[0]
            del self._local[(workspace_id, key_hash)]
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
            self._hit_flush = asyncio.ensure_future(self._flush_hits_later())

    async def _flush_hits_later(self):
        await asyncio.sleep(HIT_COUNT_FLUSH_SECONDS)
        hits, self._pending_hits = self._pending_hits, {}
        try:
            await in_db_thread(services.cache_entries_record_hits, hits=hits)
        except Exception:  # hit counts are statistics; losing a batch must not disturb serving
            logger.warning("cache: could not record %d hit counts", len(hits))

    async def lead_or_wait(self, workspace_id, key_hash):
        """Return None when this request leads (it must call `land`), else the leader's answer or None on timeout.

        Single-flight: concurrent identical misses wait for the first one instead of each paying
        the provider. Across processes a Redis lock marks the leader when Redis is configured.
        """
        flight_key = (workspace_id, key_hash)
        flight = self._flights.get(flight_key)
        if flight is None and await self._claim_across_processes(workspace_id, key_hash):
            self._flights[flight_key] = asyncio.get_running_loop().create_future()
            return None
        deadline = time.monotonic() + SINGLE_FLIGHT_WAIT_SECONDS
        if flight is not None:
            try:
                await asyncio.wait_for(asyncio.shield(flight), SINGLE_FLIGHT_WAIT_SECONDS)
            except TimeoutError:
                return False
            return await self.get(workspace_id, key_hash) or False
        while time.monotonic() < deadline:
            await asyncio.sleep(SINGLE_FLIGHT_POLL_SECONDS)
            answer = await self.get(workspace_id, key_hash)
            if answer is not None:
                return answer
            if not await self._lock_held(workspace_id, key_hash):
                return False
        return False

    def land(self, workspace_id, key_hash):
        """End this request's leadership, waking the requests that waited for it."""
        flight = self._flights.pop((workspace_id, key_hash), None)
        if flight is not None and not flight.done():
            flight.set_result(None)
        token = self._lock_tokens.pop((workspace_id, key_hash), None)
        if token is not None:
            asyncio.ensure_future(self._release_lock(workspace_id, key_hash, token))

    @staticmethod
    def _lock_key(workspace_id, key_hash):
        return f"optera:flight:{workspace_id}:{key_hash}"

    async def _claim_across_processes(self, workspace_id, key_hash):
        if self._redis is None:
            return True
        token = secrets.token_hex(8)
        try:
            claimed = await self._redis.set(
                self._lock_key(workspace_id, key_hash), token, nx=True, ex=SINGLE_FLIGHT_WAIT_SECONDS
            )
        except Exception:
            return True  # without Redis each process leads its own flights
        if claimed:
            self._lock_tokens[(workspace_id, key_hash)] = token
        return bool(claimed)

    async def _lock_held(self, workspace_id, key_hash):
        try:
            return bool(await self._redis.exists(self._lock_key(workspace_id, key_hash)))
        except Exception:
            return False

    async def _release_lock(self, workspace_id, key_hash, token):
        # Delete the lock only if it is still ours: after an expiry another process may hold it.
        try:
            await self._redis.eval(RELEASE_IF_OWNER, 1, self._lock_key(workspace_id, key_hash), token)
        except Exception:
            logger.warning("cache: could not release a single-flight lock; it expires on its own")
