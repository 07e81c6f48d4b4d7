"""Seed list prices (USD per million tokens) for OpenAI and Anthropic models, as published in 2025-2026.

Operators edit them in the admin; a price change is a new row with a later valid_from.
Anthropic's cache writes cost 1.25x input and cache reads 0.1x input (5-minute cache).
"""

from decimal import Decimal

from django.db import migrations

OPENAI = [
    # model, input, output, cached input
    ("gpt-4o", "2.50", "10.00", "1.25"),
    ("gpt-4o-mini", "0.15", "0.60", "0.075"),
    ("gpt-4.1", "2.00", "8.00", "0.50"),
    ("gpt-4.1-mini", "0.40", "1.60", "0.10"),
    ("gpt-4.1-nano", "0.10", "0.40", "0.025"),
    ("gpt-5", "1.25", "10.00", "0.125"),
    ("gpt-5-mini", "0.25", "2.00", "0.025"),
    ("gpt-5-nano", "0.05", "0.40", "0.005"),
    ("gpt-4-turbo", "10.00", "30.00", "10.00"),
    ("gpt-3.5-turbo", "0.50", "1.50", "0.50"),
    ("o1", "15.00", "60.00", "7.50"),
    ("o3", "2.00", "8.00", "0.50"),
    ("o3-mini", "1.10", "4.40", "0.55"),
    ("o4-mini", "1.10", "4.40", "0.275"),
    ("text-embedding-3-small", "0.02", "0", "0"),
    ("text-embedding-3-large", "0.13", "0", "0"),
    ("text-embedding-ada-002", "0.10", "0", "0"),
]

ANTHROPIC = [
    # model, input, output
    ("claude-opus-4-5", "5.00", "25.00"),
    ("claude-opus-4-1", "15.00", "75.00"),
    ("claude-opus-4", "15.00", "75.00"),
    ("claude-sonnet-4-5", "3.00", "15.00"),
    ("claude-sonnet-4", "3.00", "15.00"),
    ("claude-3-7-sonnet", "3.00", "15.00"),
    ("claude-3-5-sonnet", "3.00", "15.00"),
    ("claude-haiku-4-5", "1.00", "5.00"),
    ("claude-3-5-haiku", "0.80", "4.00"),
    ("claude-3-haiku", "0.25", "1.25"),
]


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("analytics", "ModelPrice")
    rows = [
        ModelPrice(
            provider="openai",
            model=model,
            input_per_mtok=Decimal(input_price),
            output_per_mtok=Decimal(output_price),
            cached_input_per_mtok=Decimal(cached_price),
            cache_write_per_mtok=Decimal(input_price),
        )
        for model, input_price, output_price, cached_price in OPENAI
    ]
    rows += [
        ModelPrice(
            provider="anthropic",
            model=model,
            input_per_mtok=Decimal(input_price),
            output_per_mtok=Decimal(output_price),
            cached_input_per_mtok=Decimal(input_price) * Decimal("0.1"),
            cache_write_per_mtok=Decimal(input_price) * Decimal("1.25"),
        )
        for model, input_price, output_price in ANTHROPIC
    ]
    ModelPrice.objects.bulk_create(rows)


def unseed(apps, schema_editor):
    apps.get_model("analytics", "ModelPrice").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
