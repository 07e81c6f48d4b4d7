"""Setting budgets: the one place that validates a budget's scope, amount and period (commands and API call it)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from billing import counter_keys
from billing.models import Budget


@dataclass(frozen=True)
class BudgetPeriod:
    label: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime

    @classmethod
    def of(cls, period, moment):
        """The UTC day, ISO week (from Monday) or calendar month that `moment` falls in."""
        day = moment.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if period == "day":
            return cls(label=day.strftime("%Y-%m-%d"), starts_at=day, ends_at=day + datetime.timedelta(days=1))
        if period == "week":
            monday = day - datetime.timedelta(days=day.weekday())
            return cls(label=monday.strftime("%G-W%V"), starts_at=monday, ends_at=monday + datetime.timedelta(days=7))
        month = day.replace(day=1)
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        return cls(label=month.strftime("%Y-%m"), starts_at=month, ends_at=next_month)


# Counters of spend count micro-dollars.
MICRO_USD = Decimal(1_000_000)


def budget_counter_key(budget_id, period):
    """The counter a budget's period spends against, in micro-dollars (Redis or UsageCounter)."""
    return counter_keys.budget(budget_id, period.label)


class InvalidBudget(ValueError):
    """A budget scope, amount or period that cannot be set."""


def budget_scope_parse(text):
    """Turn "workspace", "key:12", "user:alice" or "tag:team:search" into (scope, value)."""
    kind, _, value = text.partition(":")
    if kind == Budget.Scope.WORKSPACE and not value:
        return kind, ""
    if kind in (Budget.Scope.KEY, Budget.Scope.USER, Budget.Scope.TAG) and value:
        if kind == Budget.Scope.KEY and not value.isdigit():
            raise InvalidBudget("a key budget names the key's id: key:ID")
        if len(value) > 128 or not value.isprintable():
            raise InvalidBudget("a scope's value is at most 128 printable characters")
        return kind, value
    raise InvalidBudget("the scope is workspace, key:KEY_ID, user:END_USER or tag:TAG")


def budget_set(*, workspace, scope, scope_value, usd, period, hard):
    """Create or replace the workspace's budget for this scope and period; return it."""
    try:
        amount = Decimal(str(usd))
    except InvalidOperation:
        raise InvalidBudget(f"{usd!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e8"):
        raise InvalidBudget("the amount is a number of USD from 0 up to 100,000,000")
    if period not in Budget.Period.values:
        raise InvalidBudget("the period is day, week or month")
    if scope == Budget.Scope.KEY and not workspace.api_keys.filter(pk=int(scope_value)).exists():
        raise InvalidBudget(f"this workspace has no key {scope_value}")
    budget, _ = Budget.objects.update_or_create(
        workspace=workspace,
        scope=scope,
        scope_value=scope_value,
        period=period,
        defaults={"usd": amount.quantize(Decimal("0.00000001")), "hard": hard},
    )
    return budget


def budget_delete(*, workspace, budget_id):
    """Delete one of the workspace's budgets; return whether there was one."""
    deleted, _ = Budget.objects.filter(workspace=workspace, pk=budget_id).delete()
    return bool(deleted)
