"""Transactional email through a local fake Resend: recorded once per occasion, sent by Celery, retried.

The fake is a real HTTP server that the `resend` SDK reaches at RESEND_API_URL; it records what
it accepts and can fail on demand. Celery tasks run inline (`tasks_run_inline`): what is checked
is what the task does, not the broker's transport.
"""

import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import openai
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms.models import model_to_dict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import emails, services, tasks
from accounts.models import Membership, OutboundEmail, Workspace
from analytics.models import RequestLog
from billing.models import Plan, WorkspacePlan
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

PASSWORD = "correct horse battery staple 7"
INVITATION = {"inviter": "owner@acme.test", "workspace_name": "acme", "role": "member", "link": "http://x/", "days": 7}


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the enclosed code leaves for after its transaction commits (the test's own never does)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def invite(to="friend@new.test", key="invitation/1"):
    return emails.email_send(to=to, template="invitation", context=INVITATION, idempotency_key=key)


def test_an_invitation_goes_to_resend_once_its_request_commits(
    client, people, fake_resend, tasks_run_inline, django_capture_on_commit_callbacks, settings
):
    client.force_login(people.admin)
    with django_capture_on_commit_callbacks() as after_commit:
        client.post(f"/w/{people.workspace.pk}/members/", {"email": "Friend@New.test", "role": "member"})
    assert fake_resend.requests == []  # nothing leaves before the transaction commits
    for callback in after_commit:
        callback()

    (message,) = fake_resend.messages
    assert message.to == ("friend@new.test",) and message.sender == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "You are invited to acme on Optera"
    link = re.search(r"http://testserver/invitations/\S+/", message.text).group(0)
    assert f'href="{link}"' in message.html and "admin@acme.test invited you" in message.text
    email = OutboundEmail.objects.get(template="invitation")
    assert message.idempotency_key == str(email.delivery_key)  # Resend's Idempotency-Key header
    assert (email.status, email.provider_id, email.attempts) == ("sent", message.id, 1)
    assert email.text_body == email.html_body == ""  # the link is not kept once sent


@pytest.mark.django_db(transaction=True)
def test_quota_emails_at_80_and_100_percent_reach_resend_once_each(
    openai_client, tenants, fake_resend, tasks_run_inline
):
    Membership.objects.filter(user=tenants.member.user).update(role=Membership.Role.ADMIN)
    plan = Plan.objects.create(name="five a month", monthly_request_quota=5)
    WorkspacePlan.objects.create(workspace=tenants.owner.workspace, plan=plan)

    for number in range(5):
        ask(openai_client, f"question {number}")
    for number in range(3):
        with pytest.raises(openai.RateLimitError):
            ask(openai_client, f"refused {number}")

    wait_for(lambda: len(fake_resend.messages) >= 4, timeout=10)
    time.sleep(0.5)  # a duplicate would arrive now
    sent = sorted((message.to, message.subject) for message in fake_resend.messages)
    assert sent == [
        (("member@acme.test",), "acme: 100 % of this month's request quota used"),
        (("member@acme.test",), "acme: 80 % of this month's request quota used"),
        (("owner@acme.test",), "acme: 100 % of this month's request quota used"),
        (("owner@acme.test",), "acme: 80 % of this month's request quota used"),
    ]
    assert all("refused (429 quota_exceeded)" in m.text for m in fake_resend.messages if "100 %" in m.subject)
    # No address or email content in the request logs.
    logged = repr([model_to_dict(row) for row in RequestLog.objects.all()])
    assert RequestLog.objects.count() >= 5
    for secret in ("owner@acme.test", "member@acme.test", "quota used", PROVIDER_KEY_CANARY):
        assert secret not in logged


def ask(client, text):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])


def test_each_quota_threshold_emails_the_owners_and_admins_once_a_month(
    people, fake_resend, tasks_run_inline, committed
):
    occasions = [("spend", 80, "2026-12"), ("spend", 80, "2026-12"), ("spend", 100, "2026-12")]
    occasions += [("spend", 100, "2026-12"), ("requests", 80, "2026-12"), ("spend", 80, "2027-01")]
    for quota, threshold, period in occasions:
        with committed():
            tasks.quota_threshold_notify.delay(people.workspace.pk, quota, threshold, period)

    assert len(fake_resend.messages) == 8  # four occasions, two managers each
    assert {message.to for message in fake_resend.messages} == {("owner@acme.test",), ("admin@acme.test",)}
    spend_80 = [m for m in fake_resend.messages if m.subject == "acme: 80 % of this month's spend cap used"]
    periods = [re.search(r"for (\d{4}-\d{2})\.", message.text).group(1) for message in spend_80]
    assert sorted(periods) == ["2026-12", "2026-12", "2027-01", "2027-01"]


def test_the_same_idempotency_key_twice_sends_one_email(people, fake_resend, tasks_run_inline, committed):
    with committed():
        first = invite(key="invitation/7")
        second = invite(key="invitation/7")
    with committed():
        invite(key="invitation/7")
        invite(key="invitation/8")

    assert second.pk == first.pk
    assert OutboundEmail.objects.count() == 2
    assert [message.to for message in fake_resend.messages] == [("friend@new.test",)] * 2
    assert len(fake_resend.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_occasion_asked_for_at_once_sends_one_email(fake_resend, tasks_run_inline):
    start = threading.Barrier(6)
    recorded = []

    def ask_for_it():
        start.wait()
        try:
            recorded.append(invite(key="invitation/race").pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask_for_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(recorded) == 6 and len(set(recorded)) == 1
    assert OutboundEmail.objects.filter(key="invitation/race").count() == 1
    assert len(fake_resend.messages) == 1


def test_without_an_api_key_an_email_is_logged_not_sent(
    client, people, fake_resend, tasks_run_inline, committed, settings, caplog
):
    settings.RESEND_API_KEY = ""
    with caplog.at_level(logging.INFO, logger="accounts.emails"), committed():
        email = invite()

    assert fake_resend.requests == []  # not even a refused attempt reached Resend
    (record,) = [record for record in caplog.records if record.name == "accounts.emails"]
    text = record.getMessage()
    assert record.levelno == logging.WARNING
    assert '"You are invited to acme on Optera"' in text and "at new.test" in text
    assert "friend@" not in text and "http" not in text  # the domain only, and nothing of the body
    email.refresh_from_db()
    assert email.status == "logged" and "http://x/" in email.text_body

    # Once Resend is configured, the operator sends it from the admin.
    settings.RESEND_API_KEY = fake_resend.api_key
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.test", "pw"))
    with committed():
        client.post(
            reverse("admin:accounts_outboundemail_changelist"),
            {"action": "send_again", "_selected_action": [email.pk]},
        )
    (message,) = fake_resend.messages
    assert message.to == ("friend@new.test",)
    email.refresh_from_db()
    assert email.status == "sent"


def test_a_500_is_retried_and_the_email_delivered_once(people, fake_resend, tasks_run_inline, committed):
    fake_resend.fail_next(1)
    with committed():
        email = invite()

    assert [request.status for request in fake_resend.requests] == [500, 200]
    assert {request.idempotency_key for request in fake_resend.requests} == {str(email.delivery_key)}
    assert len(fake_resend.messages) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


def test_an_answer_lost_after_resend_took_the_email_does_not_send_it_twice(
    people, fake_resend, tasks_run_inline, committed
):
    fake_resend.fail_next(1, after_accepting=True)
    with committed():
        email = invite()

    assert [request.status for request in fake_resend.requests] == [500, 200]
    (message,) = fake_resend.messages  # the retry's Idempotency-Key got Resend's first answer
    email.refresh_from_db()
    assert (email.status, email.provider_id) == ("sent", message.id)


def test_an_email_resend_refuses_is_not_retried(people, fake_resend, tasks_run_inline, committed, caplog):
    fake_resend.fail_next(1, status=422, name="validation_error")
    with caplog.at_level(logging.ERROR, logger="accounts.emails"), committed():
        email = invite()

    assert [request.status for request in fake_resend.requests] == [422]
    assert fake_resend.messages == []
    email.refresh_from_db()
    assert email.status == "failed" and "ValidationError" in email.error
    (record,) = [record for record in caplog.records if record.name == "accounts.emails"]
    assert "ValidationError 422" in record.getMessage() and "friend@" not in record.getMessage()


def test_resend_unreachable_is_retried_then_given_up(people, fake_resend, tasks_run_inline, committed, settings):
    settings.RESEND_API_URL = "http://127.0.0.1:9"  # nothing listens there

    with committed():
        email = invite()

    email.refresh_from_db()
    assert email.status == "failed" and email.attempts == tasks.email_deliver.max_retries + 1
    assert email.error.startswith("ResendError: Request failed") and fake_resend.requests == []


def test_an_unreachable_resend_defers_the_email_for_a_retry(people, fake_resend, settings):
    settings.RESEND_API_URL = "http://127.0.0.1:9"
    email = invite()

    with pytest.raises(emails.EmailDeliveryDeferred):
        emails.email_deliver(email_id=email.pk)

    email.refresh_from_db()
    assert (email.status, email.attempts, email.claimed_until) == ("queued", 1, None)


def test_an_email_being_sent_by_another_worker_is_left_to_it(people, fake_resend):
    email = invite()  # its task is never enqueued: the test's transaction does not commit
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))

    emails.email_deliver(email_id=email.pk)
    assert fake_resend.requests == []

    # That worker died: once its claim lapses, the broker's redelivery sends it.
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    emails.email_deliver(email_id=email.pk)
    emails.email_deliver(email_id=email.pk)  # a duplicate of the task: already sent
    assert len(fake_resend.messages) == 1 and len(fake_resend.requests) == 1


def test_an_email_whose_task_was_lost_is_sent_by_the_sweep(people, fake_resend, tasks_run_inline, committed):
    lost = invite(to="lost@new.test", key="invitation/lost")  # the test's transaction never commits:
    recent = invite(to="recent@new.test", key="invitation/recent")  # neither delivery is enqueued
    OutboundEmail.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    with committed():
        tasks.emails_deliver_lost.delay()

    assert [message.to for message in fake_resend.messages] == [("lost@new.test",)]
    assert OutboundEmail.objects.get(pk=recent.pk).status == "queued"


def test_signing_up_sends_a_confirmation_and_a_welcome(client, db, fake_resend, tasks_run_inline, committed):
    form = {"email": "new@user.test", "password": PASSWORD, "password_again": PASSWORD, "adult": "on"}
    with committed():
        client.post("/accounts/signup/", form)

    subjects = sorted(message.subject for message in fake_resend.to("new@user.test"))
    assert subjects == ["Confirm your email address for Optera", "Welcome to Optera: new's workspace is ready"]
    assert len(fake_resend.messages) == 2
    user = get_user_model().objects.get(email="new@user.test")
    assert OutboundEmail.objects.filter(key=f"welcome/{user.pk}").exists()


def test_a_user_created_elsewhere_is_welcomed_once_when_onboarding_makes_their_workspace(
    client, db, fake_resend, tasks_run_inline, committed
):
    # As Clerk creates one: a user with a verified email and no workspace yet.
    user = get_user_model().objects.create_user(username="user_2clerk", email="clerk@user.test")
    client.force_login(user)
    with committed():
        first = client.get("/accounts/welcome/")
    with committed():
        client.get("/accounts/welcome/")

    assert first.status_code == 302
    assert [message.subject for message in fake_resend.to("clerk@user.test")] == [
        "Welcome to Optera: clerk's workspace is ready"
    ]


def test_a_password_reset_goes_through_resend_with_a_working_link(
    client, people, fake_resend, tasks_run_inline, committed
):
    with committed():
        client.post("/accounts/password-reset/", {"email": "owner@acme.test"})
    with committed():
        client.post("/accounts/password-reset/", {"email": "nobody@acme.test"})  # no account: no email

    (message,) = fake_resend.messages
    assert message.to == ("owner@acme.test",) and message.subject == "Reset your Optera password"
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", message.text).group(1)
    assert f'href="http://testserver{link}"' in message.html
    assert client.get(link, follow=True).context["validlink"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in OutboundEmail.objects.get(template="password_reset").key  # the key is no working link


def test_deleting_a_workspace_tells_its_owners_now_and_again_once_it_is_purged(
    people, fake_resend, tasks_run_inline, committed
):
    Membership.objects.filter(user=people.admin, workspace=people.workspace).update(role=Membership.Role.OWNER)

    with committed():
        services.workspace_delete(workspace=people.workspace)  # on commit: the emails, then the purge
    with committed():
        services.workspace_delete(workspace=people.workspace)
        services.workspace_purge(workspace_id=people.workspace.pk)

    assert not Workspace.objects.filter(pk=people.workspace.pk).exists()
    sent = [(message.subject, message.to[0]) for message in fake_resend.messages]
    scheduled, done = sorted(sent[:2], key=lambda sent: sent[1]), sorted(sent[2:], key=lambda sent: sent[1])
    assert scheduled == [
        ("acme was deleted from Optera", "admin@acme.test"),
        ("acme was deleted from Optera", "owner@acme.test"),
    ]
    assert done == [
        ("acme: everything is purged from Optera", "admin@acme.test"),
        ("acme: everything is purged from Optera", "owner@acme.test"),
    ]
    assert "within 30 days" in fake_resend.messages[0].text


def test_an_owner_who_closed_their_account_hears_when_the_purge_is_done(
    people, fake_resend, tasks_run_inline, committed
):
    with committed():
        services.account_close(user=people.owner)

    assert not get_user_model().objects.filter(pk=people.owner.pk).exists()
    subjects = [message.subject for message in fake_resend.to("owner@acme.test")]
    assert subjects == ["acme was deleted from Optera", "acme: everything is purged from Optera"]
    assert len(fake_resend.messages) == 2  # the admin and member are no owners


NAME = "O'Brien & Co <Labs>"
LINK = "https://optera.example/a/b/"
CONTEXTS = {
    "verify_email": {"email": "ann@obrien.test", "link": LINK},
    "welcome": {"email": "ann@obrien.test", "workspace_name": NAME},
    "invitation": {"inviter": "ann@obrien.test", "workspace_name": NAME, "role": "admin", "link": LINK, "days": 7},
    "password_reset": {"email": "ann@obrien.test", "link": LINK},
    "quota_threshold": {"workspace_name": NAME, "quota": "requests", "threshold": 80, "period": "2026-12"},
    "payment_failed": {
        "workspace_name": NAME,
        "plan_name": "Pro",
        "amount": "29.00 USD",
        "invoice_url": LINK,
        "next_attempt": None,
    },
    "budget_threshold": {
        "budget": "the budget of tag nightly",
        "workspace_name": NAME,
        "threshold": 80,
        "spent": "1.0000",
        "period": "2026-12-03",
        "hard": False,
    },
    "workspace_deletion_scheduled": {"workspace_name": NAME, "days": 30},
    "workspace_deleted": {"workspace_name": NAME, "deleted_at": timezone.now()},
}


def test_every_email_template_has_a_context_here():
    folder = Path(django_settings.BASE_DIR) / "templates" / "emails"
    names = {path.name.split(".")[0] for path in folder.iterdir()}
    assert names == set(CONTEXTS)
    for name in names:
        expected = {f"{name}.subject.txt", f"{name}.txt", f"{name}.html"}
        assert {path.name for path in folder.glob(f"{name}.*")} == expected


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_plain_text_is_not_html_escaped_and_html_is(template):
    context = CONTEXTS[template]
    subject = render_to_string(f"emails/{template}.subject.txt", context)
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)

    for plain in (subject, text):
        assert "&#x27;" not in plain and "&amp;" not in plain and "&lt;" not in plain
    if "workspace_name" in context:
        assert NAME in text and "O&#x27;Brien &amp; Co &lt;Labs&gt;" in html and NAME not in html
    if "link" in context:
        assert LINK in text and f'href="{LINK}"' in html


@pytest.mark.parametrize("from_email, refused", [(None, True), ("Optera <mail@optera.example>", False)])
def test_a_resend_key_needs_a_sender_address(from_email, refused):
    environment = {name: value for name, value in os.environ.items() if name != "DEFAULT_FROM_EMAIL"}
    environment["RESEND_API_KEY"] = "re_configured"
    if from_email:
        environment["DEFAULT_FROM_EMAIL"] = from_email
    run = subprocess.run(
        [sys.executable, "-c", "import optera.settings"],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert (run.returncode != 0) == refused
    assert ("RESEND_API_KEY needs DEFAULT_FROM_EMAIL" in run.stderr) == refused
