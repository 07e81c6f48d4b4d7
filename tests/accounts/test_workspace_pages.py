"""The workspace pages by role: owners and admins manage, members read, outsiders get a 404."""

import re

import pytest
from django.test import Client

from accounts.models import ApiKey, Invitation, Membership, WorkspaceSettings

pytestmark = [pytest.mark.django_db]
PAGES = ("", "requests/", "keys/", "settings/", "members/", "privacy/")


@pytest.mark.parametrize("page", PAGES + ("billing/",))
def test_an_outsider_gets_a_404_and_an_anonymous_visitor_the_sign_in_page(client, people, page):
    url = f"/w/{people.workspace.pk}/{page}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    client.force_login(people.outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "x"}).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_every_member_reads_every_page(client, people, page):
    client.force_login(people.member)
    response = client.get(f"/w/{people.workspace.pk}/{page}")
    assert response.status_code == 200
    assert "acme" in response.content.decode()


def test_billing_is_for_owners_and_admins(client, people):
    client.force_login(people.member)
    assert client.get(f"/w/{people.workspace.pk}/billing/").status_code == 403
    client.force_login(people.admin)
    assert client.get(f"/w/{people.workspace.pk}/billing/").status_code == 200


@pytest.mark.parametrize(
    "path, form",
    [
        ("keys/", {"name": "ci"}),
        ("settings/", {"cache": "off"}),
        ("members/", {"email": "x@y.test", "role": "member"}),
    ],
)
def test_every_form_needs_its_csrf_token(people, path, form):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.owner)
    assert client.post(f"/w/{people.workspace.pk}/{path}", form).status_code == 403
    assert not ApiKey.objects.filter(name="ci").exists() and not Invitation.objects.exists()


def test_an_admin_creates_a_key_shown_once_and_revokes_it(client, people):
    client.force_login(people.admin)
    created = client.post(f"/w/{people.workspace.pk}/keys/", {"name": "ci"}, follow=True)
    key = re.search(r'<code id="new-key">(opt_[^<]+)</code>', created.content.decode()).group(1)
    api_key = ApiKey.objects.get(name="ci")
    assert (
        api_key.preview.endswith(key[-4:]) and key not in client.get(f"/w/{people.workspace.pk}/keys/").content.decode()
    )

    client.post(f"/w/{people.workspace.pk}/keys/{api_key.pk}/revoke/")
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_a_key_created_on_the_page_takes_a_tier_and_a_bad_one_is_a_form_error(client, people):
    client.force_login(people.admin)
    client.post(f"/w/{people.workspace.pk}/keys/", {"name": "batch", "tier": "flex"})
    assert ApiKey.objects.get(name="batch").tier == "flex"
    page = client.get(f"/w/{people.workspace.pk}/keys/").content.decode()
    assert "<td>Flex</td>" in page

    refused = client.post(f"/w/{people.workspace.pk}/keys/", {"name": "odd", "tier": "cheapest"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not ApiKey.objects.filter(name="odd").exists()


def test_a_member_can_neither_create_nor_revoke_keys(client, people):
    from accounts import services

    api_key, _ = services.api_key_create(workspace=people.workspace, name="prod")
    client.force_login(people.member)
    assert client.post(f"/w/{people.workspace.pk}/keys/", {"name": "ci"}).status_code == 403
    assert client.post(f"/w/{people.workspace.pk}/keys/{api_key.pk}/revoke/").status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None and not ApiKey.objects.filter(name="ci").exists()


def test_a_key_of_another_workspace_cannot_be_revoked_through_this_one(client, people):
    from accounts import services

    theirs, _ = services.api_key_create(workspace=people.outsiders_workspace, name="theirs")
    client.force_login(people.owner)
    assert client.post(f"/w/{people.workspace.pk}/keys/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def settings_form(**changes):
    values = {
        "cache": "semantic",
        "cache_ttl": "3600",
        "semantic_threshold": "0.85",
        "verify_sample_rate": "0",
        "verify_disagreement_bound": "0.01",
        "verify_min_samples": "20",
        "routing": "on",
        "cheap_model": "gpt-4o-mini",
        "strong_model": "gpt-4o",
        "aliases": '{"fast": "gpt-4o-mini"}',
        "fallbacks": "{}",
        "compression": "on",
        "summary_trigger_tokens": "4000",
        "summary_keep_recent_turns": "4",
        "provider_prompt_cache": "on",
        "anthropic_cache_ttl": "auto",
        "tier": "standard",
        "retention_days": "30",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_settings_save_with_the_apis_validation(client, people):
    client.force_login(people.owner)
    response = client.post(f"/w/{people.workspace.pk}/settings/", settings_form())
    assert response.status_code == 302
    saved = WorkspaceSettings.objects.get(workspace=people.workspace)
    assert (saved.cache_ttl_seconds, saved.semantic_threshold, saved.model_aliases) == (
        3600,
        0.85,
        {"fast": "gpt-4o-mini"},
    )
    assert saved.summaries_enabled is False  # an unticked box is "off"


def test_settings_turn_verify_sampling_on_within_its_bounds(client, people):
    client.force_login(people.owner)
    refused = client.post(f"/w/{people.workspace.pk}/settings/", settings_form(verify_sample_rate="1.5"))
    assert refused.status_code == 200 and "verify_sample_rate" in refused.context["form"].errors
    client.post(f"/w/{people.workspace.pk}/settings/", settings_form(verify_sample_rate="0.1"))
    assert WorkspaceSettings.objects.get(workspace=people.workspace).verify_sample_rate == 0.1


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("semantic_threshold", "0.3", "greater than or equal to 0.5"),
        ("semantic_threshold", "nan", "finite"),
        ("cache_ttl", "ten", "not a whole number"),
        ("aliases", "[1, 2]", "expected a JSON object"),
        ("cache", "sometimes", "not one of"),
    ],
)
def test_a_bad_setting_is_a_form_error_and_nothing_changes(client, people, field, value, message):
    client.force_login(people.owner)
    response = client.post(f"/w/{people.workspace.pk}/settings/", settings_form(**{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert WorkspaceSettings.objects.get(workspace=people.workspace).cache_ttl_seconds == 7 * 24 * 3600


def test_operator_owned_settings_cannot_be_changed_from_the_page(client, people):
    client.force_login(people.owner)
    client.post(
        f"/w/{people.workspace.pk}/settings/",
        settings_form(operator_keys="on", rate_limit_per_minute="100000"),
    )
    saved = WorkspaceSettings.objects.get(workspace=people.workspace)
    assert saved.allow_operator_keys is False and saved.rate_limit_per_minute == 600


def test_a_member_cannot_change_settings(client, people):
    client.force_login(people.member)
    assert client.post(f"/w/{people.workspace.pk}/settings/", settings_form(cache="off")).status_code == 403
    assert WorkspaceSettings.objects.get(workspace=people.workspace).cache_mode == "semantic"


def test_an_invitation_is_emailed_and_its_link_joins_once(
    client, people, mailoutbox, django_user_model, django_capture_on_commit_callbacks, tasks_run_inline
):
    client.force_login(people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/w/{people.workspace.pk}/members/", {"email": "Friend@New.test", "role": "admin"})
    assert mailoutbox[0].to == ["friend@new.test"]
    link = re.search(r"http://testserver(/invitations/\S+/)", mailoutbox[0].body).group(1)

    friend = django_user_model.objects.create_user(username="friend@new.test", email="friend@new.test", password="x")
    client.force_login(friend)
    assert client.get(link).status_code == 200
    assert client.post(link).url == f"/w/{people.workspace.pk}/"
    assert Membership.objects.get(user=friend, workspace=people.workspace).role == "admin"
    client.force_login(people.outsider)
    client.post(link)
    assert not Membership.objects.filter(user=people.outsider, workspace=people.workspace).exists()


def test_an_expired_or_forged_invitation_link_joins_nothing(
    client, people, mailoutbox, settings, django_capture_on_commit_callbacks, tasks_run_inline
):
    client.force_login(people.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/w/{people.workspace.pk}/members/", {"email": "late@new.test", "role": "member"})
    link = re.search(r"http://testserver(/invitations/\S+/)", mailoutbox[0].body).group(1)
    client.force_login(people.outsider)
    assert "not valid" in client.post(link[:-4] + "abc/", follow=True).content.decode()
    settings.OPTERA_INVITATION_DAYS = 0  # every link is now past its age
    client.post(link)
    assert not Membership.objects.filter(user=people.outsider, workspace=people.workspace).exists()


def test_roles_keep_an_owner_and_admins_cannot_touch_owners(client, people):
    owner_membership = Membership.objects.get(user=people.owner, workspace=people.workspace)
    member_membership = Membership.objects.get(user=people.member, workspace=people.workspace)
    client.force_login(people.admin)
    client.post(f"/w/{people.workspace.pk}/members/{owner_membership.pk}/remove/")
    client.post(f"/w/{people.workspace.pk}/members/{member_membership.pk}/role/", {"role": "owner"})
    assert Membership.objects.filter(workspace=people.workspace, role="owner").count() == 1
    assert Membership.objects.get(pk=member_membership.pk).role == "member"

    client.force_login(people.owner)
    client.post(f"/w/{people.workspace.pk}/members/{owner_membership.pk}/role/", {"role": "member"})
    assert Membership.objects.get(pk=owner_membership.pk).role == "owner"  # the last owner stays owner
    client.post(f"/w/{people.workspace.pk}/members/{member_membership.pk}/remove/")
    assert not Membership.objects.filter(pk=member_membership.pk).exists()


def test_the_privacy_page_lists_what_is_stored_from_the_database(client, people):
    from accounts import services

    services.api_key_create(workspace=people.workspace, name="one")
    services.api_key_create(workspace=people.workspace, name="two")
    client.force_login(people.member)
    inventory = {row["name"]: row for row in client.get(f"/w/{people.workspace.pk}/privacy/").context["inventory"]}
    assert inventory["API keys"]["rows"] == 2 and inventory["Members"]["rows"] == 3
    assert inventory["Request logs"]["kept"] == "30 days, then deleted"
    assert "prompt or answer text" in inventory["Request logs"]["never"]


def test_deleting_a_workspace_needs_its_name_and_an_owner(client, people):
    url = f"/w/{people.workspace.pk}/privacy/"
    client.force_login(people.admin)
    assert client.post(url, {"action": "delete_workspace", "name": "acme"}).status_code == 403
    client.force_login(people.owner)
    wrong = client.post(url, {"action": "delete_workspace", "name": "acme inc"})
    assert "not this workspace's name" in " ".join(wrong.context["delete_form"].errors["name"])
    people.workspace.refresh_from_db()
    assert people.workspace.deleted_at is None

    client.post(url, {"action": "delete_workspace", "name": "acme"})
    people.workspace.refresh_from_db()
    assert people.workspace.deleted_at is not None
    assert client.get(url).status_code == 404


def test_closing_an_account_needs_the_password_and_leaves_shared_workspaces(client, people, django_user_model):
    url = f"/w/{people.workspace.pk}/privacy/"
    client.force_login(people.admin)
    refused = client.post(url, {"action": "close_account", "password": "wrong"})
    assert refused.context["close_form"].errors and django_user_model.objects.filter(pk=people.admin.pk).exists()

    client.post(url, {"action": "close_account", "password": "a long pass phrase 93"})
    assert not django_user_model.objects.filter(pk=people.admin.pk).exists()
    people.workspace.refresh_from_db()
    assert people.workspace.deleted_at is None  # the owner still has it
