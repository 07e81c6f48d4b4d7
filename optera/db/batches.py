"""Large deletes in bounded batches: one huge DELETE holds locks and memory for its whole run."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F


def delete_in_batches(queryset, *, batch_size):
    """Delete the rows of `queryset`, `batch_size` primary keys at a time; return how many went."""
    deleted_total = 0
    while True:
        batch_ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not batch_ids:
            return deleted_total
        deleted, _ = queryset.model.objects.filter(pk__in=batch_ids).delete()
        deleted_total += deleted


def delete_past_retention(queryset, *, time_field, now, batch_size, workspace_path="workspace"):
    """Delete the rows of `queryset` whose `time_field` is older than their workspace's retention.

    The retention is compared per row in SQL. A workspace without a settings row (made in the
    admin, say) has the default, OPTERA_LOG_RETENTION_DAYS: a join on the settings alone would
    skip its rows, which were then kept for ever.
    """
    retention_days = f"{workspace_path}__settings__retention_days"
    older_than = f"{time_field}__lt"
    expired = queryset.filter(**{older_than: now - timedelta(days=1) * F(retention_days)})
    unset = queryset.filter(
        **{f"{workspace_path}__settings__isnull": True},
        **{older_than: now - timedelta(days=settings.OPTERA_LOG_RETENTION_DAYS)},
    )
    return delete_in_batches(expired, batch_size=batch_size) + delete_in_batches(unset, batch_size=batch_size)
