"""The key, plan and budget records a process remembers: one database read per expiry, not one per request."""

import asyncio
import threading
import time

import pytest

from proxy.db import DatabaseUnavailable, LastKnown

pytestmark = [pytest.mark.django_db(transaction=True)]


class CountedRead:
    """A read that takes a while, as a query under load does, and counts how often it ran."""

    def __init__(self, *, fails=False, seconds=0.05):
        self.calls = 0
        self.fails = fails
        self.seconds = seconds
        self._lock = threading.Lock()

    def __call__(self, *, public_id):
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)
        if self.fails:
            raise DatabaseUnavailable(mid_statement=False)
        return f"record of {public_id}"


def test_requests_missing_one_key_together_share_one_read():
    known = LastKnown(ttl_seconds=5, outage_seconds=600)
    read = CountedRead()

    async def thirty_two_requests():
        return await asyncio.gather(*(known.get("key-1", read, public_id="key-1") for _ in range(32)))

    assert asyncio.run(thirty_two_requests()) == [("record of key-1", False)] * 32
    assert read.calls == 1
    # Different keys are different reads.
    other = asyncio.run(known.get("key-2", read, public_id="key-2"))
    assert other == ("record of key-2", False)
    assert read.calls == 2


def test_a_request_that_goes_away_does_not_cancel_the_read_the_others_wait_for():
    known = LastKnown(ttl_seconds=5, outage_seconds=600)
    read = CountedRead()

    async def one_leaves():
        leaving = asyncio.ensure_future(known.get("key-1", read, public_id="key-1"))
        staying = asyncio.ensure_future(known.get("key-1", read, public_id="key-1"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        return await staying, leaving.cancelled()

    assert asyncio.run(one_leaves()) == (("record of key-1", False), True)
    assert read.calls == 1


def test_while_the_database_is_away_every_waiter_gets_the_last_value_flagged_stale():
    known = LastKnown(ttl_seconds=0, outage_seconds=600)
    assert asyncio.run(known.get("key-1", CountedRead(), public_id="key-1")) == ("record of key-1", False)
    failing = CountedRead(fails=True)

    async def eight_requests():
        return await asyncio.gather(*(known.get("key-1", failing, public_id="key-1") for _ in range(8)))

    assert asyncio.run(eight_requests()) == [("record of key-1", True)] * 8
    assert failing.calls == 1
    # A key never read has no last value: the outage reaches the request (a 503 upstream of here).
    with pytest.raises(DatabaseUnavailable):
        asyncio.run(known.get("key-9", failing, public_id="key-9"))


def test_a_read_that_hangs_serves_the_last_value_once_the_wait_is_over():
    known = LastKnown(ttl_seconds=0, outage_seconds=600, read_timeout_seconds=0.2)
    assert asyncio.run(known.get("key-1", CountedRead(), public_id="key-1")) == ("record of key-1", False)
    hanging = CountedRead(seconds=1.0)

    async def four_requests():
        return await asyncio.gather(*(known.get("key-1", hanging, public_id="key-1") for _ in range(4)))

    assert asyncio.run(four_requests()) == [("record of key-1", True)] * 4
    assert hanging.calls == 1
    # Without a last value the wait ends as an outage (a 503), not a request held for as long as the read.
    with pytest.raises(DatabaseUnavailable):
        asyncio.run(known.get("key-9", CountedRead(seconds=1.0), public_id="key-9"))
