"""Browser fixtures: Debian's chromium driven by Playwright, and axe-core from tests/browser/node_modules.

Neither comes with pip: `.ci/run` installs chromium (`apt-get install chromium`) and `make test`
installs axe-core (`make browser-tools`, an `npm ci` here). A machine without them fails these
tests with the command to run, rather than skipping them: a skip would let CI go green without
ever opening a browser.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# Playwright cannot download its own browser here; these flags keep Debian's quiet and headless-safe.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP, PHONE = 1280, 375
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Generous for a busy 2-core machine, and still bounded well inside pytest's 120 s per test.
ACTION_TIMEOUT_MS = 15_000


def missing_tools():
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (install it with `apt-get install chromium`; .ci/run does this)")
    if not AXE.exists():
        missing.append(
            "axe-core in tests/browser/node_modules (install it with `make browser-tools`; `make test` does this)"
        )
    return missing


@pytest.fixture(scope="module")
def browser():
    """Headless chromium for one test module (closed before the next module's event loops run)."""
    missing = missing_tools()
    if missing:
        pytest.fail("The browser tests need: " + "; ".join(missing), pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps its own event loop marked as running in this thread, so Django
        # takes every ORM call here (the test's, and pytest-django's flush) for one made from async
        # code. Lift that guard only while this module's browser is open; the rest of the suite keeps it.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, optera_server):
    """Open a page on the live server at a given width, optionally signed in as `user`."""
    contexts = []

    def open_page(*, width=DESKTOP, user=None):
        context = browser.new_context(
            base_url=optera_server.url, viewport={"width": width, "height": 900}, reduced_motion="reduce"
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        if user is not None:
            context.add_cookies([session_cookie(user, optera_server.url)])
        page = context.new_page()
        # A failed script would leave a page half-working while it still looks fine: fail the test instead.
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.script_errors = errors
        return page

    yield open_page
    for context in contexts:
        context.close()


def session_cookie(user, url):
    """A signed-in Django session for `user`, as a browser cookie (sign-in through the form is the flow test's job)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
    }


def serious_axe_violations(page):
    """Run axe-core on the page; return its critical and serious violations, one readable line each."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}: "
        + "; ".join(f"{' '.join(node['target'])} {node['html'][:100]}" for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in ("critical", "serious")
    ]


def page_width(page):
    """Return the document's scroll width: wider than the viewport means the page scrolls sideways."""
    return page.evaluate("() => document.documentElement.scrollWidth")


def screenshot(page, name, width):
    """Save a full-page screenshot under docs/screenshots/ when OPTERA_SCREENSHOTS=1 (so CI never rewrites them)."""
    if os.environ.get("OPTERA_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # As tall as the page, so the sticky full-height sidebar reaches the bottom as it does on screen.
    viewport = page.viewport_size
    page.set_viewport_size({"width": width, "height": page.evaluate("() => document.documentElement.scrollHeight")})
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True, animations="disabled")
    page.set_viewport_size(viewport)
