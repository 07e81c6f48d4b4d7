"""Closing one's own account through the management API."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Membership, Workspace


@pytest.fixture
def api(client):
    def post(path, body):
        return client.post(f"/api{path}", data=body, content_type="application/json")

    return post


def test_a_wrong_password_closes_nothing(client, people, api):
    client.force_login(people.outsider)

    refused = api("/account/close", {"password": "not it"})

    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "That password is not right."
    assert get_user_model().objects.filter(pk=people.outsider.pk).exists()
    assert Workspace.objects.get(pk=people.outsiders_workspace.pk).deleted_at is None
    assert api("/account/close", {}).status_code == 400


def test_closing_deletes_the_user_and_their_sole_workspace_and_leaves_shared_ones(client, people, api):
    shared = people.workspace
    Membership.objects.create(user=people.outsider, workspace=shared, role="member")
    client.force_login(people.outsider)

    assert api("/account/close", {"password": "a long pass phrase 93"}).status_code == 204

    assert not get_user_model().objects.filter(pk=people.outsider.pk).exists()
    assert Workspace.objects.get(pk=people.outsiders_workspace.pk).deleted_at is not None
    assert Workspace.objects.get(pk=shared.pk).deleted_at is None
    assert shared.memberships.count() == 3
    assert client.get("/api/workspaces").status_code == 401  # signed out


def test_strangers_cannot_close_anything(client, api):
    assert api("/account/close", {"password": "x"}).status_code == 401
