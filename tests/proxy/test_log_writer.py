"""The batched request-log writer: every record reaches the database, even one added mid-write."""

import asyncio
import threading
import time

import pytest
from django.db import connections, transaction

from analytics.models import RequestLog
from proxy.account.log_writer import LogWriter
from proxy.account.record import RequestRecord
from proxy.runtime import BackgroundTasks

pytestmark = [pytest.mark.django_db(transaction=True)]


def hold_request_log_table(locked, release):
    """Lock the request-log table from another connection until `release` is set, so writes wait."""
    try:
        with transaction.atomic():
            with connections["default"].cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{RequestLog._meta.db_table}" IN EXCLUSIVE MODE')
            locked.set()
            release.wait(10)
    finally:
        connections.close_all()


def a_write_waits_for_the_lock():
    """Return whether some connection is waiting for a lock on the request-log table."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted",
                [RequestLog._meta.db_table],
            )
            return cursor.fetchone()[0] > 0
    finally:
        connections.close_all()


def record(workspace, request_id):
    return RequestRecord(request_id=request_id, endpoint="chat", started=time.perf_counter(), workspace_id=workspace.pk)


def test_a_record_added_while_a_write_waits_is_written_too(tenants, settings):
    settings.OPTERA_LOG_FLUSH_SECONDS = 1
    workspace = tenants.owner.workspace
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_request_log_table, args=(locked, release))
    holder.start()
    assert locked.wait(5)

    async def scenario():
        writer = LogWriter(BackgroundTasks())
        writer.add(record(workspace, "req_first"))
        # Wait until the first flush is really blocked on the lock, however slow the machine.
        for _ in range(200):
            if await asyncio.to_thread(a_write_waits_for_the_lock):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the first flush never reached the locked table")
        writer.add(record(workspace, "req_second"))
        release.set()
        for _ in range(100):
            if not writer._buffer and writer._task.done():
                return
            await asyncio.sleep(0.05)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        holder.join()
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {"req_first", "req_second"}


def test_a_full_buffer_drops_the_oldest_rows_and_counts_them(tenants, settings):
    from proxy.account.metrics import ProxyMetrics

    # No flush comes during the test: the rows stay buffered, as while the database is away.
    settings.OPTERA_LOG_FLUSH_SECONDS = 60
    workspace = tenants.owner.workspace
    metrics = ProxyMetrics()

    async def scenario():
        background = BackgroundTasks()
        writer = LogWriter(background, metrics=metrics, max_buffered=3)
        for number in range(5):
            writer.add(record(workspace, f"req_{number}"))
        buffered = [row.request_id for row in writer._buffer]
        await background.drain(timeout=0)
        return buffered

    assert asyncio.run(scenario()) == ["req_2", "req_3", "req_4"]
    assert metrics.registry.get_sample_value("optera_request_logs_dropped_total") == 2
