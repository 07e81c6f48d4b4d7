"""Reads for prices and request logs."""

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import ModelPrice, RequestLog
from analytics.pricing import Price

# What a workspace export holds of a request log: everything but the keyed prompt hash, which only
# serves grouping and means nothing outside this database.
EXPORTED_REQUEST_LOG_FIELDS = (
    "request_id",
    "endpoint",
    "model_requested",
    "model_used",
    "provider",
    "stream",
    "status_code",
    "error_type",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "usage_estimated",
    "cost_usd",
    "saved_usd",
    "savings",
    "cache_status",
    "total_ms",
    "first_byte_ms",
    "overhead_ms",
    "client_ip",
    "route_reason",
    "created_at",
)


def model_prices_current(*, now=None):
    """Return {(provider, model): Price} for the prices valid now."""
    now = now or timezone.now()
    rows = ModelPrice.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=now), valid_from__lte=now).order_by(
        "valid_from"
    )
    return {
        (row.provider, row.model): Price(
            input=row.input_per_mtok,
            output=row.output_per_mtok,
            cached_input=row.cached_input_per_mtok,
            cache_write=row.cache_write_per_mtok,
        )
        for row in rows
    }


def workspace_usage(*, workspace_id, since):
    """Return what a workspace spent and saved since `since`: totals, savings by kind, cache, models, days."""
    logs = RequestLog.objects.filter(workspace_id=workspace_id, created_at__gte=since)
    money = {"cost_usd": Sum("cost_usd"), "saved_usd": Sum("saved_usd")}
    totals = logs.aggregate(
        requests=Count("pk"),
        errors=Count("pk", filter=Q(status_code__gte=400)),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        cached_tokens=Sum("cached_tokens"),
        **money,
    )
    by_model = logs.values("provider", "model_used").annotate(requests=Count("pk"), **money).order_by("-cost_usd")
    by_day = logs.annotate(day=TruncDate("created_at")).values("day").annotate(requests=Count("pk"), **money)
    return {
        "since": since,
        **{name: value or 0 for name, value in totals.items()},
        "savings_by_kind": _savings_by_kind(workspace_id=workspace_id, since=since),
        "cache": dict(logs.values_list("cache_status").annotate(count=Count("pk")).order_by()),
        "by_model": list(by_model),
        "by_day": list(by_day.order_by("day")),
    }


def _savings_by_kind(*, workspace_id, since):
    """Sum each kind of saving in the logs' JSON ledgers, in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT saving.key, SUM(saving.value::numeric) FROM {RequestLog._meta.db_table} AS log, "
            "jsonb_each_text(log.savings) AS saving WHERE log.workspace_id = %s AND log.created_at >= %s "
            "GROUP BY saving.key ORDER BY saving.key",
            [workspace_id, since],
        )
        return {kind: total for kind, total in cursor.fetchall()}


def request_log_export_rows(*, workspace_id):
    """Return the workspace's request logs as dicts of their exported fields, by id (a lazy query)."""
    return RequestLog.objects.filter(workspace_id=workspace_id).order_by("pk").values(*EXPORTED_REQUEST_LOG_FIELDS)

