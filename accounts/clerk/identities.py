"""Link Clerk users to Django users: by Clerk user id, else by a verified email, else a new user."""

import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.models import ClerkIdentity

logger = logging.getLogger(__name__)


def clerk_identity_find(*, clerk_user_id):
    """Return the identity (with its user) linked to this Clerk user, or None."""
    return ClerkIdentity.objects.select_related("user").filter(clerk_user_id=clerk_user_id).first()


def clerk_identity_link(*, clerk_user_id, email=None):
    """Return the identity of this Clerk user, linking the user with this email or a new user first.

    `email` must be one Clerk has verified, or None: linking by it hands over that account.
    """
    identity = clerk_identity_find(clerk_user_id=clerk_user_id)
    if identity is not None:
        return identity
    try:
        with transaction.atomic():
            user = _linkable_user(email) or _new_user(clerk_user_id=clerk_user_id, email=email)
            identity = ClerkIdentity.objects.create(user=user, clerk_user_id=clerk_user_id)
    except IntegrityError:
        # A concurrent request (or webhook) linked this Clerk user first: use its link.
        identity = clerk_identity_find(clerk_user_id=clerk_user_id)
        if identity is None:
            raise
        return identity
    logger.info("Clerk user %s linked to user %s", clerk_user_id, identity.user_id)
    return identity


def clerk_user_sync(*, clerk_user_id, email=None):
    """Link (or create) the user of this Clerk user and give it Clerk's verified email, if any."""
    identity = clerk_identity_link(clerk_user_id=clerk_user_id, email=email)
    user = identity.user
    if email and user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    return user


def clerk_user_deactivate(*, clerk_user_id):
    """Deactivate the user linked to this Clerk user; keep its data and the link. Return whether one was."""
    updated = get_user_model().objects.filter(clerk_identity__clerk_user_id=clerk_user_id).update(is_active=False)
    if updated:
        logger.info("Clerk user %s deleted: its user is deactivated", clerk_user_id)
    return bool(updated)


def _linkable_user(email):
    if not email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if len(matches) != 1:
        return None
    user = matches[0]
    # Staff accounts are never taken over by an email claim (an operator links those in the admin);
    # an account already linked to another Clerk user stays that user's.
    if not user.is_active or user.is_staff or user.is_superuser or ClerkIdentity.objects.filter(user=user).exists():
        return None
    return user


def _new_user(*, clerk_user_id, email):
    # Clerk holds the password; the Django user gets none it could sign in with.
    return get_user_model().objects.create_user(username=clerk_user_id, email=email or "")
