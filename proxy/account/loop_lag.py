"""Event-loop lag: how late the loop runs a timer that is due, sampled into /metrics.

Every request's coroutine waits behind whatever holds the loop at that moment (a synchronous call
that should have been off it, a burst of parsing); this wait is what a tail latency under
concurrency is made of, and the one figure that tells it from a slow provider or database.
"""

import asyncio
import contextlib

SAMPLE_SECONDS = 0.25


class LoopLagMonitor:
    """Sleeps SAMPLE_SECONDS at a time and observes how much longer than that each sleep took."""

    def __init__(self, histogram):
        self._histogram = histogram
        self._task = None

    def start(self):
        """Start sampling on the running loop (once; later calls do nothing)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._sample())

    async def stop(self):
        if self._task is not None:
            self._task.cancel()
            # A runtime closed from another loop than the one it started on (the test servers share
            # one application) can only cancel the sampler: awaiting it there raises.
            if self._task.get_loop() is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def _sample(self):
        loop = asyncio.get_running_loop()
        while True:
            asked_at = loop.time()
            await asyncio.sleep(SAMPLE_SECONDS)
            self._histogram.observe(max(loop.time() - asked_at - SAMPLE_SECONDS, 0.0))
