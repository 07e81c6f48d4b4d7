import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts import services


@pytest.mark.django_db
def test_every_model_of_ours_is_registered_and_lists(client):
    from django.apps import apps
    from django.contrib import admin

    admin_user = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(admin_user)
    workspace = services.workspace_create(name="acme", owner_email="boss@acme.test")
    api_key, full_key = services.api_key_create(workspace=workspace)
    for app_label in ("accounts", "analytics", "billing"):
        for model in apps.get_app_config(app_label).get_models():
            assert model in admin.site._registry, f"{model.__name__} is not in the admin"
            page = client.get(reverse(f"admin:{app_label}_{model._meta.model_name}_changelist"))
            assert page.status_code == 200
    key_list = client.get(reverse("admin:accounts_apikey_changelist")).content.decode()
    key_page = client.get(reverse("admin:accounts_apikey_change", args=[api_key.pk])).content.decode()
    assert api_key.preview in key_list
    for page in (key_list, key_page):
        assert api_key.secret_hash not in page and api_key.salt not in page and full_key not in page
