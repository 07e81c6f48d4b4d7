"""The sweeps, run as if the clock read later: retention with rollups, a deletion window that leaves nothing."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db.models.deletion import Collector
from django.utils import timezone

from accounts import services as account_services
from accounts.models import OutboundEmail, Workspace, WorkspaceSettings
from analytics import usage
from analytics.models import RequestLog
from billing import counter_keys
from billing.models import AlertSent, Budget, Plan, UsageCounter, Webhook, WebhookDelivery, WorkspacePlan
from cachestore import keys, selectors
from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary
from optera.clients import BATCH, redis_client
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def sweep(*names, as_of):
    printed = io.StringIO()
    call_command("sweep", *names, "--as-of", as_of.isoformat(), stdout=printed)
    return printed.getvalue()


def ask(client, text, **options):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )


def test_past_the_retention_no_log_is_left_and_usage_comes_from_the_rollups(openai_client, tenants):
    acme = tenants.owner.workspace
    for text in ("What is a mutex?", "What is a mutex?", "Name three rivers.", "Is 7 prime?"):
        ask(openai_client, text)
    wait_for(lambda: RequestLog.objects.filter(workspace=acme).count() == 4)
    now = timezone.now()
    before = usage.workspace_usage(workspace_id=acme.pk, since=now - timedelta(days=1), retention_days=30, now=now)
    assert before["requests"] == 4 and before["cache"] == {"miss": 3, "hit": 1} and before["cost_usd"] > 0

    later = now + timedelta(days=31)
    printed = sweep(as_of=later)

    assert "logs: removed 4" in printed
    assert not RequestLog.objects.filter(workspace=acme, created_at__lt=later - timedelta(days=30)).exists()
    after = usage.workspace_usage(workspace_id=acme.pk, since=later - timedelta(days=60), retention_days=30, now=later)
    for figure in ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "saved_usd", "cache"):
        assert after[figure] == before[figure], figure
    assert after["by_model"] == before["by_model"] and after["by_day"] == before["by_day"]
    # Again: a sweep is idempotent.
    assert "logs: removed 0" in sweep("logs", as_of=later)


def test_a_workspace_without_a_settings_row_keeps_the_default_retention(tenants):
    acme = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=acme).delete()
    RequestLog.objects.create(workspace=acme, request_id="old", endpoint="chat.completions", status_code=200)

    sweep("logs", as_of=timezone.now() + timedelta(days=settings.OPTERA_LOG_RETENTION_DAYS - 1))
    assert RequestLog.objects.filter(workspace=acme).exists()
    sweep("logs", as_of=timezone.now() + timedelta(days=settings.OPTERA_LOG_RETENTION_DAYS + 1))
    assert not RequestLog.objects.filter(workspace=acme).exists()


def test_compressed_prompts_and_summaries_expire_unused_and_stay_while_used(tenants):
    acme = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=acme).update(retention_days=7)
    for label in ("used", "unused"):
        CompressedPrompt.objects.create(
            workspace=acme, prompt_hash=label, compressed_text="short", tokens_before=9, tokens_after=3
        )
        ConversationSummary.objects.create(
            workspace=acme,
            prefix_hash=label,
            summary_text="summary",
            messages_summarised=4,
            tokens_before=400,
            tokens_after=40,
            model="gpt-4o-mini",
        )
    in_five_days = timezone.now() + timedelta(days=5)
    # Found by requests five days on: their last use is recorded.
    assert selectors.compressed_prompt_find(workspace_id=acme.pk, prompt_hash="used", now=in_five_days)
    assert selectors.conversation_summary_find_longest(workspace_id=acme.pk, prefix_hashes=["used"], now=in_five_days)

    sweep("shaping", as_of=timezone.now() + timedelta(days=8))

    assert list(CompressedPrompt.objects.values_list("prompt_hash", flat=True)) == ["used"]
    assert list(ConversationSummary.objects.values_list("prefix_hash", flat=True)) == ["used"]
    sweep("shaping", as_of=in_five_days + timedelta(days=8))
    assert not CompressedPrompt.objects.exists() and not ConversationSummary.objects.exists()


def test_sent_email_records_go_after_the_deletion_window_and_queued_ones_stay(tenants):
    window = timedelta(days=settings.OPTERA_DELETION_WINDOW_DAYS)
    for status in (OutboundEmail.Status.SENT, OutboundEmail.Status.QUEUED):
        OutboundEmail.objects.create(key=status, template="t", to="someone@example.test", subject="s", status=status)

    sweep("emails", as_of=timezone.now() + window - timedelta(hours=1))
    assert OutboundEmail.objects.count() == 2
    sweep("emails", as_of=timezone.now() + window + timedelta(hours=1))
    assert list(OutboundEmail.objects.values_list("status", flat=True)) == [OutboundEmail.Status.QUEUED]


def test_the_command_refuses_an_unknown_sweep_and_a_clock_without_an_offset(db):
    with pytest.raises(CommandError, match="unknown sweep nope"):
        call_command("sweep", "nope")
    with pytest.raises(CommandError, match="with an offset"):
        call_command("sweep", "--as-of", "2027-01-01T00:00:00")
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("sweep", "--as-of", "tomorrow")


def rows_referring_to(workspace_id):
    """Every row of every model that refers to the workspace by a foreign key, directly or through another row."""
    workspace = Workspace.objects.get(pk=workspace_id)
    collector = Collector(using="default")
    collector.collect([workspace])
    found = {(model, instance.pk) for model, instances in collector.data.items() for instance in instances}
    for querysets in collector.fast_deletes:
        found |= {(querysets.model, pk) for pk in querysets.values_list("pk", flat=True)}
    return found


def redis_keys():
    client = redis_client(BATCH)
    if client is None:
        return set()
    try:
        return {key.decode() for key in client.scan_iter(match="*", count=1000)}
    finally:
        client.close()


def test_a_deleted_workspace_leaves_no_row_and_no_redis_key_past_the_deletion_window(openai_client, tenants, fake):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    plan = Plan.objects.create(name="metered", monthly_request_quota=1000, monthly_spend_cap_usd=Decimal(100))
    for workspace in (acme, globex):
        WorkspacePlan.objects.create(workspace=workspace, plan=plan)
    budget = Budget.objects.create(workspace=acme, scope="workspace", usd=50, period="month")
    webhook = Webhook.objects.create(workspace=acme, url="https://hooks.example.test/optera", secret="s" * 32)
    WebhookDelivery.objects.create(webhook=webhook, event_type="budget.threshold", payload={"budget": budget.pk})
    AlertSent.objects.create(key=f"budget:{budget.pk}:2026-12:80")
    untidy = "You   are a helpful assistant.\n\n\n" * 40
    for text in ("What is a mutex?", "What is a mutex?", "Name three rivers."):
        openai_client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": untidy}, {"role": "user", "content": text}],
        )
    globex_client = openai_client.with_options(api_key=tenants.outsider.api_key)
    ask(globex_client, "What is a mutex?")
    wait_for(lambda: RequestLog.objects.filter(workspace=acme).count() == 3 and CompressedPrompt.objects.exists())
    wait_for(lambda: CacheEntry.objects.filter(workspace=acme).exists())
    referring = rows_referring_to(acme.pk)
    assert {model._meta.label for model, _ in referring} >= {
        "analytics.RequestLog",
        "analytics.DailyUsage",
        "cachestore.CacheEntry",
        "cachestore.CompressedPrompt",
        "accounts.ApiKey",
        "accounts.Membership",
        "billing.Budget",
        "billing.WebhookDelivery",
        "billing.WorkspacePlan",
    }
    prefixes = counter_keys.prefixes_of_workspace(
        acme.pk, api_key_ids=acme.api_keys.values_list("pk", flat=True), budget_ids=[budget.pk]
    )
    named_by_acme = (
        keys.redis_cache_pattern(acme.pk)[:-1],
        keys.redis_flight_pattern(acme.pk)[:-1],
        *(counter_keys.redis_key(prefix) for prefix in prefixes),
    )
    if settings.REDIS_URL:
        assert any(key.startswith(named_by_acme) for key in redis_keys())
    else:
        assert UsageCounter.objects.filter(key__startswith=f"ws:{acme.pk}:").exists()
    globex_keys = {key for key in redis_keys() if f":{globex.pk}:" in key}

    account_services.workspace_delete(workspace=acme)
    sweep(as_of=timezone.now() + timedelta(days=settings.OPTERA_DELETION_WINDOW_DAYS))

    assert not Workspace.objects.filter(pk=acme.pk).exists()
    left = [(model._meta.label, pk) for model, pk in referring if model.objects.filter(pk=pk).exists()]
    assert left == []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if getattr(field, "related_model", None) is Workspace and field.concrete:
                assert not model.objects.filter(**{field.name: acme.pk}).exists(), model._meta.label
    for prefix in prefixes:
        assert not UsageCounter.objects.filter(key__startswith=prefix).exists(), prefix
        assert not AlertSent.objects.filter(key__startswith=prefix).exists(), prefix
    assert [key for key in redis_keys() if key.startswith(named_by_acme)] == []
    # The other workspace is untouched (its logs aside, which the sweep's clock has aged past retention).
    assert Workspace.objects.filter(pk=globex.pk).exists() and globex.api_keys.exists()
    assert globex_keys <= redis_keys()


def test_expired_sign_in_sessions_go(client, people):
    client.force_login(people.owner)
    session = Session.objects.get()

    sweep("sessions", as_of=session.expire_date - timedelta(minutes=1))
    assert Session.objects.exists()
    sweep("sessions", as_of=session.expire_date + timedelta(minutes=1))
    assert not Session.objects.exists()


def test_two_workers_sweeping_at_once_delete_each_row_once(tenants):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from analytics.services import request_logs_expire

    acme = tenants.owner.workspace
    old = timezone.now() - timedelta(days=40)
    RequestLog.objects.bulk_create(
        RequestLog(workspace=acme, request_id=f"req_{index}", endpoint="chat", status_code=200, created_at=old)
        for index in range(3000)
    )

    def worker():
        try:
            return request_logs_expire(batch_size=250)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        removed = [future.result() for future in [pool.submit(worker), pool.submit(worker)]]

    assert sum(removed) == 3000 and not RequestLog.objects.exists()


def test_beat_runs_every_sweep_through_a_registered_task():
    from optera.celery import app
    from optera.sweeps import SWEEPS

    app.loader.import_default_modules()
    scheduled = {entry["args"][0] for entry in app.conf.beat_schedule.values() if entry["task"] == "optera.tasks.sweep"}
    assert scheduled == {sweep.name for sweep in SWEEPS}
    assert all(entry["task"] in app.tasks for entry in app.conf.beat_schedule.values())
