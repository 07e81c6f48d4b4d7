"""Budgets at admission: USD per day, week or month (UTC) on the workspace, a key, an end user or a tag.

A request reserves its worst-case cost (the same estimate as the plan's spend cap) on every budget
that covers it, through the same counters as the plan quotas (proxy/admit/counters.py): a hard
budget refuses what would pass it (429 budget_exceeded, X-Optera-Budget-Reset), so a burst
overshoots by at most one request per process; a soft one only counts, and alerts at 80 % and
100 %. The account stage settles each reservation to the real cost; cache hits settle to nothing.
"""

import datetime
import logging

from asgiref.sync import sync_to_async
from django.conf import settings

from billing import selectors as billing_selectors
from billing.budgets import BudgetPeriod, budget_counter_key
from proxy.admit.quotas import MICRO_USD, THRESHOLDS, Held, limit_refusal
from proxy.db import LastKnown

BUDGETS_SECONDS = 5
logger = logging.getLogger(__name__)


class BudgetGate:
    def __init__(self, counters, quotas, background):
        self._counters = counters
        self._quotas = quotas
        self._background = background
        self._budgets = LastKnown(ttl_seconds=BUDGETS_SECONDS, outage_seconds=settings.OPTERA_KEY_OUTAGE_SECONDS)

    def remember(self, workspace_id, budgets):
        """Hold a workspace's budgets read ahead (a warm start), as if a request had just read them."""
        self._budgets.put(workspace_id, budgets)

    async def admit(self, ctx, body, ticket):
        """Reserve the request's estimated cost on each budget covering it; raise 429 when a hard one is spent."""
        if ticket is None:
            return
        record = ctx.record
        budgets = [budget for budget in await self._budgets_of(record.workspace_id) if _covers(budget, record)]
        now = datetime.datetime.now(datetime.UTC)
        for budget in budgets:
            period = BudgetPeriod.of(budget.period, now)
            estimate = await self._quotas.estimate(ticket, ctx, body)
            key = budget_counter_key(budget.pk, period)
            limit = int(budget.usd * MICRO_USD)
            taken = await self._counters.take(key, estimate, limit=limit, expires_at=period.ends_at)
            if taken.granted:
                self._alert_crossed(budget, taken.used - estimate, taken.used, limit, period)
            elif budget.hard:
                await self._quotas.give_back(ticket)
                self._alert(budget, 100, period)
                raise _refusal(budget, period)
            else:  # a soft budget counts past its limit and alerts (once: the alert is idempotent)
                await self._counters.adjust(key, estimate, expires_at=period.ends_at)
                self._alert(budget, 100, period)
            ticket.held.append(Held(key, estimate, period.ends_at, spend=True))

    async def _budgets_of(self, workspace_id):
        value, _stale = await self._budgets.get(workspace_id, billing_selectors.budgets_of, workspace_id=workspace_id)
        return value

    def _alert_crossed(self, budget, before, after, limit, period):
        for threshold in THRESHOLDS:
            if before < limit * threshold / 100 <= after:
                self._alert(budget, threshold, period)

    def _alert(self, budget, threshold, period):
        self._background.spawn(_enqueue_alert(budget.pk, threshold, period.label))


def _covers(budget, record):
    if budget.scope == "workspace":
        return True
    if budget.scope == "key":
        return budget.scope_value == str(record.api_key_id)
    if budget.scope == "user":
        return bool(record.end_user) and budget.scope_value == record.end_user
    return budget.scope_value in record.tags


def _refusal(budget, period):
    return limit_refusal(
        f"budget exceeded: {budget.describe()} is spent",
        code="budget_exceeded",
        reset_header="x-optera-budget-reset",
        ends_at=period.ends_at,
    )


async def _enqueue_alert(budget_id, threshold, period_label):
    """Ask the worker to alert the workspace's owners and admins (once per budget, threshold and period)."""
    try:
        from billing.tasks import budget_threshold_alert

        await sync_to_async(budget_threshold_alert.delay, thread_sensitive=False)(budget_id, threshold, period_label)
    except Exception:  # the broker being down must not fail requests
        logger.warning("could not enqueue the alert of budget %s", budget_id, exc_info=True)
