"""The management API's workspace endpoints: workspaces, keys and settings, by role."""

import openai
import pytest

from accounts.models import ApiKey, WorkspaceSettings
from tests.conftest import PROVIDER_KEY_CANARY

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_user_lists_only_the_workspaces_they_belong_to(client, tenants):
    client.force_login(tenants.owner.user)
    assert [(row["name"], row["role"]) for row in client.get("/api/workspaces").json()] == [("acme", "owner")]
    client.force_login(tenants.outsider.user)
    assert [row["name"] for row in client.get("/api/workspaces").json()] == ["globex"]
    client.logout()
    assert client.get("/api/workspaces").status_code == 401


def test_keys_are_listed_by_preview_and_a_new_one_is_shown_once_and_works(client, tenants, optera_server):
    acme = tenants.owner.workspace
    client.force_login(tenants.member.user)
    listed = client.get(f"/api/workspaces/{acme.pk}/keys")
    assert {row["preview"] for row in listed.json()} == {tenants.owner.key_row.preview, tenants.member.key_row.preview}
    assert tenants.owner.key_row.secret_hash not in listed.content.decode()
    assert (
        client.post(f"/api/workspaces/{acme.pk}/keys", {"name": "ci"}, content_type="application/json").status_code
        == 403
    )

    client.force_login(tenants.owner.user)
    created = client.post(f"/api/workspaces/{acme.pk}/keys", {"name": "ci"}, content_type="application/json")

    assert created.status_code == 201
    full_key = created.json()["api_key"]
    assert full_key.startswith("opt_") and created.json()["name"] == "ci"
    assert full_key not in client.get(f"/api/workspaces/{acme.pk}/keys").content.decode()
    sdk = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=full_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    assert sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]).choices


def test_a_key_is_revoked_only_within_its_own_workspace(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)

    other_workspaces_key = client.delete(f"/api/workspaces/{acme.pk}/keys/{tenants.outsider.key_row.pk}")
    revoked = client.delete(f"/api/workspaces/{acme.pk}/keys/{tenants.member.key_row.pk}")

    assert other_workspaces_key.status_code == 404
    assert ApiKey.objects.get(pk=tenants.outsider.key_row.pk).revoked_at is None
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert ApiKey.objects.get(pk=tenants.member.key_row.pk).revoked_at is not None


def patch_settings(client, workspace, body):
    return client.patch(f"/api/workspaces/{workspace.pk}/settings", body, content_type="application/json")


def test_owners_change_settings_and_members_only_read_them(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.member.user)
    assert client.get(f"/api/workspaces/{acme.pk}/settings").json()["cache"] == "semantic"
    assert patch_settings(client, acme, {"cache": "off"}).status_code == 403

    client.force_login(tenants.owner.user)
    changed = patch_settings(client, acme, {"cache": "exact", "summaries": True, "aliases": {"fast": "gpt-4o-mini"}})

    assert changed.status_code == 200
    assert changed.json()["cache"] == "exact" and changed.json()["summaries"] is True
    stored = WorkspaceSettings.objects.get(workspace=acme)
    assert stored.cache_mode == "exact" and stored.summaries_enabled and stored.model_aliases == {"fast": "gpt-4o-mini"}


@pytest.mark.parametrize(
    "body, named",
    [
        ({"operator_keys": True}, "operator_keys"),
        ({"rate_limit_per_minute": 1_000_000_000}, "rate_limit_per_minute"),
        ({"semantic_threshold": 0.2}, "semantic_threshold"),
        ({"cache": "everything"}, "cache"),
        ({"retention_days": 0}, "retention_days"),
        ({"cheap_model": "gpt\u0000mini"}, "cheap_model"),
        ({"aliases": {"fast": "gpt-4o\u0000"}}, "aliases"),
    ],
)
def test_operator_only_and_invalid_settings_are_refused_and_change_nothing(client, tenants, body, named):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)

    response = patch_settings(client, acme, {"summaries": True, **body})

    assert response.status_code == 400
    assert named in response.json()["error"]["message"]
    stored = WorkspaceSettings.objects.get(workspace=acme)
    assert not stored.allow_operator_keys and not stored.summaries_enabled and stored.rate_limit_per_minute == 600


def test_another_users_workspace_is_not_found(client, tenants):
    globex = tenants.outsider.workspace
    client.force_login(tenants.owner.user)
    for response in (
        client.get(f"/api/workspaces/{globex.pk}/keys"),
        client.get(f"/api/workspaces/{globex.pk}/settings"),
        patch_settings(client, globex, {"cache": "off"}),
        client.post(f"/api/workspaces/{globex.pk}/keys", {}, content_type="application/json"),
    ):
        assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
    assert WorkspaceSettings.objects.get(workspace=globex).cache_mode == "semantic"


def test_the_openapi_document_lists_every_endpoint(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/workspaces", "/api/workspaces/{workspace_id}/keys", "/api/workspaces/{workspace_id}/usage"):
        assert path in paths


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_threshold_is_refused(client, tenants, number):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)

    response = client.patch(
        f"/api/workspaces/{acme.pk}/settings",
        f'{{"semantic_threshold": {number}}}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert WorkspaceSettings.objects.get(workspace=acme).semantic_threshold == 0.8


def test_a_key_name_with_control_characters_is_a_400_not_a_500(client, tenants):
    client.force_login(tenants.owner.user)
    response = client.post(
        f"/api/workspaces/{tenants.owner.workspace.pk}/keys", {"name": "ci\u0000"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_a_malformed_path_is_a_400_in_the_error_shape(client, tenants):
    client.force_login(tenants.owner.user)
    response = client.get("/api/workspaces/acme/keys")
    assert response.status_code == 400 and "workspace_id" in response.json()["error"]["message"]
