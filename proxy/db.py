"""Database work from the event loop: run in a worker thread, on a connection known to be usable.

The raw /v1 handler sends none of Django's request signals, so nothing else would retire a
connection that PostgreSQL dropped (a restart, an idle timeout) or that passed CONN_MAX_AGE.
"""

from asgiref.sync import sync_to_async
from django.db import close_old_connections


def _with_usable_connection(function, args, kwargs):
    close_old_connections()
    return function(*args, **kwargs)


async def in_db_thread(function, *args, **kwargs):
    """Return `function(*args, **kwargs)`, run in a worker thread that may use the ORM."""
    return await sync_to_async(_with_usable_connection, thread_sensitive=False)(function, args, kwargs)
