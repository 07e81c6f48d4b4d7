"""The live request feed: a WebSocket that shows a workspace's requests as they finish.

`ws://HOST/ws/workspaces/<id>/requests`, for a signed-in member of the workspace (Django session;
the browser's Origin must be an allowed host). Each message is one request's accounting (model,
status, cache, tokens, cost, savings, timings), never prompt text.

While a feed is open it marks the workspace as watched in Django's cache (Redis when configured,
so every proxy process sees it), and proxies publish only for watched workspaces: a workspace
nobody watches costs no channel-layer message per request.

Access is checked on connect and again at every refresh (OPTERA_FEED_REFRESH_SECONDS): a user
removed from the workspace, signed out, or whose password changed loses the feed within that
interval even when no event told this process (a removal in the admin, a sign-out elsewhere).
"""

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache

from accounts import selectors as account_selectors

logger = logging.getLogger(__name__)
FEED_WATCH_SECONDS = 60
# Application close codes (4000-4999): the browser can tell "sign in" from "not yours".
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_FOUND = 4404


def feed_group(workspace_id):
    return f"requests.{workspace_id}"


def feed_watch_key(workspace_id):
    return f"optera:feed:watched:{workspace_id}"


class RequestFeedConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        self.workspace_id = int(self.scope["url_route"]["kwargs"]["workspace_id"])
        membership = None
        if user is not None and user.is_authenticated:
            membership = await database_sync_to_async(account_selectors.membership_find)(
                user=user, workspace_id=self.workspace_id
            )
        if membership is None:
            # Accepted only to be closed: a refused handshake carries no reason a browser can read.
            await self.accept()
            signed_in = user is not None and user.is_authenticated
            await self.close(code=CLOSE_NOT_FOUND if signed_in else CLOSE_NOT_SIGNED_IN)
            return
        await self.channel_layer.group_add(feed_group(self.workspace_id), self.channel_name)
        await self.accept()
        self.watching = asyncio.ensure_future(self._keep_watching())

    async def disconnect(self, code):
        watching = getattr(self, "watching", None)
        if watching is None:
            return
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await self.channel_layer.group_discard(feed_group(self.workspace_id), self.channel_name)

    async def request_logged(self, event):
        await self.send_json(event["request"])

    async def member_removed(self, event):
        """Someone was removed from the workspace: if it is this socket's user, their feed ends now."""
        user = self.scope.get("user")
        if user is not None and user.pk == event["user_id"]:
            await self.close(code=CLOSE_NOT_FOUND)

    async def _keep_watching(self):
        while True:
            try:
                await cache.aset(feed_watch_key(self.workspace_id), True, timeout=FEED_WATCH_SECONDS)
            except Exception:  # Redis away for a moment: the feed goes quiet, then resumes
                logger.warning("live feed: could not mark workspace %s as watched", self.workspace_id, exc_info=True)
            await asyncio.sleep(settings.OPTERA_FEED_REFRESH_SECONDS)
            if not await self._still_allowed():
                await self.close(code=CLOSE_NOT_FOUND)
                return

    async def _still_allowed(self):
        """Whether the session still signs this user in and the user is still a member."""
        session = self.scope.get("session")
        user = self.scope.get("user")
        try:
            return await database_sync_to_async(account_selectors.feed_access_holds)(
                session_key=getattr(session, "session_key", None), user=user, workspace_id=self.workspace_id
            )
        except Exception:  # the database away for a moment: keep the feed, check at the next refresh
            logger.warning("live feed: could not re-check access to workspace %s", self.workspace_id)
            return True
