"""The management API's workspace endpoints: workspaces, keys and settings, by role."""

import io
import json

import openai
import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, WorkspaceSettings
from accounts.workspace_options import OPTIONS
from proxy.errors import ProxyError
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


def test_a_workspace_may_shorten_its_retention_and_lengthen_it_only_as_far_as_its_plan_allows(client, tenants):
    from billing.models import Plan, WorkspacePlan

    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)
    assert patch_settings(client, acme, {"retention_days": 7}).json()["retention_days"] == 7
    refused = patch_settings(client, acme, {"retention_days": 90})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "retention_days: at most 30 days on this workspace's plan"
    assert WorkspaceSettings.objects.get(workspace=acme).retention_days == 7

    WorkspacePlan.objects.create(workspace=acme, plan=Plan.objects.create(name="long memory", max_retention_days=365))
    assert patch_settings(client, acme, {"retention_days": 90}).json()["retention_days"] == 90


def test_another_users_workspace_is_not_found(client, tenants):
    globex = tenants.outsider.workspace
    client.force_login(tenants.owner.user)
    for response in (
        client.get(f"/api/workspaces/{globex.pk}/keys"),
        client.get(f"/api/workspaces/{globex.pk}/settings"),
        patch_settings(client, globex, {"cache": "off"}),
        client.post(f"/api/workspaces/{globex.pk}/keys", {}, content_type="application/json"),
    ):
        assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"
    assert WorkspaceSettings.objects.get(workspace=globex).cache_mode == "semantic"


def test_the_openapi_document_lists_every_endpoint(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/workspaces", "/api/workspaces/{workspace_id}/keys", "/api/workspaces/{workspace_id}/usage"):
        assert path in paths


def test_every_endpoint_declares_its_answer_by_a_named_schema(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    operations = [(method, path, operation) for path, item in paths.items() for method, operation in item.items()]

    for method, path, operation in operations:
        successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
        if "204" in successes:  # a deletion that answers with no body, and nothing else
            assert successes == {"204": {"description": "No Content"}}, (method, path)
            continue
        assert len(successes) == 1, (method, path)
        schema = next(iter(successes.values()))["content"]["application/json"]["schema"]
        named = schema.get("items", schema)
        assert named.get("$ref", "").startswith("#/components/schemas/"), (method, path, schema)
    # Ten workspace and usage endpoints, closing one's account; billing's checkout and portal, budgets
    # (list, set, delete) and the webhook (show, set, delete): none escapes the checks above.
    assert len(operations) == 19


def test_the_settings_answer_names_every_option(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)
    every_option = {option.name for option in OPTIONS}

    read = client.get(f"/api/workspaces/{acme.pk}/settings").json()
    changed = patch_settings(client, acme, {"cache_ttl": 60}).json()

    assert set(read) == set(changed) == every_option
    assert read["operator_keys"] is False and read["rate_limit_per_minute"] == 600 and changed["cache_ttl"] == 60


def test_an_api_error_has_the_shape_and_type_v1_gives_its_status(client, tenants):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    client.force_login(tenants.member.user)
    responses = [
        client.get(f"/api/workspaces/{globex.pk}/settings"),
        patch_settings(client, acme, {"cache": "off"}),
        client.get("/api/workspaces/acme/keys"),
    ]
    client.logout()
    responses.append(client.get("/api/workspaces"))

    assert [response.status_code for response in responses] == [404, 403, 400, 401]
    for response in responses:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
        assert error["type"] == ProxyError(response.status_code, "on /v1").error_type


def test_an_unexpected_failure_is_a_500_typed_as_on_v1(rf):
    from optera.api import api

    response = api.on_exception(rf.get("/api/workspaces"), RuntimeError("a bug"))

    assert response.status_code == 500
    assert json.loads(response.content)["error"] == {
        "message": "internal error",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }


@pytest.mark.parametrize(
    "name, value, text",
    [
        ("cache_ttl", 0, "0"),
        ("semantic_threshold", 1.5, "1.5"),
        ("summary_trigger_tokens", 100, "100"),
        ("retention_days", 4000, "4000"),
        ("cheap_model", "   ", "   "),
        ("fallbacks", {"gpt-4o": []}, '{"gpt-4o": []}'),
        ("aliases", {"fast": "gpt-4o\u0007"}, '{"fast": "gpt-4o\\u0007"}'),
    ],
)
def test_the_api_and_the_command_refuse_a_value_in_the_same_words(client, tenants, name, value, text):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)

    refused = patch_settings(client, acme, {name: value})
    with pytest.raises(CommandError) as command_refused:
        call_command("workspace_settings", acme.name, "--set", f"{name}={text}", stdout=io.StringIO())

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == str(command_refused.value)
    assert str(command_refused.value).startswith(f"{name}: ")


def test_the_api_and_the_command_store_the_same_values(client, tenants):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    client.force_login(tenants.owner.user)
    body = {
        "cache": "exact",
        "cache_ttl": 60,
        "semantic_threshold": 0.9,
        "routing": False,
        "cheap_model": " gpt-4o-mini ",
        "fallbacks": {"gpt-4o": ["claude-sonnet-4-5"]},
        "summaries": True,
    }
    assignments = [
        "cache=exact",
        "cache_ttl=60",
        "semantic_threshold=0.9",
        "routing=off",
        "cheap_model= gpt-4o-mini ",
        'fallbacks={"gpt-4o": ["claude-sonnet-4-5"]}',
        "summaries=on",
    ]

    assert patch_settings(client, acme, body).status_code == 200
    call_command(
        "workspace_settings", globex.name, *[f"--set={assignment}" for assignment in assignments], stdout=io.StringIO()
    )

    fields = [
        field.name for field in WorkspaceSettings._meta.concrete_fields if field.name not in ("workspace", "updated_at")
    ]
    through_api = WorkspaceSettings.objects.filter(workspace=acme).values(*fields).get()
    through_command = WorkspaceSettings.objects.filter(workspace=globex).values(*fields).get()
    assert through_api == through_command
    assert through_api["cheap_model"] == "gpt-4o-mini" and through_api["semantic_threshold"] == 0.9


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


def test_a_key_is_created_with_a_tier_and_its_tier_changed_or_cleared(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)
    keys_url = f"/api/workspaces/{acme.pk}/keys"

    created = client.post(keys_url, {"name": "batch", "tier": "flex"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["tier"] == "flex"
    key_url = f"{keys_url}/{created.json()['id']}"
    renamed = client.patch(key_url, {"name": "nightly"}, content_type="application/json")
    assert renamed.json()["name"] == "nightly" and renamed.json()["tier"] == "flex"
    cleared = client.patch(key_url, {"tier": None}, content_type="application/json")
    assert cleared.status_code == 200 and cleared.json()["tier"] is None
    assert ApiKey.objects.get(pk=created.json()["id"]).tier == ""
    assert client.get(keys_url).json()[0]["tier"] is None


@pytest.mark.parametrize("body", [{"tier": "cheapest"}, {"tier": 5}, {"name": "x\u0000"}, {"name": "n" * 101}])
def test_a_bad_key_change_is_a_400_and_changes_nothing(client, tenants, body):
    client.force_login(tenants.owner.user)
    key = tenants.member.key_row
    response = client.patch(f"/api/workspaces/{key.workspace_id}/keys/{key.pk}", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert (ApiKey.objects.get(pk=key.pk).name, ApiKey.objects.get(pk=key.pk).tier) == (key.name, "")


def test_only_managers_change_a_key_and_only_in_their_workspace(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.member.user)
    url = f"/api/workspaces/{acme.pk}/keys/{tenants.member.key_row.pk}"
    assert client.patch(url, {"tier": "flex"}, content_type="application/json").status_code == 403
    client.force_login(tenants.owner.user)
    foreign = f"/api/workspaces/{acme.pk}/keys/{tenants.outsider.key_row.pk}"
    assert client.patch(foreign, {"tier": "flex"}, content_type="application/json").status_code == 404
    assert ApiKey.objects.get(pk=tenants.outsider.key_row.pk).tier == ""
