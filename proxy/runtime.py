"""The long-lived parts of one proxy process, made once inside its event loop."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from proxy.account.feed import RequestFeed
from proxy.account.log_writer import LogWriter
from proxy.account.loop_lag import LoopLagMonitor
from proxy.account.metrics import ProxyMetrics
from proxy.account.prices import PriceBook
from proxy.admit.budgets import BudgetGate
from proxy.admit.counters import Counters
from proxy.admit.credentials import KeyCache
from proxy.admit.limits import RateLimiter
from proxy.admit.quotas import QuotaGate
from proxy.forward.upstream import UpstreamClient
from proxy.lookup.exact import ResponseCache
from proxy.lookup.semantic import SemanticCache
from proxy.lookup.single_flight import SingleFlight
from proxy.lookup.verify_sampling import VerifySampler
from proxy.memo import BoundedMemo
from proxy.shape.compression import PromptCompressor
from proxy.shape.summaries import SummaryEngine

KEY_USE_REPORT_SECONDS = 60
# At shutdown, background work (cache stores, accounting) gets this long to finish before it is cancelled.
SHUTDOWN_GRACE_SECONDS = 5
logger = logging.getLogger(__name__)


class BackgroundTasks:
    """Every task that outlives its request: kept so it is not collected, awaited or cancelled at shutdown."""

    def __init__(self):
        self._tasks = set()

    @property
    def pending(self):
        """How many tasks are still running (read by tests waiting for a quiet server)."""
        return len(self._tasks)

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, *, timeout):
        """Wait up to `timeout` seconds for the running tasks, then cancel what is left."""
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)


class ProxyRuntime:
    def __init__(self):
        # Seconds since the epoch, for the gaps between a conversation's turns; replaceable so a
        # test or a benchmark can show an hour of conversation without waiting an hour.
        self.clock = import_string(settings.OPTERA_CLOCK)
        self.background = BackgroundTasks()
        self.keys = KeyCache()
        counters = Counters()
        self.rate_limiter = RateLimiter(counters)
        self.quotas = QuotaGate(counters, self.background)
        self.budgets = BudgetGate(counters, self.quotas, self.background)
        self.upstream = UpstreamClient()
        self.prices = PriceBook(self.background)
        self.metrics = ProxyMetrics()
        self.loop_lag = LoopLagMonitor(self.metrics.loop_lag)
        self.loop_lag.start()
        self.feed = RequestFeed(self.background)
        self.logs = LogWriter(self.background, metrics=self.metrics)
        self.cache = ResponseCache(self.background)
        self.flights = SingleFlight(self.cache, self.background)
        self.semantic = SemanticCache()
        self.verify_sampler = VerifySampler()
        self.summaries = SummaryEngine()
        self.compressor = PromptCompressor()
        self._key_use_reported = BoundedMemo(ttl_seconds=KEY_USE_REPORT_SECONDS)

    async def close(self):
        """Finish background work, write buffered logs and close the upstream connections."""
        await self.loop_lag.stop()
        await self.background.drain(timeout=SHUTDOWN_GRACE_SECONDS)
        await self.logs.close()
        await self.upstream.close()

    def run_in_background(self, coroutine):
        """Start a task that outlives the request (kept, and awaited or cancelled at shutdown)."""
        return self.background.spawn(coroutine)

    def note_key_used(self, api_key_id):
        """Tell the worker a key was used, at most once a minute per key (a task, off the request path)."""
        if api_key_id in self._key_use_reported:
            return
        self._key_use_reported.put(api_key_id, True)
        self.run_in_background(self._enqueue_key_used(api_key_id, timezone.now().isoformat()))

    def remember_ahead(self, records, budgets, limits):
        """Hold key records, budgets and plan limits read ahead at start (proxy.warm_up.read_active_keys_ahead)."""
        for record in records:
            self.keys.remember(record)
        for workspace_id, workspace_budgets in budgets.items():
            self.budgets.remember(workspace_id, workspace_budgets)
        for workspace_id, workspace_limits in limits.items():
            self.quotas.remember(workspace_id, workspace_limits)

    async def _enqueue_key_used(self, api_key_id, used_at):
        from accounts.tasks import api_key_mark_used

        try:
            await sync_to_async(api_key_mark_used.delay, thread_sensitive=False)(api_key_id, used_at)
        except Exception:  # the broker being down must not fail requests
            logger.warning("could not enqueue api_key_mark_used", exc_info=True)
