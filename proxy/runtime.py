"""The long-lived parts of one proxy process, made once inside its event loop."""

import asyncio
import logging
import time

from asgiref.sync import sync_to_async
from django.utils import timezone

from proxy.accounting import LogWriter, PriceBook
from proxy.auth import KeyCache
from proxy.cache import ResponseCache
from proxy.compression import PromptCompressor
from proxy.feed import RequestFeed
from proxy.metrics import ProxyMetrics
from proxy.ratelimit import RateLimiter
from proxy.semantic import SemanticCache
from proxy.summaries import SummaryEngine
from proxy.upstream import UpstreamClient

KEY_USE_REPORT_SECONDS = 60
logger = logging.getLogger(__name__)


class ProxyRuntime:
    def __init__(self):
        self.keys = KeyCache()
        self.rate_limiter = RateLimiter()
        self.upstream = UpstreamClient()
        self.prices = PriceBook()
        self.metrics = ProxyMetrics()
        self.feed = RequestFeed(self.run_in_background)
        self.logs = LogWriter(on_record=self._record_finished)
        self.cache = ResponseCache()
        self.semantic = SemanticCache()
        self.summaries = SummaryEngine()
        self.compressor = PromptCompressor()
        self._key_use_reported = {}
        self._background = set()

    async def close(self):
        """Write buffered logs and close the upstream connections."""
        await self.logs.flush()
        await self.upstream.close()

    def _record_finished(self, record):
        """Count a finished request and show it on its workspace's live feed."""
        self.metrics.observe(record)
        self.feed.publish(record)

    def run_in_background(self, coroutine):
        """Start a task that outlives the request; keep a reference so it is not collected."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def note_key_used(self, api_key_id):
        """Tell the worker a key was used, at most once a minute per key (a task, off the request path)."""
        now = time.monotonic()
        if now - self._key_use_reported.get(api_key_id, -KEY_USE_REPORT_SECONDS) < KEY_USE_REPORT_SECONDS:
            return
        self._key_use_reported[api_key_id] = now
        self.run_in_background(self._enqueue_key_used(api_key_id, timezone.now().isoformat()))

    async def _enqueue_key_used(self, api_key_id, used_at):
        from accounts.tasks import api_key_mark_used

        try:
            await sync_to_async(api_key_mark_used.delay, thread_sensitive=False)(api_key_id, used_at)
        except Exception:  # the broker being down must not fail requests
            logger.warning("could not enqueue api_key_mark_used", exc_info=True)
