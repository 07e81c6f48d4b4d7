"""Setting budgets: the one place that validates a budget's scope, amount and period (commands and API call it)."""

from decimal import Decimal, InvalidOperation

from billing.models import Budget


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
