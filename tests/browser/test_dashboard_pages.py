"""Every dashboard page in a real browser: axe-core finds nothing critical or serious at 1280 and 375 px,
and nothing scrolls sideways on a phone. With OPTERA_SCREENSHOTS=1 each page is also saved to docs/screenshots/.
"""

from dataclasses import dataclass

import openai
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, page_width, screenshot, serious_axe_violations
from tests.conftest import PROVIDER_KEY_CANARY, wait_for
from tests.fakeprovider import Fault

pytestmark = [pytest.mark.django_db(transaction=True)]

PUBLIC_PAGES = {"home": "/", "login": "/accounts/login/", "signup": "/accounts/signup/", "privacy-policy": "/privacy/"}
WORKSPACE_PAGES = {
    "overview": "",
    "requests": "requests/",
    "keys": "keys/",
    "settings": "settings/",
    "members": "members/",
    "workspace-privacy": "privacy/",
    "billing": "billing/",
    "spend": "spend/?by=user",
    "session": "spend/sessions/onboarding-run/",
    "budgets": "budgets/",
}
# The pages that draw a chart, and its canvas: screenshots and checks wait for it.
CHARTS = {"overview": "savings-chart", "spend": "spend-chart"}
# A morning's traffic: several models, a repeated question (a cache hit), a stream and a provider error.
TRAFFIC = [
    ("gpt-4o-mini", "Summarise this support ticket in one line: the export button does nothing on Safari."),
    ("gpt-4o", "Draft a polite reply declining a refund after 60 days, offering a 20 % discount instead."),
    ("claude-sonnet-4-5", "List three risks of moving our job queue from Redis to PostgreSQL."),
    ("gpt-4.1-mini", "Classify the sentiment of: 'the new dashboard is great but slow on my phone'."),
    ("gpt-4o-mini", "Summarise this support ticket in one line: the export button does nothing on Safari."),
]


@dataclass(frozen=True)
class Customer:
    user: object
    workspace: object


@pytest.fixture
def customer(optera_server, fake):
    """An owner with a teammate, an open invitation, three keys (one revoked) and traffic through the SDK."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts import services
    from accounts.models import Membership
    from analytics.models import RequestLog
    from billing.budgets import budget_set

    user, workspace, first_key = services.user_sign_up(email="ada@lovelace.dev", password="correct horse battery 7")
    first_key_row = workspace.api_keys.get()
    teammate = get_user_model().objects.create_user(username="grace@lovelace.dev", email="grace@lovelace.dev")
    Membership.objects.create(user=teammate, workspace=workspace, role=Membership.Role.ADMIN)
    services.invitation_create(
        workspace=workspace,
        email="alan@lovelace.dev",
        role=Membership.Role.MEMBER,
        invited_by=user,
        base_url=optera_server.url,
    )
    old_key, _ = services.api_key_create(workspace=workspace, name="staging", created_by=user)
    services.api_key_revoke(api_key=old_key)
    services.api_key_create(workspace=workspace, name="production", created_by=user)

    client = openai.OpenAI(
        base_url=optera_server.v1,
        api_key=first_key,
        default_headers={
            "X-Provider-Key": PROVIDER_KEY_CANARY,
            "X-Optera-User": "customer-4711",
            "X-Optera-Tags": "team:support",
            "X-Optera-Session": "onboarding-run",
        },
        max_retries=0,
        timeout=30,
    )
    for model, question in TRAFFIC:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Write a haiku about invoices."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    fake.enqueue(Fault(status=400, error_type="invalid_request_error", error_message="max_tokens is too large"))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "A very long essay."}])
    client.close()
    sent = len(TRAFFIC) + 2
    wait_for(lambda: RequestLog.objects.filter(workspace=workspace).count() == sent, timeout=10)
    # The Celery worker records "last used"; none runs in the tests, so do its one call here.
    services.api_key_mark_used(api_key_id=first_key_row.pk, used_at=timezone.now())
    budget_set(workspace=workspace, scope="tag", scope_value="team:support", usd="25", period="month", hard=False)
    budget_set(workspace=workspace, scope="workspace", scope_value="", usd="0.01", period="day", hard=True)
    return Customer(user=user, workspace=workspace)


def check_page(page, name, width):
    """Wait for the page to settle, then save it (when asked) and return what axe-core and the layout say."""
    page.wait_for_load_state("load")
    if name in CHARTS:
        page.wait_for_function(
            f"() => window.Chart && window.Chart.getChart(document.getElementById('{CHARTS[name]}'))"
        )
    screenshot(page, name, width)
    problems = serious_axe_violations(page)
    if width == PHONE and (scroll_width := page_width(page)) > PHONE + 1:
        problems.append(f"scrolls sideways at {PHONE} px: the document is {scroll_width} px wide")
    problems += [f"script error: {error}" for error in page.script_errors]
    return problems


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_page(new_page, name):
    problems = []
    for width in (DESKTOP, PHONE):
        page = new_page(width=width)
        response = page.goto(PUBLIC_PAGES[name])
        assert response.status == 200
        problems += [f"{width} px: {problem}" for problem in check_page(page, name, width)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", WORKSPACE_PAGES)
def test_workspace_page(new_page, customer, name):
    path = f"/w/{customer.workspace.pk}/{WORKSPACE_PAGES[name]}"
    problems = []
    for width in (DESKTOP, PHONE):
        page = new_page(width=width, user=customer.user)
        response = page.goto(path)
        assert response.status == 200 and page.url.endswith(path)
        expect(page.get_by_role("navigation", name="Pages")).to_be_attached()
        problems += [f"{width} px: {problem}" for problem in check_page(page, name, width)]
    assert not problems, "\n".join(problems)
