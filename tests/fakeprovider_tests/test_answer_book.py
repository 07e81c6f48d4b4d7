"""The fake provider's answer table and held requests, driven with the official SDKs and raw HTTP."""

from __future__ import annotations

import json
import threading
import urllib.request

import anthropic
import openai
import pytest

from tests.fakeprovider import Fault


@pytest.fixture
def openai_client(fake):
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def ask(client, text, **options):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **options
    )
    return completion.choices[0].message.content


def test_a_prompt_in_the_table_gets_its_answer_and_paraphrases_can_share_one(fake, openai_client):
    fake.add_answers({"What's the capital of France?": "Paris.", "Which city is France's capital?": "Paris."})

    assert ask(openai_client, "What's the capital of France?") == "Paris."
    assert ask(openai_client, "Which city is France's capital?") == "Paris."
    # Streamed, the same text arrives in pieces.
    chunks = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What's the capital of France?"}], stream=True
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Paris."


def test_a_prompt_outside_the_table_is_echoed_and_reset_forgets_the_table(fake, openai_client):
    fake.add_answers({"ping": "pong"})
    assert ask(openai_client, "something else") == "Echo: something else"
    fake.reset()
    assert ask(openai_client, "ping") == "Echo: ping"


def test_a_fault_answer_wins_over_the_table(fake, openai_client):
    fake.add_answers({"ping": "pong"})
    fake.enqueue(Fault(answer_text="scripted"))
    assert ask(openai_client, "ping") == "scripted"
    assert ask(openai_client, "ping") == "pong"


def test_claude_answers_from_the_table_too(fake):
    fake.add_answers({"ping": "pong"})
    with anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="sk-ant-test", max_retries=0) as client:
        message = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "ping"}]
        )
    assert message.content[0].text == "pong"


def test_the_table_can_be_filled_over_http_for_a_fake_in_another_process(fake, openai_client):
    request = urllib.request.Request(
        f"{fake.url}/_fake/answers", data=json.dumps({"ping": "pong"}).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read()) == {"answers": 1}
    assert ask(openai_client, "ping") == "pong"
    bad = urllib.request.Request(f"{fake.url}/_fake/answers", data=b'{"ping": 1}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad)
    assert refused.value.code == 400


def test_a_held_request_waits_until_released_and_others_pass(fake, openai_client):
    fake.enqueue(Fault(hold=True))
    answers = []
    held = threading.Thread(target=lambda: answers.append(ask(openai_client, "held")))
    held.start()
    fake.wait_for_requests(1)
    # The fault was consumed by the held request: the next one is answered while it waits.
    assert ask(openai_client, "free") == "Echo: free"
    assert answers == []
    fake.release_held()
    held.join(timeout=5)
    assert answers == ["Echo: held"]


def test_reset_lets_a_held_request_go(fake, openai_client):
    fake.enqueue(Fault(hold=True))
    answers = []
    held = threading.Thread(target=lambda: answers.append(ask(openai_client, "held")))
    held.start()
    fake.wait_for_requests(1)
    fake.reset()
    held.join(timeout=5)
    assert answers == ["Echo: held"]
