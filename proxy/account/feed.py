"""Publish finished requests to the live feed (analytics.consumers) of the workspaces being watched.

Whether anyone watches a workspace is read from Django's cache at most every few seconds per
workspace, so a request to an unwatched workspace costs one dictionary look-up here.
"""

import logging

from channels.layers import get_channel_layer
from django.core.cache import cache

from analytics.consumers import feed_group, feed_watch_key
from proxy.memo import BoundedMemo

WATCH_CHECK_SECONDS = 2
logger = logging.getLogger(__name__)


class RequestFeed:
    def __init__(self, background):
        self._background = background
        # workspace id -> whether it was watched when the flag was last read (forgotten after a few seconds)
        self._watched = BoundedMemo(ttl_seconds=WATCH_CHECK_SECONDS)

    def publish(self, record):
        """Send the record to its workspace's feed, in the background, if someone may be watching."""
        if record.workspace_id is None or self._watched.get(record.workspace_id) is False:
            return
        self._background.spawn(self._publish(record.workspace_id, feed_message(record)))

    async def _publish(self, workspace_id, message):
        try:
            watched = self._watched.get(workspace_id)
            if watched is None:
                watched = bool(await cache.aget(feed_watch_key(workspace_id)))
                self._watched.put(workspace_id, watched)
            if watched:
                await get_channel_layer().group_send(
                    feed_group(workspace_id), {"type": "request.logged", "request": message}
                )
        except Exception:  # the feed is a convenience; it must never disturb serving
            logger.warning("could not publish request to the live feed", exc_info=True)


def feed_message(record):
    """Return what the feed shows of one request: its accounting, never its text or the caller's IP."""
    usage = record.usage
    return {
        "request_id": record.request_id,
        "endpoint": record.endpoint,
        "model_requested": record.model_requested,
        "model_used": record.model_used,
        "provider": record.provider,
        "stream": record.stream,
        "status_code": record.status_code,
        "error_type": record.error_type,
        "cache_status": record.cache_status,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_usd": str(record.cost_usd),
        "savings": record.savings,
        "overhead_ms": round(record.overhead_ms(), 3),
        "total_ms": round(record.elapsed_ms(), 3),
        "route_reason": record.route_reason,
    }
