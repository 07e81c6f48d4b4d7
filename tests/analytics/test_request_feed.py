"""The live request feed over a real WebSocket: members see their workspace's requests, nobody else does."""

import json
import secrets

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = [pytest.mark.django_db(transaction=True)]


def feed(optera_server, client, user, workspace, *, origin=None):
    """Open the feed as `user` (signed in through the Django session), or anonymously without a user."""
    headers = {}
    if user is not None:
        client.force_login(user)
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    address = optera_server.url.replace("http://", "ws://") + f"/ws/workspaces/{workspace.pk}/requests"
    return connect(address, additional_headers=headers, origin=origin or optera_server.url, open_timeout=5)


def closed_with(connection):
    with pytest.raises(ConnectionClosed) as closed:
        connection.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_member_sees_each_request_as_it_finishes_without_its_text(client, tenants, optera_server, openai_client):
    canary = f"canary prompt {secrets.token_hex(6)}"
    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as connection:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": canary}])
        raw = connection.recv(timeout=10)

    message = json.loads(raw)
    assert message["endpoint"] == "chat.completions" and message["model_used"] == "gpt-4o-mini"
    assert message["status_code"] == 200 and message["cache_status"] == "miss"
    assert message["prompt_tokens"] > 0 and float(message["cost_usd"]) > 0
    assert canary not in raw and tenants.owner.api_key not in raw


def test_another_workspaces_requests_never_reach_the_feed(client, tenants, optera_server):
    import openai
    from django.test import Client

    outsider_sdk = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": "sk-x"},
    )
    # The outsider watches their own workspace, so its requests are published: to their feed alone.
    with feed(optera_server, Client(), tenants.outsider.user, tenants.outsider.workspace) as outsiders_feed:
        with feed(optera_server, client, tenants.owner.user, tenants.owner.workspace) as connection:
            outsider_sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            assert json.loads(outsiders_feed.recv(timeout=10))["status_code"] == 200
            with pytest.raises(TimeoutError):
                connection.recv(timeout=2)


@pytest.mark.parametrize("who, code", [("outsider", 4404), (None, 4401)])
def test_strangers_are_refused(client, tenants, optera_server, who, code):
    user = getattr(tenants, who).user if who else None
    with feed(optera_server, client, user, tenants.owner.workspace) as connection:
        assert closed_with(connection) == code


def test_a_foreign_origin_is_refused(client, tenants, optera_server):
    with pytest.raises(Exception):  # the handshake itself is refused (HTTP 403)
        feed(optera_server, client, tenants.owner.user, tenants.owner.workspace, origin="https://evil.example")


def test_a_removed_member_s_feed_closes_at_once(client, tenants, optera_server):
    from accounts import services
    from accounts.models import Membership

    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as removed_feed:
        with feed(optera_server, client, tenants.owner.user, tenants.owner.workspace) as owners_feed:
            owner = Membership.objects.get(user=tenants.owner.user, workspace=tenants.owner.workspace)
            member = Membership.objects.get(user=tenants.member.user, workspace=tenants.owner.workspace)
            services.membership_remove(by=owner, target=member)
            assert closed_with(removed_feed) == 4404
            with pytest.raises(TimeoutError):  # the owner's own feed stays open
                owners_feed.recv(timeout=1)


@pytest.fixture
def quick_feed_refresh(settings):
    settings.OPTERA_FEED_REFRESH_SECONDS = 1


def test_signing_out_closes_the_feed_within_the_refresh(client, tenants, optera_server, quick_feed_refresh):
    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as connection:
        client.logout()  # deletes the session the socket was opened with
        assert closed_with(connection) == 4404


def test_a_membership_ended_without_an_event_closes_the_feed(client, tenants, optera_server, quick_feed_refresh):
    from accounts.models import Membership

    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as connection:
        # Deleted in the admin or by SQL: no member_removed event reaches the socket.
        Membership.objects.filter(user=tenants.member.user, workspace=tenants.owner.workspace).delete()
        assert closed_with(connection) == 4404


def test_a_password_change_elsewhere_closes_the_feed(client, tenants, optera_server, quick_feed_refresh):
    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as connection:
        user = tenants.member.user
        user.set_password("a new password for the test")
        user.save()
        assert closed_with(connection) == 4404


def test_a_member_still_signed_in_keeps_the_feed_across_refreshes(client, tenants, optera_server, quick_feed_refresh):
    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as connection:
        with pytest.raises(TimeoutError):
            connection.recv(timeout=3)  # three refreshes, still open
