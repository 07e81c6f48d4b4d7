"""The batched request-log writer: rows leave the request path and reach PostgreSQL within a second.

While PostgreSQL is unreachable the rows wait in memory and are written once it is back. The
buffer is bounded: when full, the oldest row is dropped and counted (optera_request_logs_dropped),
so an outage longer than the buffer costs the oldest logs, never memory or a blocked request.
"""

import asyncio
import logging
from collections import deque

from django.conf import settings

from analytics import services as analytics_services
from proxy.db import DatabaseUnavailable, in_db_thread

MAX_BUFFERED_LOGS = 50_000
# Rows written per INSERT; a long outage's backlog goes out in batches of this size.
WRITE_BATCH = 2_000
# While the database is away, a write is tried again after this long (doubling, up to the cap).
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
logger = logging.getLogger(__name__)


class LogWriter:
    """Buffers request records and writes them in batches, off the request path."""

    def __init__(self, background, *, metrics=None, max_buffered=MAX_BUFFERED_LOGS):
        self._background = background
        self._metrics = metrics
        self._buffer = deque(maxlen=max_buffered)
        self._task = None

    @property
    def buffered(self):
        return len(self._buffer)

    def _put_back(self, rows):
        """Return unwritten rows to the front, in order; if rows arrived meanwhile, the oldest give way."""
        room = self._buffer.maxlen - len(self._buffer)
        dropped = max(len(rows) - room, 0)
        if dropped:
            self._count_dropped(dropped)
        self._buffer.extendleft(reversed(rows[dropped:]))

    def _count_dropped(self, count):
        if self._metrics is not None:
            self._metrics.logs_dropped.inc(count)
        logger.error("request log buffer full; dropped the %d oldest records", count)

    def add(self, record):
        """Buffer the record's row (called only by the account stage, once per request)."""
        if len(self._buffer) == self._buffer.maxlen:
            self._count_dropped(1)  # deque(maxlen) drops the oldest row as the new one goes in
        self._buffer.append(record.to_row())
        if self._task is None or self._task.done():
            self._task = self._background.spawn(self._flush_later())

    async def _flush_later(self):
        # Loop until the buffer stays empty: rows added while a write is in flight would otherwise
        # wait for the next request, which may never come.
        retry = RETRY_SECONDS
        while self._buffer:
            await asyncio.sleep(settings.OPTERA_LOG_FLUSH_SECONDS)
            try:
                await self.flush()
                retry = RETRY_SECONDS
            except DatabaseUnavailable:
                await asyncio.sleep(retry)
                retry = min(retry * 2, MAX_RETRY_SECONDS)

    async def close(self):
        """Stop waiting for the next batch and write what is buffered now (at shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        try:
            await self.flush()
        except DatabaseUnavailable:
            logger.error("database unavailable at shutdown: %d request logs not written", len(self._buffer))

    async def flush(self):
        """Write the buffered rows; raise DatabaseUnavailable (keeping them) when PostgreSQL is away."""
        while self._buffer:
            rows = [self._buffer.popleft() for _ in range(min(WRITE_BATCH, len(self._buffer)))]
            try:
                await in_db_thread(_write_rows, rows)
            except DatabaseUnavailable:
                self._put_back(rows)
                raise
            except Exception:  # a failed write must not break serving; the rows are reported and dropped
                logger.exception("could not write %d request logs", len(rows))


def _write_rows(rows):
    """Store the rows and their daily rollups; rows the database refuses are dropped, the others kept."""
    stored = analytics_services.request_logs_store(rows=rows)
    if stored < len(rows):
        logger.info("dropped %d request logs the database refused", len(rows) - stored)
