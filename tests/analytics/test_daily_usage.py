"""Daily rollups: every stored request log is added to its day, and the sums match the logs to the cent."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics import services
from analytics.models import DailyUsage, RequestLog

pytestmark = [pytest.mark.django_db]


def random_rows(workspace, generator, count):
    now = timezone.now()
    rows = []
    for index in range(count):
        savings = {kind: round(generator.uniform(0, 0.01), 8) for kind in generator.sample(["cache", "routing"], 1)}
        rows.append(
            RequestLog(
                workspace=workspace,
                request_id=f"req_{index}_{generator.random()}",
                endpoint="chat.completions",
                provider="openai",
                model_used=generator.choice(["gpt-4o", "gpt-4o-mini"]),
                status_code=generator.choice([200, 200, 429]),
                cache_status=generator.choice(["miss", "hit"]),
                prompt_tokens=generator.randint(1, 500),
                completion_tokens=generator.randint(1, 100),
                cost_usd=Decimal(generator.randint(0, 10_000)) / 10**8,
                saved_usd=Decimal(str(sum(savings.values()))),
                savings=savings,
                created_at=now - datetime.timedelta(hours=generator.randint(0, 72)),
            )
        )
    return rows


def test_rollups_match_the_logs_after_many_batches(people):
    generator = random.Random(3)
    for _ in range(5):
        services.request_logs_store(rows=random_rows(people.workspace, generator, 40))

    logs = RequestLog.objects.filter(workspace=people.workspace)
    usage = DailyUsage.objects.filter(workspace=people.workspace)
    assert usage.aggregate(n=Sum("requests"))["n"] == logs.count() == 200
    assert usage.aggregate(c=Sum("cost_usd"))["c"] == logs.aggregate(c=Sum("cost_usd"))["c"]
    assert usage.aggregate(e=Sum("errors"))["e"] == logs.filter(status_code__gte=400).count()
    for kind in ("cache", "routing"):
        from_logs = sum(row.savings.get(kind, 0) for row in logs)
        from_rollups = sum(row.savings.get(kind, 0) for row in usage)
        assert from_rollups == pytest.approx(from_logs, abs=1e-9)
    assert usage.count() <= 4 * 2 * 2  # days x models x cache statuses, never one row per request


def test_a_refused_row_costs_neither_the_others_nor_the_rollups(people):
    rows = random_rows(people.workspace, random.Random(1), 3)
    rows[1].model_used = "x" * 101  # longer than the column allows: PostgreSQL refuses it
    assert services.request_logs_store(rows=rows) == 2
    assert DailyUsage.objects.filter(workspace=people.workspace).aggregate(n=Sum("requests"))["n"] == 2


def test_expired_logs_go_but_their_rollups_stay(people):
    old = random_rows(people.workspace, random.Random(2), 10)
    for row in old:
        row.created_at = timezone.now() - datetime.timedelta(days=400)
    services.request_logs_store(rows=old)
    services.request_logs_expire()
    assert not RequestLog.objects.filter(workspace=people.workspace).exists()
    assert DailyUsage.objects.filter(workspace=people.workspace).aggregate(n=Sum("requests"))["n"] == 10


def test_a_workspace_without_a_settings_row_keeps_the_default_retention(people, settings):
    from accounts.models import Workspace

    settings.OPTERA_LOG_RETENTION_DAYS = 30
    bare = Workspace.objects.create(name="made in the admin")  # no WorkspaceSettings row
    rows = random_rows(bare, random.Random(3), 4)
    rows[0].created_at = timezone.now() - datetime.timedelta(days=400)
    rows[1].created_at = timezone.now() - datetime.timedelta(days=31)
    for row in rows[2:]:
        row.created_at = timezone.now() - datetime.timedelta(days=29)
    services.request_logs_store(rows=rows)
    services.request_logs_expire()
    assert RequestLog.objects.filter(workspace=bare).count() == 2
    assert DailyUsage.objects.filter(workspace=bare).aggregate(n=Sum("requests"))["n"] == 4
