"""Signed, expiring links: email confirmation and workspace invitations. Nothing secret is stored."""

from django.conf import settings
from django.core import signing

EMAIL_VERIFICATION_SALT = "optera.accounts.verify-email"
EMAIL_VERIFICATION_SECONDS = 3 * 24 * 3600
INVITATION_SALT = "optera.accounts.invitation"


def email_verification_token(*, user):
    return signing.dumps({"user": user.pk, "email": user.email}, salt=EMAIL_VERIFICATION_SALT, compress=True)


def read_email_verification(token):
    """Return (user id, email) of a valid confirmation token; raise signing.BadSignature otherwise."""
    payload = signing.loads(token, salt=EMAIL_VERIFICATION_SALT, max_age=EMAIL_VERIFICATION_SECONDS)
    return int(payload["user"]), str(payload["email"])


def invitation_token(*, invitation):
    return signing.dumps({"invitation": invitation.pk}, salt=INVITATION_SALT, compress=True)


def read_invitation(token):
    """Return the invitation id of a valid, unexpired token; raise signing.BadSignature otherwise."""
    payload = signing.loads(token, salt=INVITATION_SALT, max_age=settings.OPTERA_INVITATION_DAYS * 24 * 3600)
    return int(payload["invitation"])
