"""The per-turn cadence record: turn N+1 finds turn N's record by its keyed prefix, and nobody else's."""

import secrets
import time

from proxy.shape.cache_cadence import observe_turn, previous_turn_ends

MINUTE = 60
SYSTEM = {"role": "system", "content": "You are a careful reviewer. " * 400}


def turn(messages, *, now, workspace_id=1, secret="a" * 32):
    return observe_turn(workspace_id=workspace_id, secret=secret, messages=messages, now=now)


def test_a_tool_loop_turn_finds_the_turn_it_continues():
    start = time.time()
    first_words = {"role": "user", "content": f"Look at ticket {secrets.token_hex(4)}."}
    assert turn([SYSTEM, first_words], now=start) == "5m"
    tool_call = {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "type": "function"}]}
    tool_result = {"role": "tool", "tool_call_id": "t1", "content": "ticket text"}
    # Twenty minutes later the tool's answer comes back: one medium gap seen, so the hour pays.
    assert turn([SYSTEM, first_words, tool_call, tool_result], now=start + 20 * MINUTE) == "1h"


def test_another_workspace_or_secret_does_not_find_the_record():
    start = time.time()
    first_words = {"role": "user", "content": f"Question {secrets.token_hex(4)}."}
    turn([SYSTEM, first_words], now=start, workspace_id=1)
    later = [SYSTEM, first_words, {"role": "assistant", "content": "Answer."}, {"role": "user", "content": "More?"}]
    assert turn(later, now=start + 20 * MINUTE, workspace_id=2) == "5m"
    assert turn(later, now=start + 20 * MINUTE, workspace_id=1, secret="b" * 32) == "5m"
    assert turn(later, now=start + 20 * MINUTE, workspace_id=1) == "1h"


def test_turn_boundaries_are_tried_newest_first_and_at_most_four():
    messages = [SYSTEM]
    for index in range(6):
        messages += [{"role": "user", "content": str(index)}, {"role": "assistant", "content": str(index)}]
    messages.append({"role": "user", "content": "last"})
    assert previous_turn_ends(messages) == [12, 10, 8, 6]
