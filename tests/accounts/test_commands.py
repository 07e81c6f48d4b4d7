import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts import keys, selectors
from accounts.models import ApiKey, Membership, Workspace


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_workspace_prints_one_json_line_with_a_working_key():
    output = run("create_workspace", "acme", "--email", "boss@acme.test", "--set", "summaries=on", "--json")
    lines = output.strip().splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert set(payload) == {"workspace_id", "api_key"}
    workspace = Workspace.objects.get(pk=payload["workspace_id"])
    assert workspace.settings.summaries_enabled is True
    assert Membership.objects.get(workspace=workspace).role == "owner"
    record = selectors.key_record_find(public_id=keys.parse_key(payload["api_key"]).public_id)
    assert selectors.key_record_verify(record=record, raw_key=payload["api_key"])


@pytest.mark.django_db
def test_create_workspace_refuses_a_duplicate_name():
    run("create_workspace", "acme", "--json")
    with pytest.raises(CommandError, match="exists already"):
        run("create_workspace", "acme", "--json")


@pytest.mark.django_db
def test_workspace_settings_prints_and_changes():
    run("create_workspace", "acme", "--json")
    shown = json.loads(run("workspace_settings", "acme"))
    assert shown["summaries"] is False and shown["cache"] == "semantic"
    changed = json.loads(
        run(
            "workspace_settings",
            "acme",
            "--set",
            "summaries=on",
            "--set",
            "cache_ttl=60",
            "--set",
            'aliases={"fast": "gpt-4o-mini"}',
        )
    )
    assert changed["summaries"] is True and changed["cache_ttl"] == 60 and changed["aliases"] == {"fast": "gpt-4o-mini"}
    assert Workspace.objects.get(name="acme").settings.summaries_enabled is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "assignment, message",
    [
        ("colour=blue", "unknown option 'colour'"),
        ("summaries=maybe", "not on/off"),
        ("cache=sometimes", "not one of off, exact, semantic"),
        ("semantic_threshold=0.1", "semantic_threshold"),
        ("retention_days=zero", "not a whole number"),
        ("cache_ttl=0", "cache_ttl"),
        ("aliases=[1,2]", "expected a JSON object"),
        ("noequals", "not KEY=VALUE"),
    ],
)
def test_workspace_settings_rejects_bad_values_clearly(assignment, message):
    run("create_workspace", "acme", "--json")
    before = json.loads(run("workspace_settings", "acme"))
    with pytest.raises(CommandError, match=message):
        run("workspace_settings", "acme", "--set", assignment)
    assert json.loads(run("workspace_settings", "acme")) == before


@pytest.mark.django_db
def test_create_and_revoke_api_key_by_preview():
    run("create_workspace", "acme", "--json")
    payload = json.loads(run("create_api_key", "acme", "--json"))
    api_key = ApiKey.objects.get(pk=payload["key_id"])
    assert "Revoked" in run("revoke_api_key", api_key.preview)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    with pytest.raises(CommandError, match="no API key"):
        run("revoke_api_key", "opt_…zzzz")


@pytest.mark.django_db
def test_unknown_workspace_is_a_clear_error():
    with pytest.raises(CommandError, match="no workspace 'nope'"):
        run("workspace_settings", "nope")
