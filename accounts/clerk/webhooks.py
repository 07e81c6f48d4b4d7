"""Clerk's user webhooks (`user.created`, `user.updated`, `user.deleted`), signed by Svix."""

import json
import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from svix.webhooks import Webhook, WebhookVerificationError

from accounts.clerk.identities import clerk_user_deactivate, clerk_user_sync

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def clerk_webhook(request):
    """Apply a Clerk user event; refuse a forged or stale one with 400 and change nothing."""
    if not settings.CLERK_WEBHOOK_SECRET:
        raise Http404("Clerk webhooks are not configured")
    # svix checks the signature and that the timestamp is within five minutes (old replays are
    # refused); a malformed signature header or body raises ValueError there, not its own error.
    try:
        Webhook(settings.CLERK_WEBHOOK_SECRET).verify(request.body, dict(request.headers))
        event = json.loads(request.body)
    except (WebhookVerificationError, ValueError) as error:
        logger.info("Clerk webhook refused: %s", error)
        return HttpResponseBadRequest("not a validly signed Clerk event")
    event_type = event.get("type") if isinstance(event, dict) else None
    if event_type not in ("user.created", "user.updated", "user.deleted"):
        logger.debug("Clerk webhook %s ignored", event_type)
        return HttpResponse(status=204)
    data = event.get("data")
    clerk_user_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(clerk_user_id, str) or not clerk_user_id:
        return HttpResponseBadRequest("the event names no user")
    if event_type == "user.deleted":
        # Deactivated, not deleted: the account's workspaces and records stay until deleted on purpose.
        clerk_user_deactivate(clerk_user_id=clerk_user_id)
    else:
        clerk_user_sync(clerk_user_id=clerk_user_id, email=primary_verified_email(data))
    return HttpResponse(status=204)


def primary_verified_email(data):
    """Return the Clerk user's primary email address if Clerk has verified it, else None."""
    primary_id = data.get("primary_email_address_id")
    for address in data.get("email_addresses") or []:
        if not isinstance(address, dict) or address.get("id") != primary_id:
            continue
        verification = address.get("verification") or {}
        if verification.get("status") == "verified" and isinstance(address.get("email_address"), str):
            return address["email_address"]
    return None
