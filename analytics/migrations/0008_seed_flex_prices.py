"""Seed OpenAI's flex-tier prices (USD per million tokens): the Batch rate, half the standard price.

Only the models that offer flex get them; the others keep empty flex prices and go standard.
"""

from decimal import Decimal

from django.db import migrations

OPENAI_FLEX = [
    # model, flex input, flex output, flex cached input
    ("gpt-5", "0.625", "5.00", "0.0625"),
    ("gpt-5-mini", "0.125", "1.00", "0.0125"),
    ("gpt-5-nano", "0.025", "0.20", "0.0025"),
    ("o3", "1.00", "4.00", "0.25"),
    ("o4-mini", "0.55", "2.20", "0.1375"),
]


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("analytics", "ModelPrice")
    for model, input_price, output_price, cached_price in OPENAI_FLEX:
        ModelPrice.objects.filter(provider="openai", model=model, valid_to__isnull=True).update(
            flex_input_per_mtok=Decimal(input_price),
            flex_output_per_mtok=Decimal(output_price),
            flex_cached_input_per_mtok=Decimal(cached_price),
        )


def unseed(apps, schema_editor):
    apps.get_model("analytics", "ModelPrice").objects.update(
        flex_input_per_mtok=None, flex_output_per_mtok=None, flex_cached_input_per_mtok=None
    )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0007_flex_tier")]
    operations = [migrations.RunPython(seed, unseed)]
