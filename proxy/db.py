"""Database work from the event loop: run in a worker thread, on a connection known to be usable.

The raw /v1 handler sends none of Django's request signals, so nothing else would retire a
connection that PostgreSQL dropped (a restart, an idle timeout) or that passed CONN_MAX_AGE.

When PostgreSQL cannot be reached, the error becomes `DatabaseUnavailable`: a 503 with
Retry-After if nothing catches it, and the signal for callers that can go on without the
database (stale key records, a cache miss, a buffered log row) to do so.
"""

import asyncio

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from proxy.errors import ProxyError
from proxy.memo import MISSING, BoundedMemo

# The X-Optera-Degraded reason of a request served without the database.
DATABASE = "database"
# SQLSTATEs of a server going away (admin_shutdown, crash_shutdown, cannot_connect_now): an outage
# reached mid-statement, not an error of the statement. A statement that kills its own backend
# instead loses the connection with no SQLSTATE at all.
SERVER_GOING_AWAY = {"57P01", "57P02", "57P03"}
# How long a client is told to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 5
# How long requests wait for a shared read of a key record before the last value read serves.
READ_TIMEOUT_SECONDS = 5


class DatabaseUnavailable(ProxyError):
    """PostgreSQL could not be reached (stopped, restarting, or the network to it is down).

    `mid_statement` tells a connection lost while a statement ran from one that could not be
    made: the first is what a statement that kills its backend (a broken extension) looks like.
    """

    def __init__(self, *, mid_statement):
        self.mid_statement = mid_statement
        super().__init__(
            503,
            "Optera's database is unavailable for a moment; retry shortly",
            code="database_unavailable",
            error_type="server_error",
            headers=[("retry-after", str(RETRY_AFTER_SECONDS))],
        )


def _with_usable_connection(function, args, kwargs):
    close_old_connections()
    try:
        # Connect (or check a kept connection) before the work, so an unreachable server is told
        # apart from a statement that lost its connection.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except (OperationalError, InterfaceError) as error:
        raise DatabaseUnavailable(mid_statement=False) from error
    try:
        return function(*args, **kwargs)
    except (OperationalError, InterfaceError) as error:
        if connection.is_usable():
            raise  # an error of the statement itself (a lock timeout, a deadlock), not of the connection
        going_away = getattr(error.__cause__, "sqlstate", None) in SERVER_GOING_AWAY
        raise DatabaseUnavailable(mid_statement=not going_away) from error


async def in_db_thread(function, *args, **kwargs):
    """Return `function(*args, **kwargs)`, run in a worker thread that may use the ORM."""
    return await sync_to_async(_with_usable_connection, thread_sensitive=False)(function, args, kwargs)


class LastKnown:
    """Values read from the database, each trusted for `ttl_seconds`; while it is away, the last one read.

    `get` returns (value, stale). A value older than `outage_seconds` is not served stale: the
    request gets the 503 instead. Requests that miss the same key together share one read: when a
    value expires under load, every request in flight would otherwise start its own (32 reads of
    one key record at concurrency 32, every `ttl_seconds`, measured as the p99 of that load).
    """

    def __init__(self, *, ttl_seconds, outage_seconds, read_timeout_seconds=READ_TIMEOUT_SECONDS):
        self._fresh = BoundedMemo(ttl_seconds=ttl_seconds)
        self._last = BoundedMemo(ttl_seconds=outage_seconds)
        self._read_timeout_seconds = read_timeout_seconds
        self._reading = {}

    async def get(self, key, function, **kwargs):
        """Return (the value of `function(**kwargs)` for `key`, stale), reading the database only when needed."""
        value = self._fresh.get(key, MISSING)
        if value is not MISSING:
            return value, False
        reading = self._reading.get(key)
        if reading is None or reading.get_loop() is not asyncio.get_running_loop():
            reading = asyncio.ensure_future(self._read(key, function, kwargs))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._read_finished(key, done))
        try:
            # Shielded: a waiter that goes away (its client hung up) or stops waiting does not
            # cancel the others' read. Bounded: a read hung on a half-open connection would
            # otherwise hold every request of this key, where before it held one thread's.
            return await asyncio.wait_for(asyncio.shield(reading), self._read_timeout_seconds), False
        except (DatabaseUnavailable, TimeoutError) as error:
            value = self._last.get(key, MISSING)
            if value is not MISSING:
                return value, True
            if isinstance(error, TimeoutError):
                raise DatabaseUnavailable(mid_statement=False) from error
            raise

    async def _read(self, key, function, kwargs):
        value = await in_db_thread(function, **kwargs)
        self.put(key, value)
        return value

    def _read_finished(self, key, reading):
        self._reading.pop(key, None)
        if not reading.cancelled():
            reading.exception()  # retrieved here too, in case every waiter went away before it came

    def put(self, key, value):
        """Remember `value` for `key` as just read (a warm start reads many at once)."""
        self._fresh.put(key, value)
        self._last.put(key, value)
