"""Export and deletion of a workspace (privacy invariants 4 and 5): all of its data, only its data."""

import io
import json
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, Membership, Workspace, WorkspaceSettings
from analytics import services as analytics_services
from analytics.models import RequestLog
from cachestore import keys
from cachestore import services as cache_services
from cachestore.models import CacheEntry, CompressedPrompt, ConversationSummary

pytestmark = [pytest.mark.django_db(transaction=True)]


def store_everything(workspace, label):
    """Give the workspace one row of every kind it can own, each carrying `label`."""
    request_log = RequestLog(
        workspace=workspace, request_id=f"req_{label}", endpoint="chat.completions", status_code=200
    )
    analytics_services.request_logs_store(rows=[request_log])  # the log and its daily rollup
    CacheEntry.objects.create(
        workspace=workspace,
        kind="chat",
        key_hash=f"key-{label}",
        response={"answer": f"cached answer {label}"},
        usage={},
        cost_usd=0,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    ConversationSummary.objects.create(
        workspace=workspace,
        prefix_hash=f"prefix-{label}",
        summary_text=f"summary {label}",
        messages_summarised=4,
        tokens_before=400,
        tokens_after=40,
        model="gpt-4o-mini",
        cost_usd=0,
    )
    CompressedPrompt.objects.create(
        workspace=workspace,
        prompt_hash=f"prompt-{label}",
        compressed_text=f"compressed {label}",
        tokens_before=9,
        tokens_after=3,
    )


def store_late_answer(workspace):
    """Store an answer as a request that was in flight when its workspace was deleted would."""
    cache_services.cache_entry_store(
        workspace_id=workspace.pk,
        kind="chat",
        key_hash="late",
        context_hash="",
        model="gpt-4o-mini",
        provider="openai",
        response={},
        usage={},
        cost_usd=0,
        expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.fixture
def hot_tier():
    """Redis when the suite runs with it: one hot-tier answer per workspace, deleted afterwards."""
    if not settings.REDIS_URL:
        yield None
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    written = []

    def put(workspace):
        key = keys.redis_cache_key(workspace.pk, "hot")
        client.set(key, b"{}", ex=60)
        written.append(key)
        return key

    yield put, client
    if written:
        client.delete(*written)
    client.close()


def export(client, workspace):
    return client.get(f"/api/workspaces/{workspace.pk}/export")


def test_an_owner_exports_everything_stored_and_nothing_of_others(client, tenants):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    store_everything(acme, "acme")
    store_everything(globex, "globex")
    client.force_login(tenants.owner.user)

    response = export(client, acme)

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response).decode()
    document = json.loads(body)
    assert document["workspace"]["name"] == "acme"
    assert document["settings"]["cache_mode"] == "semantic"
    assert {member["email"] for member in document["members"]} == {"owner@acme.test", "member@acme.test"}
    assert {key["preview"] for key in document["api_keys"]} == {
        tenants.owner.key_row.preview,
        tenants.member.key_row.preview,
    }
    assert [log["request_id"] for log in document["request_logs"]] == ["req_acme"]
    assert document["cache_entries"][0]["response"] == {"answer": "cached answer acme"}
    assert document["conversation_summaries"][0]["summary_text"] == "summary acme"
    assert document["compressed_prompts"][0]["compressed_text"] == "compressed acme"
    assert "globex" not in body
    for secret in (
        tenants.owner.key_row.secret_hash,
        tenants.owner.key_row.salt,
        tenants.owner.api_key,
        acme.cache_secret,
    ):
        assert secret not in body


def test_an_export_of_many_rows_is_one_valid_document(client, tenants):
    acme = tenants.owner.workspace
    RequestLog.objects.bulk_create(
        RequestLog(workspace=acme, request_id=f"req_{index}", endpoint="chat.completions", status_code=200)
        for index in range(2001)
    )
    client.force_login(tenants.owner.user)

    document = json.loads(b"".join(export(client, acme)))

    assert len(document["request_logs"]) == 2001 and document["cache_entries"] == []


def test_the_export_is_the_document_its_openapi_schema_describes(client, tenants):
    acme = tenants.owner.workspace
    store_everything(acme, "acme")
    client.force_login(tenants.owner.user)

    document = json.loads(b"".join(export(client, acme)))
    openapi = client.get("/api/openapi.json").json()

    def named(schema):
        return openapi["components"]["schemas"][schema["$ref"].rpartition("/")[2]]

    answer = openapi["paths"]["/api/workspaces/{workspace_id}/export"]["get"]["responses"]["200"]
    described = named(answer["content"]["application/json"]["schema"])
    assert list(described["properties"]) == list(document)
    for section, content in document.items():
        declared = described["properties"][section]
        row = content[0] if isinstance(content, list) else content
        assert set(named(declared.get("items", declared))["properties"]) == set(row), section


@pytest.mark.parametrize(
    "who, status, error_type",
    [
        ("member", 403, "permission_error"),
        ("outsider", 404, "invalid_request_error"),
        (None, 401, "authentication_error"),
    ],
)
def test_export_and_delete_refuse_members_outsiders_and_strangers(client, tenants, who, status, error_type):
    acme = tenants.owner.workspace
    if who is not None:
        client.force_login(getattr(tenants, who).user)

    exported = export(client, acme)
    deleted = client.delete(f"/api/workspaces/{acme.pk}")

    for response in (exported, deleted):
        assert response.status_code == status
        assert response.json()["error"]["type"] == error_type
    assert Workspace.objects.get(pk=acme.pk).deleted_at is None
    assert ApiKey.objects.filter(workspace=acme).count() == 2


def test_an_admin_may_export_but_not_delete(client, tenants):
    acme = tenants.owner.workspace
    Membership.objects.filter(user=tenants.member.user).update(role=Membership.Role.ADMIN)
    client.force_login(tenants.member.user)

    assert export(client, acme).status_code == 200
    assert client.delete(f"/api/workspaces/{acme.pk}").status_code == 403


def test_deleting_a_workspace_removes_its_keys_and_cache_at_once_and_its_logs_in_the_purge(
    client, tenants, optera_server, hot_tier
):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    store_everything(acme, "acme")
    store_everything(globex, "globex")
    hot_keys = (hot_tier[0](acme), hot_tier[0](globex)) if hot_tier else None
    client.force_login(tenants.owner.user)

    assert client.delete(f"/api/workspaces/{acme.pk}").status_code == 204

    # At once: every key revoked; members, settings and every cached answer in the database gone.
    assert not ApiKey.objects.filter(workspace=acme, revoked_at__isnull=True).exists()
    assert not Membership.objects.filter(workspace=acme).exists()
    assert not WorkspaceSettings.objects.filter(workspace=acme).exists()
    for model in (CacheEntry, ConversationSummary, CompressedPrompt):
        assert not model.objects.filter(workspace=acme).exists()
        assert model.objects.filter(workspace=globex).count() == 1
    # The member's key was never used, so no proxy has it cached: it is refused right away.
    refused = httpx.post(
        f"{optera_server.v1}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {tenants.member.api_key}", "X-Provider-Key": "sk-test"},
    )
    assert refused.status_code == 401
    assert export(client, acme).status_code == 404
    with pytest.raises(CommandError):
        call_command("export_workspace", "acme", stdout=io.StringIO())
    # A request still in flight cannot cache an answer for the deleted workspace.
    with pytest.raises(cache_services.WorkspaceGone):
        store_late_answer(acme)

    # Then the purge: the Redis copies, the logs, the keys and the row; the other workspace keeps everything.
    services.workspace_purge(workspace_id=acme.pk)
    assert not Workspace.objects.filter(pk=acme.pk).exists()
    assert not ApiKey.objects.filter(pk=tenants.owner.key_row.pk).exists()
    assert not RequestLog.objects.filter(request_id="req_acme").exists()
    if hot_tier:
        assert hot_tier[1].exists(hot_keys[0]) == 0 and hot_tier[1].exists(hot_keys[1]) == 1
    assert RequestLog.objects.filter(workspace=globex).count() == 1
    assert ApiKey.objects.filter(workspace=globex).count() == 1
    with pytest.raises(cache_services.WorkspaceGone):  # and after the row is gone too
        store_late_answer(acme)


@pytest.mark.parametrize("through", ["api", "command"])
def test_deleting_a_workspace_enqueues_its_purge(client, tenants, tasks_run_inline, through):
    acme, globex = tenants.owner.workspace, tenants.outsider.workspace
    store_everything(acme, "acme")
    store_everything(globex, "globex")

    if through == "api":
        client.force_login(tenants.owner.user)
        assert client.delete(f"/api/workspaces/{acme.pk}").status_code == 204
    else:
        call_command("delete_workspace", "acme", "--yes", stdout=io.StringIO())

    assert not Workspace.objects.filter(pk=acme.pk).exists()
    assert not RequestLog.objects.filter(workspace_id=acme.pk).exists()
    assert RequestLog.objects.filter(workspace=globex).count() == 1


def test_the_hourly_sweep_purges_a_deletion_whose_task_was_lost(tenants):
    acme = tenants.owner.workspace
    store_everything(acme, "acme")
    Workspace.objects.filter(pk=acme.pk).update(deleted_at=timezone.now())

    services.workspaces_purge_deleted()

    assert not Workspace.objects.filter(pk=acme.pk).exists()
    assert Workspace.objects.filter(pk=tenants.outsider.workspace.pk).exists()


def test_request_logs_are_purged_in_batches(tenants):
    acme = tenants.owner.workspace
    RequestLog.objects.bulk_create(
        RequestLog(workspace=acme, request_id=f"req_{index}", endpoint="chat.completions", status_code=200)
        for index in range(2500)
    )

    assert analytics_services.request_logs_delete_for_workspace(workspace_id=acme.pk, batch_size=1000) == 2500
    assert not RequestLog.objects.filter(workspace=acme).exists()


def test_operator_commands_export_and_delete(tenants, tmp_path):
    acme = tenants.owner.workspace
    store_everything(acme, "acme")
    target = tmp_path / "acme.json"

    call_command("export_workspace", "acme", "--output", str(target), stderr=io.StringIO())
    printed = io.StringIO()
    call_command("export_workspace", str(acme.pk), stdout=printed)

    assert json.loads(target.read_text())["request_logs"][0]["request_id"] == "req_acme"
    assert json.loads(printed.getvalue()) == json.loads(target.read_text())
    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_workspace", "acme")
    assert Workspace.objects.get(pk=acme.pk).deleted_at is None
    call_command("delete_workspace", "acme", "--yes", stdout=io.StringIO())
    assert Workspace.objects.get(pk=acme.pk).deleted_at is not None
    assert not CacheEntry.objects.filter(workspace=acme).exists()


def test_the_export_streams_through_the_asgi_server(client, tenants, optera_server):
    """The production path: Django behind the ProtocolTypeRouter, the export read as an async stream."""
    acme = tenants.owner.workspace
    store_everything(acme, "acme")
    client.force_login(tenants.owner.user)
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}

    response = httpx.get(f"{optera_server.url}/api/workspaces/{acme.pk}/export", cookies=cookies)

    assert response.status_code == 200
    assert response.json()["conversation_summaries"][0]["summary_text"] == "summary acme"
