"""Single-flight: concurrent identical misses wait for the first one instead of each paying the provider.

Within a process the waiters share a future; across processes a Redis lock marks the leader
when Redis is configured (without it each process leads its own flights).
"""

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

from cachestore import keys
from optera.clients import REQUEST_PATH, redis_client

WAIT_SECONDS = 60
POLL_SECONDS = 0.05
RELEASE_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flight:
    """How a miss goes on: it leads (calls upstream, then `land`), or it waited and maybe got the leader's answer.

    A waiter without an answer (the leader failed, or the wait timed out) calls upstream itself
    and must not land: the flight is not its own.
    """

    leads: bool
    answer: object = None


LEADS = Flight(leads=True)
WAITED_IN_VAIN = Flight(leads=False)


class SingleFlight:
    def __init__(self, cache, background):
        self._cache = cache
        self._background = background
        self._flights = {}
        self._lock_tokens = {}
        self._redis = redis_client(REQUEST_PATH, asynchronous=True)

    async def join(self, workspace_id, key_hash):
        """Return LEADS when this request leads, else the Flight it waited on (with the answer, if one came)."""
        flight_key = (workspace_id, key_hash)
        flight = self._flights.get(flight_key)
        if flight is None and await self._claim_across_processes(workspace_id, key_hash):
            self._flights[flight_key] = asyncio.get_running_loop().create_future()
            return LEADS
        if flight is not None:
            try:
                await asyncio.wait_for(asyncio.shield(flight), WAIT_SECONDS)
            except TimeoutError:
                return WAITED_IN_VAIN
            return self._waited(await self._cache.get(workspace_id, key_hash))
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            answer = await self._cache.get(workspace_id, key_hash)
            if answer is not None:
                return self._waited(answer)
            if not await self._lock_held(workspace_id, key_hash):
                return WAITED_IN_VAIN
        return WAITED_IN_VAIN

    @staticmethod
    def _waited(answer):
        return WAITED_IN_VAIN if answer is None else Flight(leads=False, answer=answer)

    def land(self, workspace_id, key_hash):
        """End this request's leadership, waking the requests that waited for it."""
        flight = self._flights.pop((workspace_id, key_hash), None)
        if flight is not None and not flight.done():
            flight.set_result(None)
        token = self._lock_tokens.pop((workspace_id, key_hash), None)
        if token is not None:
            self._background.spawn(self._release_lock(workspace_id, key_hash, token))

    @staticmethod
    def _lock_key(workspace_id, key_hash):
        return keys.redis_flight_key(workspace_id, key_hash)

    async def _claim_across_processes(self, workspace_id, key_hash):
        if self._redis is None:
            return True
        token = secrets.token_hex(8)
        try:
            claimed = await self._redis.set(self._lock_key(workspace_id, key_hash), token, nx=True, ex=WAIT_SECONDS)
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
