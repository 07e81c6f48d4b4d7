"""What a proxy process keeps between requests: bounded, expiring memos, and background tasks it finishes."""

import asyncio
import time

import pytest

from proxy.memo import BoundedMemo
from proxy.runtime import BackgroundTasks


def test_a_memo_forgets_an_entry_after_its_lifetime():
    memo = BoundedMemo(ttl_seconds=0.05)
    memo.put("key", "value")
    memo.put("long", "lasting", ttl_seconds=60)
    assert memo.get("key") == "value" and "key" in memo
    time.sleep(0.06)
    assert memo.get("key") is None and "key" not in memo
    assert memo.get("key", "default") == "default"
    assert memo.get("long") == "lasting"


def test_a_memo_never_holds_more_than_its_bound():
    memo = BoundedMemo(max_entries=3)
    for number in range(10):
        memo.put(number, number)
        assert len(memo) <= 3
    assert memo.get(9) == 9
    memo.put(9, "again")  # replacing an entry of a full memo keeps the others
    assert memo.get(9) == "again"


def test_a_memo_keeps_falsy_values_apart_from_missing_ones():
    memo = BoundedMemo()
    memo.put("unknown key", None)
    memo.put("unwatched", False)
    assert "unknown key" in memo and memo.get("unwatched") is False
    assert "never put" not in memo


@pytest.mark.asyncio
async def test_draining_waits_for_short_tasks_and_cancels_the_rest():
    background = BackgroundTasks()
    finished = []

    async def short():
        await asyncio.sleep(0.01)
        finished.append("short")

    async def endless():
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("endless cancelled")

    short_task, endless_task = background.spawn(short()), background.spawn(endless())
    await background.drain(timeout=0.5)

    assert short_task.done() and not short_task.cancelled()
    assert endless_task.cancelled()
    assert finished == ["short", "endless cancelled"]
