"""Transactional email: recorded once per occasion, sent by a Celery task through Django's email backend.

`email_send` renders templates/emails/<template>.{subject.txt,txt,html} and records the message
in the caller's transaction; once it commits, `accounts.tasks.email_deliver` sends it through
settings.EMAIL_BACKEND, which is `ResendEmailBackend` below unless the operator chooses another
(SMTP, or the console for whole emails in development). The task retries with exponential
backoff while Resend is unreachable or answers 5xx or 429.
"""

import functools
import hashlib
import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr

import resend
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from resend.exceptions import ResendError

from accounts import signals
from accounts.models import OutboundEmail

logger = logging.getLogger(__name__)

# Longer than one request to Resend can take (the SDK's timeout is 30 s): a delivery still holding
# an email after this has died, and the broker's redelivery of its task may send it.
DELIVERY_LEASE = timedelta(minutes=5)
# A queued email never tried after this long lost its task (the broker was down at commit).
LOST_AFTER = timedelta(minutes=10)
KEY_MAX_LENGTH = OutboundEmail._meta.get_field("key").max_length


class EmailDeliveryDeferred(Exception):
    """The email backend could not send now (network, 5xx, 429): the task retries later."""


def email_send(*, to, template, context, idempotency_key=None):
    """Record an email to `to` and send it once the current transaction commits; return its OutboundEmail.

    With an `idempotency_key`, the occasion it names sends this email once, however often it is
    asked: a second call returns the first call's email and sends nothing.
    """
    # A subject is one line (a newline there would start a header of its own).
    subject = " ".join(render_to_string(f"emails/{template}.subject.txt", context).split())
    email, created = OutboundEmail.objects.get_or_create(
        key=_occasion_key(idempotency_key),
        defaults={
            "template": template,
            "to": to,
            "subject": subject,
            "text_body": render_to_string(f"emails/{template}.txt", context),
            "html_body": render_to_string(f"emails/{template}.html", context),
        },
    )
    if created:
        transaction.on_commit(functools.partial(_delivery_enqueue, email.pk))
    return email


def _occasion_key(idempotency_key):
    if idempotency_key is None:
        return f"email/{uuid.uuid4().hex}"  # no occasion named: every call is one
    if len(idempotency_key) <= KEY_MAX_LENGTH:
        return idempotency_key
    # Cutting a long key short could make two occasions one; a digest cannot.
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


def _delivery_enqueue(email_id):
    # A signal: accounts.tasks, which enqueues the delivery, imports this module (see accounts.apps).
    signals.email_queued.send(sender=OutboundEmail, email_id=email_id)


def email_deliver(*, email_id, last_attempt=False):
    """Send a recorded email once; raise EmailDeliveryDeferred when it should be tried again later.

    The row is claimed with a conditional update, so a second delivery of the same task (a broker
    redelivery, the sweep) finds it taken or sent and backs off. On the `last_attempt`, or on an
    error that another attempt would not change (a 4xx from Resend), the email is marked failed.
    """
    now = timezone.now()
    claimed = OutboundEmail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=email_id, status=OutboundEmail.Status.QUEUED
    ).update(claimed_until=now + DELIVERY_LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return
    email = OutboundEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(email.subject, email.text_body, settings.DEFAULT_FROM_EMAIL, [email.to])
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    message.idempotency_key = str(email.delivery_key)
    try:
        message.send()
    except Exception as error:
        row = OutboundEmail.objects.filter(pk=email_id)
        description = f"{type(error).__name__}: {error}"[:300]
        if _is_transient(error) and not last_attempt:
            row.update(claimed_until=None, error=description)
            raise EmailDeliveryDeferred(f"email {email_id}: {type(error).__name__}") from error
        row.update(status=OutboundEmail.Status.FAILED, claimed_until=None, error=description)
        # The error's type and code only: Resend's message may quote the address (the row keeps it).
        logger.error(
            "email %s (%s) not sent after %s attempts: %s %s",
            email_id,
            email.template,
            email.attempts,
            type(error).__name__,
            getattr(error, "code", ""),
        )
        return
    if getattr(message, "written_to_log", False):
        # Kept whole, so that "send again" in the admin can send it once Resend is configured.
        changes = {"status": OutboundEmail.Status.LOGGED}
    else:
        changes = {"status": OutboundEmail.Status.SENT, "sent_at": timezone.now(), "text_body": "", "html_body": ""}
    OutboundEmail.objects.filter(pk=email_id).update(
        **changes, provider_id=getattr(message, "resend_id", ""), claimed_until=None, error=""
    )


def _is_transient(error):
    if isinstance(error, ResendError):
        # The SDK reports a network failure as code 500 too ("HttpClientError").
        try:
            code = int(error.code)
        except (TypeError, ValueError):
            return False
        return code >= 500 or code == 429
    return isinstance(error, OSError)  # another backend's connection (SMTP) that failed


def emails_deliver_lost():
    """Enqueue every email still queued, never tried, well after it was recorded (its task was lost)."""
    lost = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.QUEUED, attempts=0, created_at__lt=timezone.now() - LOST_AFTER
    ).values_list("pk", flat=True)
    for email_id in lost:
        transaction.on_commit(functools.partial(_delivery_enqueue, email_id))


def emails_expire(*, now=None):
    """Delete the records of emails sent (or given up on) longer ago than the deletion window.

    A record keeps the address and subject (its bodies were emptied once sent); an address is
    then kept no longer than the deletion window after the account or invitation it served is gone.
    """
    older = (now or timezone.now()) - timedelta(days=settings.OPTERA_DELETION_WINDOW_DAYS)
    deleted, _ = OutboundEmail.objects.exclude(status=OutboundEmail.Status.QUEUED).filter(created_at__lt=older).delete()
    return deleted


def emails_send_again(*, email_ids):
    """Queue failed or logged emails again (after Resend is configured, or fixed) and enqueue them."""
    again = OutboundEmail.objects.filter(
        pk__in=email_ids, status__in=(OutboundEmail.Status.FAILED, OutboundEmail.Status.LOGGED)
    )
    queued = list(again.values_list("pk", flat=True))
    # The same delivery_key: an email Resend took just before a timeout is then not sent twice.
    again.update(status=OutboundEmail.Status.QUEUED, attempts=0, claimed_until=None, error="", sent_at=None)
    for email_id in queued:
        transaction.on_commit(functools.partial(_delivery_enqueue, email_id))
    return len(queued)


class ResendEmailBackend(BaseEmailBackend):
    """Django's email backend for Resend: one POST /emails per message, through the `resend` SDK.

    Without RESEND_API_KEY each message is written to the log (logger "accounts.emails") instead.
    A message's `idempotency_key` attribute, when set, goes out as Resend's Idempotency-Key header;
    Resend's id of the email is left on the message as `resend_id`.
    """

    def send_messages(self, email_messages):
        if not settings.RESEND_API_KEY:
            for message in email_messages:
                _log_instead(message)
            return len(email_messages)
        # The SDK reads its key and host from module globals (and the environment at import):
        # set here from the settings, the same for every thread.
        resend.api_key = settings.RESEND_API_KEY
        resend.api_url = settings.RESEND_API_URL
        sent = 0
        for message in email_messages:
            idempotency_key = getattr(message, "idempotency_key", None)
            try:
                options = {"idempotency_key": idempotency_key} if idempotency_key else None
                response = resend.Emails.send(_resend_params(message), options)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            message.resend_id = response.get("id", "")
            sent += 1
        return sent


def _resend_params(message):
    if message.attachments:
        raise ValueError("ResendEmailBackend does not send attachments")
    params = {"from": message.from_email, "to": list(message.to), "subject": message.subject, "text": message.body}
    html = [content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"]
    if html:
        params["html"] = html[0]
    for field in ("cc", "bcc", "reply_to"):
        if getattr(message, field):
            params[field] = list(getattr(message, field))
    if message.extra_headers:
        params["headers"] = dict(message.extra_headers)
    return params


def _log_instead(message):
    # The subject and the recipients' domains only: an address is personal data, and logs are kept
    # longer and read by more people than the outbox row that holds it; the body may hold a link
    # that signs in or resets a password.
    domains = sorted({parseaddr(address)[1].rpartition("@")[2] for address in message.recipients()})
    logger.warning(
        'RESEND_API_KEY is not set: email "%s" to a recipient at %s written to the log, not sent',
        message.subject,
        ", ".join(domains),
    )
    message.written_to_log = True
