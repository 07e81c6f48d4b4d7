"""Plan quotas at admission: requests and spend per month, counted across processes, refused before forwarding."""

import asyncio
import datetime
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest

from analytics.models import RequestLog
from billing.models import Plan, UsageCounter, WorkspacePlan
from proxy.admit.counters import Counters
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def on_plan(workspace, **limits):
    plan = Plan.objects.create(name=f"plan for {workspace.name}", **limits)
    WorkspacePlan.objects.create(workspace=workspace, plan=plan)
    return plan


def ask(client, text="What is the capital of France?", **options):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )


def test_a_three_request_quota_serves_three_then_refuses(openai_client, tenants, fake):
    on_plan(tenants.owner.workspace, monthly_request_quota=3)

    remaining = [ask(openai_client, f"question {number}").headers["x-optera-quota-remaining"] for number in range(3)]
    with pytest.raises(openai.RateLimitError) as refused:
        ask(openai_client, "question 4")

    assert remaining == ["2", "1", "0"]
    error = refused.value
    assert error.code == "quota_exceeded" and "3 requests this month" in error.message
    reset = error.response.headers["x-optera-quota-reset"]
    assert reset.endswith("-01T00:00:00Z") and reset in error.message
    assert error.response.headers["x-optera-quota-remaining"] == "0"
    assert len(fake.requests) == 3  # the fourth never went upstream


def test_cache_hits_count_as_requests(openai_client, tenants, fake):
    on_plan(tenants.owner.workspace, monthly_request_quota=2)
    ask(openai_client)
    assert ask(openai_client).headers["x-optera-cache"] == "hit"
    with pytest.raises(openai.RateLimitError):
        ask(openai_client)
    assert len(fake.requests) == 1


def test_another_workspace_has_its_own_quota(optera_server, tenants, openai_client):
    on_plan(tenants.owner.workspace, monthly_request_quota=1)
    ask(openai_client)
    outsider = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    assert ask(outsider).http_response.status_code == 200
    with pytest.raises(openai.RateLimitError):
        ask(openai_client)


def test_fifty_concurrent_requests_at_a_ten_request_quota_serve_ten(openai_client, tenants, fake):
    on_plan(tenants.owner.workspace, monthly_request_quota=10)

    def attempt(number):
        try:
            ask(openai_client, f"concurrent question {number}")
            return "served"
        except openai.RateLimitError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(attempt, range(50)))

    # One server process: at most one request over the quota, and nothing counted but not served.
    assert 10 <= outcomes.count("served") <= 11
    assert outcomes.count("quota_exceeded") == 50 - outcomes.count("served")


def test_the_spend_cap_reserves_the_worst_case_and_settles_to_the_real_cost(openai_client, tenants, fake):
    # gpt-4o-mini bills $0.60 per million output tokens: max_tokens=10,000 reserves $0.006 of a $0.01 cap.
    on_plan(tenants.owner.workspace, monthly_spend_cap_usd=Decimal("0.01"))
    assert ask(openai_client, "first", max_tokens=10_000).http_response.status_code == 200
    wait_for(lambda: RequestLog.objects.count() == 1)  # accounted: the reservation is settled
    # Without settling, $0.006 + $0.006 would pass the cap; the first answer really cost a few micro-dollars.
    assert ask(openai_client, "second", max_tokens=10_000).http_response.status_code == 200
    with pytest.raises(openai.RateLimitError) as refused:
        ask(openai_client, "third", max_tokens=100_000)  # its worst case alone ($0.06) passes the cap
    assert refused.value.code == "quota_exceeded" and "$0.01 spend cap" in refused.value.message
    assert len(fake.requests) == 2


def test_without_redis_a_process_claims_blocks_instead_of_querying_per_request(db, settings):
    settings.REDIS_URL = ""
    counters = Counters()
    ends = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    async def take_many():
        return [await counters.take("ws:1:requests:test", 1, limit=1_000_000, expires_at=ends) for _ in range(100)]

    taken = asyncio.run(take_many())

    assert all(result.granted for result in taken)
    # One claim of a sixteenth of the limit served all hundred: a query per request would have moved it.
    assert UsageCounter.objects.get(key="ws:1:requests:test").used == 1_000_000 // 16


def test_without_redis_claims_never_pass_the_limit(db, settings):
    settings.REDIS_URL = ""
    ends = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    processes = [Counters(), Counters()]  # two processes' worth of leases on one PostgreSQL counter

    async def take_until_refused(counters):
        granted = 0
        while (await counters.take("ws:2:requests:test", 1, limit=40, expires_at=ends)).granted:
            granted += 1
        return granted

    async def both():
        return await asyncio.gather(*(take_until_refused(counters) for counters in processes))

    granted = asyncio.run(both())
    assert sum(granted) <= 40 and UsageCounter.objects.get(key="ws:2:requests:test").used == 40


def test_owners_and_admins_are_emailed_at_80_and_100_percent_once(openai_client, tenants, tasks_run_inline, mailoutbox):
    on_plan(tenants.owner.workspace, monthly_request_quota=5)
    for number in range(5):
        ask(openai_client, f"question {number}")
    for number in range(3):
        with pytest.raises(openai.RateLimitError):
            ask(openai_client, f"refused {number}")
    wait_for(lambda: len(mailoutbox) >= 2)
    subjects = sorted(message.subject for message in mailoutbox)
    assert len(subjects) == 2 and "100 %" in subjects[0] and "80 %" in subjects[1]
    assert {tuple(message.to) for message in mailoutbox} == {("owner@acme.test",)}
