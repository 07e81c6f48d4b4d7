"""Load what the first requests would otherwise wait for, before the process says it is ready.

The local embedder (an ONNX model, seconds to load), the tokenizers' vocabularies and the
semantic cache's word lists are loaded lazily on first use; a load balancer's first users would
pay that on every deploy. A thread started with the application loads them all by running the
same functions a request runs, once, on a throw-away text; /readyz answers 503 "starting" until it
has finished. Daphne sends no ASGI lifespan events, so this starts when the application is made.
"""

import gc
import logging
import threading
import time

from django.conf import settings

WARM_UP_TEXT = "How do I warm up before a run?"
# Keys read into memory before the process says it is ready (one query for them, one per workspace).
ACTIVE_KEYS_READ_AHEAD = 200
logger = logging.getLogger(__name__)


class WarmUp:
    def __init__(self):
        self._done = threading.Event()
        self.seconds = None
        self.error = None

    @property
    def done(self):
        return self._done.is_set()

    def start(self):
        threading.Thread(target=self._run, name="optera-warm-up", daemon=True).start()

    def wait(self, timeout=None):
        return self._done.wait(timeout)

    def _run(self):
        started = time.perf_counter()
        try:
            load_everything_lazy()
        except Exception as error:  # a failed warm-up leaves the loads to the first requests, as before
            self.error = type(error).__name__
            logger.warning("warm-up failed (%s); the first requests will load what it could not", self.error)
        finally:
            # Everything loaded so far (Django, the models' vocabularies and word lists, the
            # ORM's compiled queries) lives as long as the process. Left in the collector's
            # oldest generation, each full collection walked it all: 150-190 ms pauses of the
            # event loop every few thousand requests, measured, which were the c=32 p99. Collected
            # first, so that no garbage of the warm-up itself is kept for good.
            gc.collect()
            gc.freeze()
            self.seconds = time.perf_counter() - started
            self._done.set()
            logger.info("warm-up finished in %.1f s", self.seconds)


def load_everything_lazy():
    # Modules the request path imports on first use, and Celery's task registry (finalised the
    # first time a request enqueues a task: tens of milliseconds holding the interpreter).
    import cachestore.semantic.matching  # noqa: F401
    from optera.celery import app
    from proxy import tokens
    from proxy.lookup.semantic import _embedding_text, _fingerprint, _local_embedding

    app.finalize(auto=True)
    _connect_to_the_broker(app)

    tokens.count_text(WARM_UP_TEXT, model="gpt-4o-mini")
    tokens.count_text(WARM_UP_TEXT, model="gpt-4")
    _fingerprint(WARM_UP_TEXT, "warm-up")
    _embedding_text(WARM_UP_TEXT)
    if settings.OPTERA_EMBEDDER == "local":
        # Texts of a few lengths: the ONNX runtime sizes its buffers on the first runs of each.
        for repeat in (1, 4, 16):
            _local_embedding(" ".join([WARM_UP_TEXT] * repeat))


def read_as_a_request_would():
    """Run each read of a request's path once, on ids that match nothing, in this worker thread.

    A request's first query of each kind pays for building it in the ORM and, on a new connection,
    for PostgreSQL loading pgvector and the tables' catalog entries: 30+ ms of the first request's
    overhead, measured. Run on every warmed worker thread, before the process says it is ready.
    """
    from accounts.selectors import key_record_find
    from billing.selectors import budgets_of, workspace_limits
    from cachestore.models import EMBEDDING_DIMENSIONS
    from cachestore.selectors import cache_entry_find_exact, cache_entry_find_similar

    key_record_find(public_id="warm-up")
    budgets_of(workspace_id=0)
    workspace_limits(workspace_id=0)
    cache_entry_find_exact(workspace_id=0, key_hash="warm-up")
    cache_entry_find_similar(
        workspace_id=0, context_hash="warm-up", embedding=[1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)
    )


def read_active_keys_ahead():
    """Return (key records, {workspace id: budgets}, {workspace id: plan limits}) of the keys in recent use.

    Keys used or created in the last day, most recent first: after a restart their first requests
    find the key, the budgets and the plan in memory instead of reading them, as later ones do.
    """
    from datetime import timedelta

    from django.utils import timezone

    from accounts.selectors import key_records_recent
    from billing.selectors import budgets_of_workspaces, workspace_limits

    records = key_records_recent(since=timezone.now() - timedelta(days=1), limit=ACTIVE_KEYS_READ_AHEAD)
    workspace_ids = list(dict.fromkeys(record.workspace_id for record in records))
    limits = {workspace_id: workspace_limits(workspace_id=workspace_id) for workspace_id in workspace_ids}
    return records, budgets_of_workspaces(workspace_ids=workspace_ids), limits


def _connect_to_the_broker(app):
    """Open the producer's broker connection: the first request enqueues a task, and making the
    connection (an SQLAlchemy engine for the PostgreSQL broker) holds the interpreter for 100+ ms."""
    try:
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except Exception as error:  # the broker being down is the first task's to report
        logger.info("warm-up: the broker is not reachable yet (%s)", type(error).__name__)
