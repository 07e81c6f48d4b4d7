"""The declared inventory (accounts.data_inventory) against the models: nothing stored goes undeclared."""

from django.apps import apps

from accounts import data_inventory
from accounts.data_inventory import INVENTORY, NOT_CUSTOMER_DATA, Stored, covers


def undeclared(models, inventory=INVENTORY, exempt=NOT_CUSTOMER_DATA):
    labels = {model._meta.label for model in models}
    return sorted(
        label for label in labels if label not in exempt and not any(covers(entry, label) for entry in inventory)
    )


def test_every_model_is_in_the_inventory_or_declared_to_hold_no_customer_data():
    assert undeclared(apps.get_models()) == []


def test_the_inventory_names_only_models_that_exist():
    labels = {model._meta.label for model in apps.get_models()}
    app_labels = {config.label for config in apps.get_app_configs()}
    for entry in INVENTORY:
        for label in entry.models:
            app_label, _, name = label.partition(".")
            assert (label in labels) if name != "*" else (app_label in app_labels), label
    assert set(NOT_CUSTOMER_DATA) <= labels
    assert not set(NOT_CUSTOMER_DATA) & {label for label in labels if any(covers(e, label) for e in INVENTORY)}


def test_a_new_model_fails_until_it_is_declared():
    from django.db import models

    class Shadow(models.Model):
        secret_notes = models.TextField()

        class Meta:
            app_label = "cachestore"

    try:
        assert undeclared([*apps.get_models(), Shadow]) == ["cachestore.Shadow"]
        declared = (*INVENTORY, Stored("Notes", ("cachestore.Shadow",), "PostgreSQL", "notes", "—", "for ever"))
        assert undeclared([*apps.get_models(), Shadow], inventory=declared) == []
    finally:
        apps.all_models["cachestore"].pop("shadow", None)
        apps.clear_cache()


def test_every_period_the_inventory_names_is_one_the_page_fills_in():
    periods = {"retention_days": 30, "cache_ttl_days": 7.0, "deletion_window_days": 30}
    for entry in INVENTORY:
        entry.kept.format(**periods)  # a misspelt placeholder raises KeyError
    assert data_inventory.REDIS_KEYS
