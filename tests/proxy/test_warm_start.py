"""What a starting proxy reads ahead, before it says it is ready: the keys in recent use, their budgets and plans."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey
from billing.models import Budget, Plan, WorkspacePlan
from proxy.warm_up import read_active_keys_ahead

pytestmark = [pytest.mark.django_db]


def test_keys_in_recent_use_are_read_ahead_with_their_budgets_and_plan():
    acme = services.workspace_create(name="acme")
    used, _ = services.api_key_create(workspace=acme, name="used")
    fresh, _ = services.api_key_create(workspace=acme, name="fresh")
    idle, _ = services.api_key_create(workspace=acme, name="idle")
    revoked, _ = services.api_key_create(workspace=acme, name="revoked")
    long_ago = timezone.now() - timedelta(days=3)
    ApiKey.objects.filter(pk=used.pk).update(created_at=long_ago, last_used_at=timezone.now())
    ApiKey.objects.filter(pk=idle.pk).update(created_at=long_ago, last_used_at=long_ago)
    services.api_key_revoke(api_key=revoked)
    budget = Budget.objects.create(workspace=acme, scope="workspace", usd=5, period="day")
    WorkspacePlan.objects.create(workspace=acme, plan=Plan.objects.create(name="team", monthly_request_quota=1000))
    gone = services.workspace_create(name="gone")
    services.api_key_create(workspace=gone)
    services.workspace_delete(workspace=gone)

    records, budgets, limits = read_active_keys_ahead()

    assert [record.api_key_id for record in records] == [used.pk, fresh.pk]
    assert budgets == {acme.pk: [budget]}
    assert limits[acme.pk].plan_name == "team" and limits[acme.pk].monthly_requests == 1000
