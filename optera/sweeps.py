"""Every sweep that keeps stored data within the privacy policy's periods, by name.

Celery beat runs each on its schedule (optera.celery); `manage.py sweep [NAME ...] [--as-of ISO]`
runs them now, as if the clock read --as-of. Each is a service that takes `now`, works in batches
and is idempotent: running one twice, or on two workers at once, deletes each row once.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Sweep:
    name: str
    service: str  # dotted path of a function taking now=
    every: timedelta
    removes: str


SWEEPS = (
    Sweep("cache", "cachestore.services.cache_entries_expire", timedelta(minutes=10), "cached answers past their TTL"),
    Sweep(
        "logs",
        "analytics.services.request_logs_expire",
        timedelta(hours=1),
        "request logs past the workspace's retention (their daily rollups stay)",
    ),
    Sweep(
        "shaping",
        "cachestore.services.shaping_expire",
        timedelta(hours=6),
        "compressed system prompts and conversation summaries unused for the workspace's retention",
    ),
    Sweep(
        "workspaces",
        "accounts.services.workspaces_purge_deleted",
        timedelta(hours=1),
        "what is left of deleted workspaces (each deletion also enqueues its own purge)",
    ),
    Sweep(
        "counters",
        "billing.services.usage_counters_expire",
        timedelta(minutes=10),
        "usage counters and alert claims of ended periods",
    ),
    Sweep(
        "webhooks",
        "billing.services.webhook_deliveries_expire",
        timedelta(hours=6),
        "webhook delivery records past the workspace's retention",
    ),
    Sweep("sessions", "accounts.services.sessions_expire", timedelta(hours=6), "expired sign-in sessions"),
    Sweep(
        "emails",
        "accounts.emails.emails_expire",
        timedelta(hours=6),
        "records of sent emails (address, subject) older than the deletion window",
    ),
)
SWEEP_NAMES = tuple(sweep.name for sweep in SWEEPS)


def sweep_run(name, *, now=None):
    """Run the sweep called `name`; return how many rows or keys it removed."""
    sweep = next(sweep for sweep in SWEEPS if sweep.name == name)
    return import_string(sweep.service)(now=now) or 0
