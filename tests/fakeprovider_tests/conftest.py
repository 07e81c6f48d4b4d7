"""The fake provider's own tests: its fixtures, apart from tests/conftest.py's, need neither Django nor the proxy."""

import anthropic
import openai
import pytest

from tests.fakeprovider import FakeProvider


@pytest.fixture(scope="module")
def running_fake():
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def fake(running_fake):
    running_fake.reset()
    yield running_fake
    running_fake.reset()


@pytest.fixture
def openai_sdk(fake):
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0, timeout=5) as client:
        yield client


@pytest.fixture
def anthropic_sdk(fake):
    with anthropic.Anthropic(
        base_url=fake.anthropic_base_url, api_key="sk-ant-test", max_retries=0, timeout=5
    ) as client:
        yield client
