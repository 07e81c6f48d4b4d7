"""Reads for prices and request logs."""

from django.db.models import Q
from django.utils import timezone

from analytics.models import ModelPrice
from analytics.pricing import Price


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
