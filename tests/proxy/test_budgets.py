"""Budgets at admission: hard ones refuse before forwarding, per end user, key, tag or workspace, within one request."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest

from analytics.models import RequestLog
from billing.models import Budget
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]
QUESTION = [{"role": "user", "content": "What is the boiling point of water?"}]


@pytest.fixture
def one_request_costs(optera_server, tenants):
    """The cost and completion tokens of the test's request, learnt in another workspace.

    Not in the budget's own workspace: proxies keep a workspace's budgets for a few seconds, so a
    request there before the budget exists would be admitted without it.
    """
    probe = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.outsider.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": "sk-x"},
    )
    answer = probe.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    wait_for(lambda: RequestLog.objects.count() == 1)
    return Decimal(answer.headers["x-optera-cost-usd"]), answer.parse().usage.completion_tokens


def ask_as(openai_client, user, max_tokens, number=0):
    messages = [{"role": "user", "content": QUESTION[0]["content"] + " " * (number % 2)}]
    return openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=messages,
        max_tokens=max_tokens,
        extra_headers={"X-Optera-User": user, "X-Optera-Cache": "off"},
    )


def test_an_end_users_budget_of_three_and_a_half_requests(openai_client, tenants, fake, one_request_costs):
    cost, completion_tokens = one_request_costs
    Budget.objects.create(
        workspace=tenants.owner.workspace, scope="user", scope_value="alice", usd=cost * Decimal("3.5"), period="day"
    )

    served = 0
    with pytest.raises(openai.RateLimitError) as refused:
        for number in range(10):
            ask_as(openai_client, "alice", completion_tokens, number)
            served += 1
            wait_for(lambda expected=served + 1: RequestLog.objects.count() == expected)  # settled

    assert served in (3, 4)
    error = refused.value
    assert (
        error.code == "budget_exceeded" and "the end user alice's" in error.message and "daily budget" in error.message
    )
    reset = error.response.headers["x-optera-budget-reset"]
    assert reset.endswith("T00:00:00Z") and reset in error.message
    # Another end user has no budget and goes on.
    assert ask_as(openai_client, "bob", completion_tokens).http_response.status_code == 200


def test_twenty_concurrent_requests_against_five_and_a_half_requests_budget(
    openai_client, tenants, fake, one_request_costs
):
    cost, completion_tokens = one_request_costs
    Budget.objects.create(
        workspace=tenants.owner.workspace, scope="tag", scope_value="batch", usd=cost * Decimal("5.5"), period="month"
    )

    def attempt(number):
        try:
            openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": QUESTION[0]["content"] + " " * (number % 2)}],
                max_tokens=completion_tokens,
                extra_headers={"X-Optera-Tags": "batch", "X-Optera-Cache": "off"},
            )
            return "served"
        except openai.RateLimitError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert 1 <= outcomes.count("served") <= 6  # one process: at most one request past the budget
    assert outcomes.count("budget_exceeded") == 20 - outcomes.count("served")


@pytest.fixture
def batch_budget(tenants, one_request_costs):
    """A month's budget of 5.5 requests on the tag "batch", set before the second process starts.

    A starting proxy reads the budgets of the keys in recent use before it says it is ready, and
    keeps them a few seconds like any it has read: set after, the budget would apply only then.
    """
    cost, _ = one_request_costs
    return Budget.objects.create(
        workspace=tenants.owner.workspace, scope="tag", scope_value="batch", usd=cost * Decimal("5.5"), period="month"
    )


def test_twenty_concurrent_requests_over_two_processes_serve_at_most_seven(
    openai_client, fake, one_request_costs, batch_budget, second_optera, tenants
):
    # Counted in Redis when REDIS_URL is set, else in PostgreSQL blocks: either way one shared counter.
    _, completion_tokens = one_request_costs
    other_process = openai.OpenAI(
        base_url=second_optera.v1,
        api_key=tenants.owner.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
    )
    clients = (openai_client, other_process)

    def attempt(number):
        try:
            clients[number % 2].chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": QUESTION[0]["content"] + " " * (number % 3)}],
                max_tokens=completion_tokens,
                extra_headers={"X-Optera-Tags": "batch", "X-Optera-Cache": "off"},
            )
            return "served"
        except openai.RateLimitError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert 1 <= outcomes.count("served") <= 7, outcomes  # at most one request past the budget per process
    assert outcomes.count("budget_exceeded") == 20 - outcomes.count("served")
    assert len(fake.requests) == outcomes.count("served") + 1  # and the probe


def test_a_soft_budget_counts_but_never_refuses(openai_client, tenants, fake, one_request_costs):
    cost, completion_tokens = one_request_costs
    Budget.objects.create(workspace=tenants.owner.workspace, scope="workspace", usd=cost, period="week", hard=False)
    for number in range(3):
        assert ask_as(openai_client, "carol", completion_tokens, number).http_response.status_code == 200


def test_a_keys_budget_leaves_other_keys_alone(optera_server, openai_client, tenants, fake, one_request_costs):
    cost, completion_tokens = one_request_costs
    Budget.objects.create(
        workspace=tenants.owner.workspace,
        scope="key",
        scope_value=str(tenants.owner.key_row.pk),
        usd=Decimal("0"),
        period="month",
    )
    with pytest.raises(openai.RateLimitError):
        ask_as(openai_client, "dave", completion_tokens)
    member = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=tenants.member.api_key,
        max_retries=0,
        default_headers={"X-Provider-Key": "sk-x"},
    )
    assert ask_as(member, "dave", completion_tokens).http_response.status_code == 200


def test_set_budget_validates_and_replaces(tenants):
    import io
    import json

    from django.core.management import CommandError, call_command

    output = io.StringIO()
    call_command(
        "set_budget", "acme", "--scope", "user:alice", "--usd", "5", "--period", "day", "--json", stdout=output
    )
    printed = json.loads(output.getvalue())
    assert (printed["scope"], printed["scope_value"], printed["usd"], printed["hard"]) == (
        "user",
        "alice",
        "5.00000000",
        True,
    )
    call_command(
        "set_budget", "acme", "--scope", "user:alice", "--usd", "7.5", "--period", "day", "--soft", stdout=io.StringIO()
    )
    budget = Budget.objects.get(scope="user", scope_value="alice")
    assert (budget.usd, budget.hard) == (Decimal("7.5"), False) and Budget.objects.count() == 1
    for scope, usd, message in [
        ("team:x", "5", "the scope is"),
        ("key:abc", "5", "key:ID"),
        ("key:999999", "5", "no key 999999"),
        ("workspace", "-1", "from 0"),
        ("workspace", "nan", "from 0"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("set_budget", "acme", "--scope", scope, "--usd", usd, "--period", "day", stdout=io.StringIO())
