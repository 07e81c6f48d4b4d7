"""Writes for request logs, their daily rollups, and prices."""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from analytics.models import DailyUsage, RequestLog
from optera.db.batches import delete_in_batches, delete_past_retention
from optera.db.copy import insert_by_copy

EXPIRY_BATCH_SIZE = 5000
logger = logging.getLogger(__name__)


@dataclass
class UsageSums:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    saved_usd: Decimal = Decimal(0)
    savings: dict = field(default_factory=dict)

    def add(self, row):
        self.requests += 1
        self.errors += row.status_code >= 400
        self.prompt_tokens += row.prompt_tokens
        self.completion_tokens += row.completion_tokens
        self.cached_tokens += row.cached_tokens
        self.cost_usd += Decimal(row.cost_usd)
        self.saved_usd += Decimal(row.saved_usd)
        for kind, usd in (row.savings or {}).items():
            self.savings[kind] = self.savings.get(kind, 0.0) + float(usd)


def request_logs_store(*, rows):
    """Insert request-log rows and add them to their daily rollups, in one transaction.

    If the batch is refused (a workspace deleted meanwhile, a value PostgreSQL will not take),
    each row is tried on its own so one bad row does not cost the others. Return how many were stored.
    """
    try:
        with transaction.atomic():
            insert_by_copy(RequestLog, rows)
            _add_to_daily_usage(rows)
        return len(rows)
    except DatabaseError:
        stored = 0
        for row in rows:
            row.pk = None
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                    _add_to_daily_usage([row])
                stored += 1
            except DatabaseError:
                logger.info("dropped a request log the database refused")
        return stored


def _add_to_daily_usage(rows):
    groups = defaultdict(UsageSums)
    for row in rows:
        day = row.created_at.astimezone(datetime.UTC).date()
        groups[(row.workspace_id, day, row.provider, row.model_used, row.cache_status)].add(row)
    table = DailyUsage._meta.db_table
    # Sorted, so concurrent writers lock the rows in the same order and never deadlock on each other.
    parameters = [
        (
            *key,
            sums.requests,
            sums.errors,
            sums.prompt_tokens,
            sums.completion_tokens,
            sums.cached_tokens,
            sums.cost_usd,
            sums.saved_usd,
            orjson.dumps(sums.savings).decode(),
        )
        for key, sums in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1], *item[0][2:]))
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"""
            INSERT INTO {table} (workspace_id, day, provider, model_used, cache_status, requests, errors,
                prompt_tokens, completion_tokens, cached_tokens, cost_usd, saved_usd, savings)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
            ON CONFLICT (workspace_id, day, provider, model_used, cache_status) DO UPDATE SET
                requests = {table}.requests + EXCLUDED.requests,
                errors = {table}.errors + EXCLUDED.errors,
                prompt_tokens = {table}.prompt_tokens + EXCLUDED.prompt_tokens,
                completion_tokens = {table}.completion_tokens + EXCLUDED.completion_tokens,
                cached_tokens = {table}.cached_tokens + EXCLUDED.cached_tokens,
                cost_usd = {table}.cost_usd + EXCLUDED.cost_usd,
                saved_usd = {table}.saved_usd + EXCLUDED.saved_usd,
                savings = (
                    SELECT COALESCE(jsonb_object_agg(kind, total), '{{}}'::jsonb) FROM (
                        SELECT saving.key AS kind, SUM(saving.value::numeric) AS total FROM (
                            SELECT * FROM jsonb_each_text({table}.savings)
                            UNION ALL SELECT * FROM jsonb_each_text(EXCLUDED.savings)
                        ) AS saving GROUP BY saving.key
                    ) AS summed
                )
            """,
            parameters,
        )


def request_logs_expire(*, batch_size=EXPIRY_BATCH_SIZE, now=None):
    """Delete logs older than their workspace's retention, `batch_size` rows at a time.

    Their daily rollups were summed as each row was written (request_logs_store), so expiry is a
    plain delete: running it twice, or on two workers at once, deletes each row once.
    """
    return delete_past_retention(
        RequestLog.objects.all(), time_field="created_at", now=now or timezone.now(), batch_size=batch_size
    )


def request_logs_delete_for_workspace(*, workspace_id, batch_size=EXPIRY_BATCH_SIZE):
    """Delete every request log of a workspace, `batch_size` rows at a time."""
    return delete_in_batches(RequestLog.objects.filter(workspace_id=workspace_id), batch_size=batch_size)
