"""A new customer's first minutes, in a real browser against the live server and the real `openai` SDK.

Sign up through the form, find the workspace and its first key, watch a request arrive on the open
Requests page, see its cost on the Overview, revoke the key and see the proxy refuse it.
"""

import re
from decimal import Decimal

import openai
import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple 7"
# The live feed is the only way a row can appear without a reload, so the page must be listening
# before the request is sent: count the page's open WebSockets (the page itself shows no such state).
COUNT_OPEN_SOCKETS = """
window.openSockets = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("open", () => { window.openSockets += 1; });
    this.addEventListener("close", () => { window.openSockets -= 1; });
  }
};
"""
CHART_SHOWS_A_COST = """() => {
  const canvas = document.getElementById("savings-chart");
  const chart = canvas && window.Chart && window.Chart.getChart(canvas);
  if (!chart || canvas.width === 0 || canvas.height === 0) return false;
  const hasCost = chart.data.datasets.some((dataset) => dataset.data.some((value) => Number(value) > 0));
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha] > 0) painted += 1;
  return hasCost && painted > 0;
}"""


def sdk(optera_server, api_key):
    return openai.OpenAI(
        base_url=optera_server.v1,
        api_key=api_key,
        default_headers={"X-Provider-Key": PROVIDER_KEY_CANARY},
        max_retries=0,
        timeout=30,
    )


def ask(client, content):
    """Send one chat completion; return Optera's request id for it."""
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )
    raw.parse()
    return raw.headers["x-optera-request-id"]


def test_sign_up_watch_a_request_arrive_see_its_cost_then_revoke_the_key(new_page, optera_server, fake):
    from accounts.models import Membership

    page = new_page()
    page.context.add_init_script(COUNT_OPEN_SOCKETS)

    # Sign up through the real form, by its labels.
    page.goto("/")
    page.get_by_role("link", name="Start free").click()
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password, again").fill(PASSWORD)
    page.get_by_label("I am 18 or older").check()
    page.get_by_role("button", name="Create account").click()

    # The overview of a new workspace, with its first key shown once.
    expect(page).to_have_url(re.compile(r"/w/\d+/$"))
    workspace = Membership.objects.select_related("workspace").get(user__email="ada@example.test").workspace
    assert page.url.endswith(f"/w/{workspace.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(workspace.name)
    expect(page.locator("#new-key")).to_have_text(re.compile(r"^opt_\S+$"))
    api_key = page.locator("#new-key").inner_text().strip()

    # A request sent while the Requests page is open shows up there without a reload.
    page.get_by_role("link", name="Requests").click()
    expect(page).to_have_url(f"{optera_server.url}/w/{workspace.pk}/requests/")
    page.wait_for_function("() => window.openSockets > 0")
    page.evaluate("() => { window.sameDocument = true; }")
    client = sdk(optera_server, api_key)
    request_id = ask(client, "What does Optera save me?")
    row = page.locator(f'#request-rows tr[data-request-id="{request_id}"]')
    expect(row).to_be_visible(timeout=2_000)
    expect(row).to_contain_text("gpt-4o-mini")
    expect(row).to_contain_text("200")
    assert page.evaluate("() => window.sameDocument") is True, "the page reloaded"

    # The overview counts what it cost, and its chart draws it.
    page.get_by_role("link", name="Overview").click()
    expect(page).to_have_url(f"{optera_server.url}/w/{workspace.pk}/")
    spent = page.locator('[data-figure="spent"]').inner_text().strip()
    spent_usd = Decimal(spent.lstrip("$").replace(",", ""))
    assert spent_usd > 0, f"the overview shows {spent!r} spent"
    page.wait_for_function(CHART_SHOWS_A_COST)
    assert page.script_errors == []

    # Revoke the key on the Keys page (confirming the dialog); the proxy then refuses it.
    page.get_by_role("link", name="API keys").click()
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name=re.compile(r"^Revoke key ")).click()
    expect(page.get_by_text(re.compile(r"^revoked "))).to_be_visible()
    assert len(dialogs) == 1 and "Revoke" in dialogs[0]

    def refused():
        try:
            ask(client, "Still there?")
        except openai.AuthenticationError as error:
            return error.status_code == 401
        return False

    wait_for(refused, timeout=settings.OPTERA_KEY_CACHE_SECONDS + 5, interval=0.25)
    client.close()
