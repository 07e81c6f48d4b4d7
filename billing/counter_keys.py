"""The names of the shared usage counters (proxy/admit/counters.py): one place, so a purge finds them all.

A counter lives in Redis as optera:counter:<name> when Redis is configured, else as a UsageCounter
row named <name>. Names start with their scope, so everything a workspace counted can be found by
prefix when the workspace is purged.
"""

REDIS_PREFIX = "optera:counter:"


def redis_key(name):
    return f"{REDIS_PREFIX}{name}"


def monthly_quota(workspace_id, measure, month_label):
    """The plan quota a workspace's month uses up: measure is "requests" or "spend" (micro-dollars)."""
    return f"ws:{workspace_id}:{measure}:{month_label}"


def budget(budget_id, period_label):
    """The spend of one budget's period, in micro-dollars."""
    return f"budget:{budget_id}:{period_label}"


def workspace_rate(workspace_id, window):
    """The requests of every key of a workspace in one minute."""
    return f"rl:ws:{workspace_id}:{window}"


def key_rate(api_key_id, window):
    """The requests of one key in one minute."""
    return f"rl:key:{api_key_id}:{window}"


def prefixes_of_workspace(workspace_id, *, api_key_ids, budget_ids):
    """Every name prefix under which this workspace, its keys and its budgets count."""
    return (
        f"ws:{workspace_id}:",
        f"rl:ws:{workspace_id}:",
        *(f"rl:key:{api_key_id}:" for api_key_id in api_key_ids),
        *(f"budget:{budget_id}:" for budget_id in budget_ids),
    )
