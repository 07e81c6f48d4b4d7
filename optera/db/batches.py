"""Large deletes in bounded batches: one huge DELETE holds locks and memory for its whole run."""


def delete_in_batches(queryset, *, batch_size):
    """Delete the rows of `queryset`, `batch_size` primary keys at a time; return how many went."""
    deleted_total = 0
    while True:
        batch_ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not batch_ids:
            return deleted_total
        deleted, _ = queryset.model.objects.filter(pk__in=batch_ids).delete()
        deleted_total += deleted
