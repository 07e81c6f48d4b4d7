"""Accounts' fixtures: a local fake Resend."""

import pytest

from tests.fakeresend import FakeResend

RESEND_BACKEND = "accounts.emails.ResendEmailBackend"


@pytest.fixture(scope="session")
def fake_resend_server():
    fake = FakeResend()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_resend(fake_resend_server, settings):
    """The fake Resend, emptied, as the email backend's host with its API key configured.

    Django's test runner swaps EMAIL_BACKEND for its in-memory outbox; this puts Resend's back.
    """
    fake_resend_server.reset()
    settings.EMAIL_BACKEND = RESEND_BACKEND
    settings.RESEND_API_URL = fake_resend_server.url
    settings.RESEND_API_KEY = fake_resend_server.api_key
    yield fake_resend_server
    fake_resend_server.reset()
