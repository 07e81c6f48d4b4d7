"""The batched request-log writer: rows leave the request path and reach PostgreSQL within a second."""

import asyncio
import logging

from django.conf import settings

from analytics import services as analytics_services
from proxy.db import in_db_thread

MAX_BUFFERED_LOGS = 50_000
logger = logging.getLogger(__name__)


class LogWriter:
    """Buffers request records and writes them in batches, off the request path."""

    def __init__(self, background):
        self._background = background
        self._buffer = []
        self._task = None

    def add(self, record):
        """Buffer the record's row (called only by the account stage, once per request)."""
        if len(self._buffer) >= MAX_BUFFERED_LOGS:
            logger.error("request log buffer full; dropping a record")
            return
        self._buffer.append(record.to_row())
        if self._task is None or self._task.done():
            self._task = self._background.spawn(self._flush_later())

    async def _flush_later(self):
        # Loop until the buffer stays empty: rows added while a write is in flight would otherwise
        # wait for the next request, which may never come.
        while self._buffer:
            await asyncio.sleep(settings.OPTERA_LOG_FLUSH_SECONDS)
            await self.flush()

    async def close(self):
        """Stop waiting for the next batch and write what is buffered now (at shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await self.flush()

    async def flush(self):
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        try:
            await in_db_thread(_write_rows, rows)
        except Exception:  # a failed write must not break serving; the rows are reported and dropped
            logger.exception("could not write %d request logs", len(rows))


def _write_rows(rows):
    """Store the rows and their daily rollups; rows the database refuses are dropped, the others kept."""
    stored = analytics_services.request_logs_store(rows=rows)
    if stored < len(rows):
        logger.info("dropped %d request logs the database refused", len(rows) - stored)
