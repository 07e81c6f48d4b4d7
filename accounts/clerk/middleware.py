"""Sign in the Clerk user whose session token comes with a dashboard, API or WebSocket request."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from accounts.clerk.identities import clerk_identity_link
from accounts.clerk.tokens import InvalidClerkToken, clerk_config, clerk_verifier

logger = logging.getLogger(__name__)

SESSION_COOKIE = "__session"


class ClerkSessionMiddleware:
    """Make the linked user `request.user` when the request carries a valid Clerk session token.

    Goes after AuthenticationMiddleware. Nothing is stored in Django's session: every request is
    checked on its own token, so signing out of Clerk (or an expired token) ends access at once.
    An invalid token leaves the request as it was; it never authenticates and never fails it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if clerk_config() is not None:
            sign_in(request)
        return self.get_response(request)

    async def __acall__(self, request):
        if clerk_config() is not None and session_token(request)[0] is not None:
            await sync_to_async(sign_in)(request)
        return await self.get_response(request)


class ClerkWebsocketMiddleware(BaseMiddleware):
    """Give a WebSocket (the live request feed) the Clerk user of its `__session` cookie.

    Goes inside Channels' AuthMiddlewareStack, which parses the cookies. A browser cannot put an
    Authorization header on a WebSocket, so only the cookie counts here.
    """

    async def __call__(self, scope, receive, send):
        token = scope.get("cookies", {}).get(SESSION_COOKIE)
        if token and clerk_config() is not None:
            user = await database_sync_to_async(clerk_user_for_token)(token, where=scope.get("path", ""))
            if user is not None:
                scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def session_token(request):
    """Return (token, where it came from) for the request's Clerk session token, or (None, None)."""
    # /v1 is served by the proxy outside Django; its `Authorization` header carries an Optera key.
    if request.path_info.startswith("/v1/"):
        return None, None
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), "header"
    cookie = request.COOKIES.get(SESSION_COOKIE)
    if cookie:
        return cookie, "cookie"
    return None, None


def sign_in(request):
    """Set `request.user` to the linked user of a valid Clerk session token on the request."""
    token, source = session_token(request)
    if token is None:
        return
    user = clerk_user_for_token(token, where=request.path)
    if user is None:
        return
    request.user = request._cached_user = user

    async def auser():
        return user

    request.auser = auser
    if source == "header":
        # A browser never attaches an Authorization header on its own, so a request signed in by one
        # cannot be forged cross-site: CSRF tokens are for the cookie. Django's test client uses the
        # same flag.
        request._dont_enforce_csrf_checks = True


def clerk_user_for_token(token, *, where):
    """Return the active user linked to a valid Clerk session token, or None."""
    try:
        claims = clerk_verifier(clerk_config()).verify(token)
    except InvalidClerkToken as error:
        logger.info("Clerk session token refused on %s: %s", where, error)
        return None
    user = clerk_identity_link(clerk_user_id=claims["sub"], email=verified_email(claims)).user
    return user if user.is_active else None


def verified_email(claims):
    """Return the token's `email` claim (a custom claim of the session token), unless marked unverified."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return None
    return email
