"""What a workspace spent and saved over a period, from the request logs and, past them, the daily rollups.

Request logs are deleted after the workspace's retention; the daily rollups (DailyUsage, summed as
each log row is written) are kept. A period reaching back past the retention reads the rollups for
the days the logs no longer cover in full and the logs from the next midnight on, so a report on
expired days gives the totals it gave while their logs existed.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import DailyUsage, RequestLog

COUNTED = ("requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens")
MONEY = ("cost_usd", "saved_usd")


def workspace_usage(*, workspace_id, since, retention_days, now=None):
    """Return totals, savings by kind, cache statuses, models and days since `since`."""
    now = now or timezone.now()
    logs_since, rollup_days = _split(since=since, horizon=now - datetime.timedelta(days=retention_days))
    groups = list(_log_groups(workspace_id=workspace_id, since=logs_since))
    savings = _log_savings_by_kind(workspace_id=workspace_id, since=logs_since)
    if rollup_days is not None:
        first_day, end_day = rollup_days
        rollups = DailyUsage.objects.filter(workspace_id=workspace_id, day__gte=first_day, day__lt=end_day)
        for rollup in rollups.values("day", "provider", "model_used", "cache_status", *COUNTED, *MONEY, "savings"):
            groups.append(rollup)
            for kind, amount in rollup.pop("savings").items():
                savings[kind] = savings.get(kind, Decimal(0)) + Decimal(str(amount))
    return {
        "since": since,
        "logs_since": logs_since,
        **{field: sum(group[field] or 0 for group in groups) for field in (*COUNTED, *MONEY)},
        "savings_by_kind": dict(sorted(savings.items())),
        "cache": {row["cache_status"]: row["requests"] for row in _summed(groups, ("cache_status",), ("requests",))},
        "by_model": _summed(groups, ("provider", "model_used"), ("requests", *MONEY), order_by="cost_usd"),
        "by_day": _summed(groups, ("day",), ("requests", *MONEY), order_by="day"),
    }


def _split(*, since, horizon):
    """Return (logs_since, (first rollup day, end day) or None) for a period starting at `since`.

    Logs older than `horizon` may be expired, so every day up to the horizon's own comes from the
    rollups (a rollup is a whole UTC day) and the logs only from the following midnight.
    """
    if since >= horizon:
        return since, None
    end_day = horizon.astimezone(datetime.UTC).date() + datetime.timedelta(days=1)
    logs_since = datetime.datetime.combine(end_day, datetime.time.min, tzinfo=datetime.UTC)
    return logs_since, (since.astimezone(datetime.UTC).date(), end_day)


def _log_groups(*, workspace_id, since):
    logs = RequestLog.objects.filter(workspace_id=workspace_id, created_at__gte=since)
    return (
        logs.annotate(day=TruncDate("created_at"))
        .values("day", "provider", "model_used", "cache_status")
        .annotate(
            requests=Count("pk"),
            errors=Count("pk", filter=Q(status_code__gte=400)),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cached_tokens=Sum("cached_tokens"),
            cost_usd=Sum("cost_usd"),
            saved_usd=Sum("saved_usd"),
        )
        .order_by()
    )


def _log_savings_by_kind(*, workspace_id, since):
    """Sum each kind of saving in the logs' JSON ledgers, in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT saving.key, SUM(saving.value::numeric) FROM {RequestLog._meta.db_table} AS log, "
            "jsonb_each_text(log.savings) AS saving WHERE log.workspace_id = %s AND log.created_at >= %s "
            "GROUP BY saving.key",
            [workspace_id, since],
        )
        return dict(cursor.fetchall())


def _summed(groups, keys, fields, *, order_by=None):
    """Sum `fields` of `groups` by `keys`: one dict per key, sorted by `order_by` (the day up, else down)."""
    sums = defaultdict(lambda: dict.fromkeys(fields, 0))
    for group in groups:
        summed = sums[tuple(group[key] for key in keys)]
        for field in fields:
            summed[field] += group[field] or 0
    rows = [{**dict(zip(keys, key)), **summed} for key, summed in sums.items()]
    if order_by is None:
        return rows
    if order_by == "day":
        return sorted(rows, key=lambda row: row["day"])
    return sorted(rows, key=lambda row: row[order_by], reverse=True)
