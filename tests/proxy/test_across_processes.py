"""Two real Optera processes sharing PostgreSQL (and Redis when set): limits and single-flight hold across them."""

import json
import threading
import time

import openai
import pytest
from django.conf import settings as django_settings

from accounts import services
from accounts.models import ApiKey, WorkspaceSettings
from tests.conftest import PROVIDER_KEY_CANARY
from tests.fakeprovider import Fault

pytestmark = [pytest.mark.django_db(transaction=True)]


def client_for(server, api_key):
    return openai.OpenAI(
        base_url=server.v1, api_key=api_key, max_retries=0, default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY}
    )


def status_of(client, text):
    try:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": text}],
            extra_headers={"X-Optera-Cache": "off"},
        )
        return 200
    except openai.RateLimitError as error:
        assert error.code == "rate_limit_exceeded" and error.response.headers["retry-after"]
        return 429


def well_inside_a_minute():
    """Wait until the current UTC minute has 20 s left, so a test's requests share one window."""
    while time.time() % 60 > 40:
        time.sleep(0.5)


def test_the_workspaces_limit_holds_across_two_processes_and_every_key(optera_server, second_optera, tenants, fake):
    acme = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=acme).update(rate_limit_per_minute=10)
    clients = [
        client_for(optera_server, tenants.owner.api_key),
        client_for(second_optera, tenants.owner.api_key),
        client_for(optera_server, tenants.member.api_key),
        client_for(second_optera, tenants.member.api_key),
    ]
    well_inside_a_minute()

    statuses = [status_of(clients[number % 4], f"question {number}") for number in range(20)]

    # The 11th request of the minute is refused wherever it lands, whichever key sends it.
    assert statuses == [200] * 10 + [429] * 10
    assert len(fake.requests) == 10
    # Another workspace has its own minute.
    assert status_of(client_for(second_optera, tenants.outsider.api_key), "elsewhere") == 200


def test_a_keys_own_limit_refuses_it_and_leaves_the_others_their_share(optera_server, second_optera, tenants, fake):
    ApiKey.objects.filter(pk=tenants.member.key_row.pk).update(rate_limit_per_minute=2)
    WorkspaceSettings.objects.filter(workspace=tenants.owner.workspace).update(rate_limit_per_minute=5)
    limited = [client_for(optera_server, tenants.member.api_key), client_for(second_optera, tenants.member.api_key)]
    owner = client_for(second_optera, tenants.owner.api_key)
    well_inside_a_minute()

    member_statuses = [status_of(limited[number % 2], f"member {number}") for number in range(4)]
    owner_statuses = [status_of(owner, f"owner {number}") for number in range(4)]

    assert member_statuses == [200, 200, 429, 429]
    # The member's refused requests did not use the workspace's minute: 5 - 2 remain for the owner.
    assert owner_statuses == [200, 200, 200, 429]


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="single-flight spans processes through Redis only")
def test_twenty_identical_misses_over_two_processes_make_one_upstream_call(optera_server, second_optera, tenants, fake):
    fake.enqueue(Fault(path="/v1/chat/completions", delay_before_headers=1.0))
    clients = [client_for(optera_server, tenants.owner.api_key), client_for(second_optera, tenants.owner.api_key)]
    barrier = threading.Barrier(20)
    answers = []

    def ask(number):
        barrier.wait()
        completion = clients[number % 2].chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the capital of France?"}]
        )
        answers.append(completion.choices[0].message.content)

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert answers == ["Echo: What is the capital of France?"] * 20
    assert len(fake.requests) == 1


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the feed spans processes through Redis's channel layer only")
def test_the_live_feed_reaches_a_watcher_connected_to_the_other_process(
    client, optera_server, second_optera, tenants, fake
):
    from tests.analytics.test_request_feed import feed

    with feed(optera_server, client, tenants.member.user, tenants.owner.workspace) as watcher:
        client_for(second_optera, tenants.owner.api_key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "served by the other process"}]
        )
        event = json.loads(watcher.recv(timeout=10))

    assert event["status_code"] == 200 and event["model_used"] == "gpt-4o-mini"


def test_a_workspace_holds_no_more_active_keys_than_its_cap(client, tenants):
    acme = tenants.owner.workspace
    WorkspaceSettings.objects.filter(workspace=acme).update(max_active_keys=3)
    client.force_login(tenants.owner.user)
    keys_url = f"/api/workspaces/{acme.pk}/keys"

    assert client.post(keys_url, {"name": "third"}, content_type="application/json").status_code == 201
    refused = client.post(keys_url, {"name": "fourth"}, content_type="application/json")
    assert refused.status_code == 409 and "3 active keys" in refused.json()["error"]["message"]
    page = client.post(f"/w/{acme.pk}/keys/", {"name": "fourth"})
    assert page.status_code == 200 and "3 active keys" in page.content.decode()
    with pytest.raises(services.KeyLimitReached):
        services.api_key_create(workspace=acme, name="fourth")
    assert not ApiKey.objects.filter(name="fourth").exists()

    # A revoked key frees its place.
    client.delete(f"{keys_url}/{tenants.member.key_row.pk}")
    assert client.post(keys_url, {"name": "fourth"}, content_type="application/json").status_code == 201


def test_owners_cannot_raise_the_key_cap_or_the_rate_limit_themselves(client, tenants):
    acme = tenants.owner.workspace
    client.force_login(tenants.owner.user)
    for option in ({"max_active_keys": 1000}, {"rate_limit_per_minute": 100000}):
        response = client.patch(f"/api/workspaces/{acme.pk}/settings", option, content_type="application/json")
        assert response.status_code == 400
    assert client.get(f"/api/workspaces/{acme.pk}/settings").json()["max_active_keys"] == 50
