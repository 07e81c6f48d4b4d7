"""Reads for prices and request logs."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, DecimalField, FloatField, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.models import DailyUsage, ModelPrice, RequestLog
from analytics.pricing import Price

TOP_MODELS = 5
# The overview's median overhead is taken over this many of the latest requests, so it costs the same at any volume.
OVERHEAD_SAMPLE = 10_000
# What the request-log page shows of each row (no prompt hash, no client IP).
REQUEST_LOG_PAGE_FIELDS = (
    "created_at",
    "endpoint",
    "model_requested",
    "model_used",
    "status_code",
    "error_type",
    "cache_status",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "saved_usd",
    "overhead_ms",
)


class Median(Aggregate):
    """PostgreSQL's exact median of a column."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


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
    "cache_write_1h_tokens",
    "provider_cache_ttl",
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
    "tier",
    "end_user",
    "tags",
    "session_id",
    "session_path",
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
            flex_input=row.flex_input_per_mtok,
            flex_output=row.flex_output_per_mtok,
            flex_cached_input=row.flex_cached_input_per_mtok,
        )
        for row in rows
    }


EXPORTED_DAILY_USAGE_FIELDS = (
    "day",
    "provider",
    "model_used",
    "cache_status",
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "saved_usd",
    "savings",
)


def daily_usage_export_rows(*, workspace_id):
    """Return the workspace's daily rollups as dicts, oldest first (a lazy query)."""
    return (
        DailyUsage.objects.filter(workspace_id=workspace_id).order_by("day", "pk").values(*EXPORTED_DAILY_USAGE_FIELDS)
    )


def request_log_export_rows(*, workspace_id):
    """Return the workspace's request logs as dicts of their exported fields, by id (a lazy query)."""
    return RequestLog.objects.filter(workspace_id=workspace_id).order_by("pk").values(*EXPORTED_REQUEST_LOG_FIELDS)


@dataclass(frozen=True)
class RequestLogPage:
    rows: list
    next_before_id: int | None


def workspace_overview(*, workspace_id, since):
    """Return the dashboard's overview figures for a workspace from `since`'s UTC day on.

    Read from the daily rollups (a few rows a day, whatever the traffic), except the median
    overhead, taken over the latest requests. "Direct" is what the same requests would have cost
    sent straight to the provider: what was spent plus what each saving saved.
    """
    usage = DailyUsage.objects.filter(workspace_id=workspace_id, day__gte=since.astimezone(datetime.UTC).date())
    money = {
        "cost": Coalesce(Sum("cost_usd"), Decimal(0), output_field=DecimalField()),
        "saved": Coalesce(Sum("saved_usd"), Decimal(0), output_field=DecimalField()),
    }
    # Aliases differ from the column names: Django cannot name an aggregate after a column it sums.
    sums = usage.aggregate(
        total=Coalesce(Sum("requests"), 0),
        failed=Coalesce(Sum("errors"), 0),
        exact=Coalesce(Sum("requests", filter=Q(cache_status="hit")), 0),
        semantic=Coalesce(Sum("requests", filter=Q(cache_status="semantic")), 0),
        missed=Coalesce(Sum("requests", filter=Q(cache_status="miss")), 0),
        prompt=Coalesce(Sum("prompt_tokens"), 0),
        completion=Coalesce(Sum("completion_tokens"), 0),
        cached=Coalesce(Sum("cached_tokens"), 0),
        **money,
    )
    totals = {
        "requests": sums["total"],
        "errors": sums["failed"],
        "exact_hits": sums["exact"],
        "semantic_hits": sums["semantic"],
        "misses": sums["missed"],
        "prompt_tokens": sums["prompt"],
        "completion_tokens": sums["completion"],
        "cached_tokens": sums["cached"],
        "cost_usd": sums["cost"],
        "saved_usd": sums["saved"],
    }
    by_model = usage.values("provider", "model_used").annotate(count=Sum("requests"), **money)
    top_models = [
        {
            "provider": row["provider"],
            "model_used": row["model_used"],
            "requests": row["count"],
            "cost_usd": row["cost"],
            "saved_usd": row["saved"],
        }
        for row in by_model.order_by("-cost", "-count")[:TOP_MODELS]
    ]
    daily = _daily_savings(usage)
    direct = totals["cost_usd"] + totals["saved_usd"]
    looked_up = totals["exact_hits"] + totals["semantic_hits"] + totals["misses"]
    return {
        **totals,
        "overhead_p50_ms": _recent_overhead_median(workspace_id=workspace_id, since=since),
        "direct_usd": direct,
        "saved_percent": float(totals["saved_usd"] / direct * 100) if direct else 0.0,
        "error_percent": totals["errors"] / totals["requests"] * 100 if totals["requests"] else 0.0,
        "hit_percent": (totals["exact_hits"] + totals["semantic_hits"]) / looked_up * 100 if looked_up else 0.0,
        "top_models": top_models,
        "savings_by_kind": _kinds_total(daily),
        "daily": daily,
    }


def _daily_savings(usage):
    """Return [(day, cost, {kind: saved})] by UTC day from the rollups."""
    days = {}
    for day, cost, savings in usage.order_by("day").values_list("day", "cost_usd", "savings"):
        day_cost, kinds = days.setdefault(day, [Decimal(0), {}])
        days[day][0] = day_cost + cost
        for kind, usd in (savings or {}).items():
            kinds[kind] = kinds.get(kind, 0.0) + float(usd)
    return [(day, cost, kinds) for day, (cost, kinds) in days.items()]


def _recent_overhead_median(*, workspace_id, since):
    """Return the median time spent inside Optera over the latest requests (at most OVERHEAD_SAMPLE of them)."""
    recent = RequestLog.objects.filter(workspace_id=workspace_id, created_at__gte=since).order_by("-pk")
    sample = recent.values("pk")[:OVERHEAD_SAMPLE]
    return RequestLog.objects.filter(pk__in=sample).aggregate(p50=Median("overhead_ms"))["p50"] or 0.0


def _kinds_total(daily):
    totals = {}
    for _, _, kinds in daily:
        for kind, usd in kinds.items():
            totals[kind] = totals.get(kind, 0.0) + usd
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def overview_chart(overview, *, since, until):
    """Return the overview chart's data: for every UTC day of the period, what was spent and what each kind saved."""
    by_day = {day: (cost, kinds) for day, cost, kinds in overview["daily"]}
    first, last = since.astimezone(datetime.UTC).date(), until.astimezone(datetime.UTC).date()
    days = [first + datetime.timedelta(days=offset) for offset in range((last - first).days + 1)]
    kinds = sorted({kind for _, day_kinds in by_day.values() for kind in day_kinds})
    empty = (Decimal(0), {})
    series = [{"label": "spent", "values": [round(float(by_day.get(day, empty)[0]), 6) for day in days]}]
    for kind in kinds:
        values = [round(by_day.get(day, empty)[1].get(kind, 0.0), 6) for day in days]
        series.append({"label": f"saved: {kind}", "values": values})
    return {"days": [day.isoformat() for day in days], "series": series}


def workspace_has_requests(*, workspace_id):
    return RequestLog.objects.filter(workspace_id=workspace_id).exists()


def request_log_page(*, workspace_id, filters, before_id=None, limit=50):
    """Return a page of the request log, newest first, after `before_id` (keyset paging: no count query)."""
    logs = RequestLog.objects.filter(workspace_id=workspace_id)
    if filters.get("model"):
        logs = logs.filter(model_used=filters["model"])
    if filters.get("status") == "ok":
        logs = logs.filter(status_code__lt=400)
    elif filters.get("status") == "error":
        logs = logs.filter(status_code__gte=400)
    if filters.get("cache"):
        logs = logs.filter(cache_status=filters["cache"])
    if filters.get("day"):
        start = datetime.datetime.combine(filters["day"], datetime.time.min, tzinfo=datetime.UTC)
        logs = logs.filter(created_at__gte=start, created_at__lt=start + datetime.timedelta(days=1))
    if before_id:
        logs = logs.filter(pk__lt=before_id)
    rows = list(logs.order_by("-pk").only(*REQUEST_LOG_PAGE_FIELDS)[: limit + 1])
    return RequestLogPage(rows=rows[:limit], next_before_id=rows[limit - 1].pk if len(rows) > limit else None)


# What the usage report can group by: the request log's column for each (tags are unnested).
GROUP_COLUMNS = {"user": "end_user", "session": "session_id", "model": "model_used", "key": "api_key_id"}


def usage_groups(*, workspace_id, since, group_by, limit, offset):
    """Return the workspace's spend grouped by end user, tag, session, key or model, by cost, paged.

    Each group: key, requests, errors, prompt and completion tokens, cost and saved (USD). A
    request with several tags counts once in each; requests without the attribute group under "".
    """
    table = RequestLog._meta.db_table
    if group_by == "tag":
        source, key = f"{table} AS log CROSS JOIN LATERAL unnest(log.tags) AS grouped(value)", "grouped.value"
    elif group_by == "key":
        api_keys = RequestLog._meta.get_field("api_key").related_model._meta.db_table
        source = f"{table} AS log LEFT JOIN {api_keys} AS api_key ON api_key.id = log.api_key_id"
        key = "COALESCE(api_key.preview, '')"
    else:
        source, key = f"{table} AS log", f"log.{GROUP_COLUMNS[group_by]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {key} AS key, COUNT(*), COUNT(*) FILTER (WHERE log.status_code >= 400),
                   COALESCE(SUM(log.prompt_tokens), 0), COALESCE(SUM(log.completion_tokens), 0),
                   COALESCE(SUM(log.cost_usd), 0), COALESCE(SUM(log.saved_usd), 0)
            FROM {source} WHERE log.workspace_id = %s AND log.created_at >= %s
            GROUP BY 1 ORDER BY 6 DESC, 2 DESC, 1 LIMIT %s OFFSET %s
            """,
            [workspace_id, since, limit, offset],
        )
        columns = ("key", "requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "saved_usd")
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def session_requests(*, workspace_id, session_id, limit=500):
    """Return a session's requests (an agent run or a conversation) in the order they were made."""
    logs = RequestLog.objects.filter(workspace_id=workspace_id, session_id=session_id).order_by("created_at", "id")
    return list(
        logs.only(
            "created_at",
            "session_path",
            "endpoint",
            "model_used",
            "provider",
            "status_code",
            "cache_status",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "saved_usd",
            "total_ms",
        )[:limit]
    )
