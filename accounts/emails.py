"""Account email (address confirmation, invitations), rendered from templates/emails/ and sent through
Django's email backend once the transaction that asked for it has committed."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from accounts.models import EmailSent


def email_send(*, to, template, context, idempotency_key=None):
    """Send templates/emails/<template>.{subject.txt,txt,html} to `to` after the current transaction commits.

    With an `idempotency_key`, the occasion it names sends this email once, however often it is asked.
    """
    if idempotency_key is not None:
        try:
            with transaction.atomic():
                EmailSent.objects.create(key=idempotency_key[:200])
        except IntegrityError:
            return
    subject = render_to_string(f"emails/{template}.subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)

    def send():
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
        message.attach_alternative(html, "text/html")
        message.send()

    transaction.on_commit(send)
