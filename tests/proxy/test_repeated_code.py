"""Code pasted again in a later turn is sent as a pointer to its earlier copy, where a workspace turns it on."""

import io

import pytest
from django.core.management import call_command

from accounts.models import WorkspaceSettings
from analytics.models import RequestLog
from proxy.shape.repeats import MIN_RUN_LINES, elide_repeated_code
from tests.conftest import wait_for


def source(functions, *, version):
    body = "\n\n".join(f"def handler_{index}(request):\n    return {index}" for index in range(functions))
    return f"```python\n# version {version}\n{body}\n```"


def chat(turns):
    messages = [{"role": "system", "content": "You review Python."}]
    for turn in range(turns):
        messages.append({"role": "user", "content": f"Updated file, what next?\n{source(10 + 5 * turn, version=turn)}"})
        messages.append({"role": "assistant", "content": f"Answer {turn}."})
    return messages[:-1]


def test_a_file_pasted_again_keeps_only_its_new_lines_and_a_pointer():
    messages = chat(2)
    elided, removed = elide_repeated_code(messages)

    latest = elided[-1]["content"]
    assert removed > 0
    assert "lines unchanged from the earlier version above, from `def handler_0(request):`" in latest
    assert "def handler_9(request)" not in latest and "def handler_14(request)" in latest
    assert "# version 1" in latest, "lines that changed stay"
    assert elided[1] == messages[1], "the first copy is sent whole"


def test_a_longer_fence_around_code_is_left_whole_and_the_inner_block_elided():
    inner = source(12, version=0)
    messages = [
        {"role": "user", "content": inner},
        {"role": "user", "content": f"````markdown\nThe README shows:\n{inner}\n````"},
    ]
    elided, removed = elide_repeated_code(messages)

    latest = elided[1]["content"]
    assert removed > 0
    assert latest.startswith("````markdown\n") and latest.endswith("\n````")
    assert latest.count("```python") == 1 and "lines unchanged" in latest


def test_each_message_is_rewritten_from_the_messages_before_it_only():
    # The history a client sends back must elide as it did on the turn it was new, or the
    # provider's cached prefix would be lost every turn.
    shorter, _ = elide_repeated_code(chat(3))
    longer, _ = elide_repeated_code(chat(4))

    assert longer[: len(shorter)] == shorter


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "no code here"}, {"role": "user", "content": "nor here"}],
        # a run shorter than MIN_RUN_LINES repeats by chance
        [
            {"role": "user", "content": "```\n" + "\n".join(f"line {i}" for i in range(MIN_RUN_LINES - 1)) + "\n```"},
            {"role": "user", "content": "```\n" + "\n".join(f"line {i}" for i in range(MIN_RUN_LINES - 1)) + "\n```"},
        ],
        # lines so short that a pointer would be longer than they are
        [
            {"role": "user", "content": "```\n" + "\n".join(f"k{i}: {i}" for i in range(10)) + "\n```"},
            {"role": "user", "content": "```\n" + "\n".join(f"k{i}: {i}" for i in range(10)) + "\n```"},
        ],
        # an assistant repeating the user's code is the model's own answer: never rewritten
        [
            {"role": "user", "content": source(12, version=0)},
            {"role": "assistant", "content": source(12, version=0)},
        ],
    ],
)
def test_nothing_else_is_rewritten(messages):
    elided, removed = elide_repeated_code(messages)

    assert removed == 0 and elided is messages


pytestmark_db = pytest.mark.django_db(transaction=True)


def set_repeated_code(value):
    call_command("workspace_settings", "acme", "--set", f"repeated_code={value}", stdout=io.StringIO())


@pytestmark_db
def test_through_the_proxy_where_the_workspace_turns_it_on_unless_the_request_opts_out(openai_client, fake):
    assert WorkspaceSettings._meta.get_field("repeated_code_enabled").default is False
    set_repeated_code("on")
    messages = chat(2)

    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers={"X-Optera-Cache": "off"}
    )
    assert "lines unchanged from the earlier version above" in fake.last_request.json["messages"][-1]["content"]
    log = wait_for(lambda: RequestLog.objects.filter(savings__has_key="compression", cache_status="bypass").first())
    assert log.savings["compression"] > 0

    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers={"X-Optera-Cache": "off", "X-Optera-Compress": "off"}
    )
    assert fake.last_request.json["messages"][-1]["content"] == messages[-1]["content"], "the request's opt-out wins"
