"""What one request costs the machines behind Optera, and what one host's processes deliver.

Part 1, per kind of request (cache off; a miss on a workspace's default settings, semantic cache on;
an exact hit): Optera's CPU, PostgreSQL statements and transactions counted by pg_stat_statements
(every statement is one round trip, BEGIN and COMMIT included), PostgreSQL's CPU, and Redis commands
(INFO commandstats) and Redis CPU. One Optera process (uvicorn, as deploy/systemd runs it), a
PostgreSQL 18 + pgvector of its own with pg_stat_statements, Redis, the fake provider.

Part 2, the workers table: 1 and 2 Optera processes, directly (uvicorn --workers N) and behind
deploy/nginx/optera.conf over TLS (N processes, as the systemd units run them), at concurrency 32:
requests/s, added latency and CPU of Optera and nginx per request.

    .venv/bin/python bench/capacity.py [--requests 400] [--skip-workers]
"""

import argparse
import asyncio
import json
import os
import secrets
import ssl
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp
import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import proxy_overhead as bench  # noqa: E402
from process_metrics import tree_cpu  # noqa: E402

from tests.deploy.nginx_site import running_site  # noqa: E402
from tests.private_postgres import PrivatePostgres  # noqa: E402
from tests.processes import optera_process  # noqa: E402

REDIS_DATABASE = 9
CONCURRENCY = 8
# The log writer flushes every second: wait for the last batch before reading the counters.
SETTLE_SECONDS = 2.5
FOREIGN_KEY_CHECK = "%FOR KEY SHARE OF x"


def question_bodies(prefix, count, *, repeat=False):
    """Request bodies: distinct questions (misses), or one question over and over (exact hits)."""
    for number in range(count):
        subject = "the capital of France" if repeat else f"{prefix} item {number} {secrets.token_hex(3)}"
        yield json.dumps(
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Tell me about {subject}"}]}
        )


async def send_all(url, headers, bodies, concurrency, ssl_context=None):
    """Send every body with `concurrency` in flight; return the latencies in ms and the requests per second."""
    pending = iter(bodies)
    latencies = []
    connector = aiohttp.TCPConnector(limit=0, ssl=ssl_context if ssl_context else False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            for body in pending:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, len(latencies) / (time.perf_counter() - started)


class Counters:
    """Snapshots of everything a request costs outside the load generator."""

    def __init__(self, database, optera_pid):
        self.database = database
        self.optera_pid = optera_pid
        self.postmaster_pid = int((database.data_dir / "postmaster.pid").read_text().split()[0])
        self.redis = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DATABASE)

    def snapshot(self):
        with self.database.connect("postgres") as connection:
            statements = dict(
                connection.execute(
                    "SELECT CASE WHEN query IN ('BEGIN', 'COMMIT', 'ROLLBACK') THEN query ELSE 'statement' END,"
                    " sum(calls) FROM pg_stat_statements"
                    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'optera')"
                    # Foreign-key checks run inside PostgreSQL on an INSERT: work, but not round trips.
                    f" AND query NOT LIKE '{FOREIGN_KEY_CHECK}' GROUP BY 1"
                ).fetchall()
            )
        commands = self.redis.info("stats")["total_commands_processed"]
        cpu = self.redis.info("cpu")
        return {
            "optera_cpu": tree_cpu(self.optera_pid),
            "postgres_cpu": tree_cpu(self.postmaster_pid),
            "redis_cpu": cpu["used_cpu_user"] + cpu["used_cpu_sys"],
            # Two INFO calls per snapshot are this script's own.
            "redis_commands": commands - 2,
            "statements": float(statements.get("statement", 0)),
            "transactions": float(statements.get("COMMIT", 0)) + float(statements.get("ROLLBACK", 0)),
            "round_trips": float(sum(statements.values())),
        }


def per_request(before, after, count, idle_rate, seconds):
    """Each counter's growth per request, less what the process does on its own while idle."""
    return {name: (after[name] - before[name] - idle_rate[name] * seconds) / count for name in before}


def measure_kinds(counters, url, keys, requests):
    idle_before = counters.snapshot()
    time.sleep(5)
    idle_after = counters.snapshot()
    idle_rate = {name: (idle_after[name] - idle_before[name]) / 5 for name in idle_before}
    kinds = [
        ("cache off (the proxy alone)", keys["off"], question_bodies("off", requests)),
        ("miss, default settings (semantic cache on)", keys["default"], question_bodies("miss", requests)),
        ("exact hit", keys["default"], question_bodies("hit", requests, repeat=True)),
    ]
    rows = []
    for name, key, bodies in kinds:
        headers = proxy_headers(key)
        # Warm this kind's path (and store the repeated question, so the measured ones are hits).
        asyncio.run(send_all(url, headers, question_bodies(f"warm {name}", 20, repeat="hit" in name), 1))
        time.sleep(SETTLE_SECONDS)
        before, started = counters.snapshot(), time.monotonic()
        latencies, rate = asyncio.run(send_all(url, headers, bodies, CONCURRENCY))
        time.sleep(SETTLE_SECONDS)
        after = counters.snapshot()
        costs = per_request(before, after, requests, idle_rate, time.monotonic() - started)
        rows.append({"kind": name, "rps": rate, "p50": bench.percentile(latencies, 0.5), **costs})
    return rows


@contextmanager
def optera_processes(environment, count, *, behind_nginx, directory):
    """Yield (base URL, pids to count CPU of, TLS context or None) for `count` processes, directly or behind nginx."""
    with ExitStack() as stack:
        if not behind_nginx:
            port = bench.free_port()
            workers = ["--workers", str(count)] if count > 1 else []
            command = bench.uvicorn_command("optera.asgi:application", port, *workers)
            optera = stack.enter_context(web_process(environment, port, command, directory))
            yield optera.url, [optera.process.pid], None
            return
        ports = [bench.free_port() for _ in range(count)]
        # As deploy/systemd/optera-web@.service runs each: trusting nginx's forwarded headers.
        processes = [
            stack.enter_context(
                web_process(
                    environment,
                    port,
                    bench.uvicorn_command(
                        "optera.asgi:application", port, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"
                    ),
                    directory,
                )
            )
            for port in ports
        ]
        site = stack.enter_context(running_site(Path(tempfile.mkdtemp(prefix="nginx-", dir=directory)), ports))
        pids = [optera.process.pid for optera in processes]
        yield site.https, [*pids, site.pid], ssl.create_default_context(cafile=str(site.certificate))


def web_process(environment, port, command, directory):
    """An Optera process run by `command`, ready (its /readyz answered 200) until the block ends."""
    return optera_process(environment, port, directory / f"web-{port}.log", timeout=120, command=command)


def proxy_headers(key):
    return {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench", "Content-Type": "application/json"}


def measure_workers(environment, keys, requests, directory):
    rows = []
    for count in (1, 2):
        for behind_nginx in (False, True):
            with optera_processes(environment, count, behind_nginx=behind_nginx, directory=directory) as (
                url,
                pids,
                tls,
            ):
                for traffic in ("off", "default"):
                    headers = proxy_headers(keys[traffic])
                    endpoint = f"{url}/v1/chat/completions"
                    asyncio.run(send_all(endpoint, headers, question_bodies(f"warm {count}{traffic}", 64), 32, tls))
                    cpu_before = sum(tree_cpu(pid) for pid in pids)
                    bodies = question_bodies(f"w{count}{behind_nginx}{traffic}", requests * 4)
                    latencies, rate = asyncio.run(send_all(endpoint, headers, bodies, 32, tls))
                    cpu = sum(tree_cpu(pid) for pid in pids) - cpu_before
                    rows.append(
                        {
                            "processes": count,
                            "front": "nginx (TLS)" if behind_nginx else "direct",
                            "traffic": "cache off" if traffic == "off" else "all-miss, default settings",
                            "rps": rate,
                            "p50": bench.percentile(latencies, 0.5),
                            "p99": bench.percentile(latencies, 0.99),
                            "cpu_ms": cpu * 1000 / (requests * 4),
                        }
                    )
    return rows


def print_kinds(rows):
    print(
        "| request | Optera CPU ms | PostgreSQL statements (round trips) | of which transactions "
        "| PostgreSQL CPU ms | Redis commands | Redis CPU ms | c=8 rps |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['kind']} | {row['optera_cpu'] * 1000:.2f} | {row['round_trips']:.2f} "
            f"({row['statements']:.2f} + BEGIN/COMMIT) | {row['transactions']:.2f} | {row['postgres_cpu'] * 1000:.2f} "
            f"| {row['redis_commands']:.2f} | {row['redis_cpu'] * 1000:.3f} | {row['rps']:.0f} |"
        )


def print_connections_and_statements(database):
    """How many connections one process holds after the runs, and which statements the runs made most."""
    with database.connect("postgres") as connection:
        held = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'optera'").fetchone()[0]
        top = connection.execute(
            "SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'optera') ORDER BY calls DESC LIMIT 12"
        ).fetchall()
    print(f"\nPostgreSQL connections held by the one Optera process after the runs: {held}\n")
    print("| calls (all runs) | statement |")
    print("|---|---|")
    for calls, query in top:
        print(f"| {calls} | `{query.replace('|', '/')}` |")


def print_workers(rows):
    print("| processes | front | traffic | requests/s | p50 ms | p99 ms | CPU ms/request (Optera + nginx) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['processes']} | {row['front']} | {row['traffic']} | {row['rps']:.0f} | {row['p50']:.1f} "
            f"| {row['p99']:.1f} | {row['cpu_ms']:.2f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--skip-workers", action="store_true")
    options = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="optera-capacity-"))
    os.chmod(directory, 0o777)
    database = PrivatePostgres(directory / "pgdata")
    try:
        with database.connect("postgres") as connection:
            connection.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        database.stop()
        database.start()
        for name in ("postgres", "optera"):
            with database.connect(name) as connection:
                connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        redis.Redis(db=REDIS_DATABASE).flushdb()
        environment = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
        environment.update(
            DATABASE_URL=database.database_url,
            REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DATABASE}",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            OPTERA_VAR_DIR=str(directory / "var"),
        )
        fake, _fake_url = bench.start_fake_and_prepare(environment)
        with ExitStack() as stack:
            stack.callback(lambda: (fake.terminate(), fake.wait(timeout=10)))
            keys = {
                "off": bench.create_workspace(environment),
                "default": bench.create_workspace(environment, cache="semantic"),
            }
            with optera_processes(environment, 1, behind_nginx=False, directory=directory) as (url, pids, _tls):
                print_kinds(
                    measure_kinds(Counters(database, pids[0]), f"{url}/v1/chat/completions", keys, options.requests)
                )
                print_connections_and_statements(database)
            if not options.skip_workers:
                print()
                print_workers(measure_workers(environment, keys, options.requests, directory))
    finally:
        database.close()


if __name__ == "__main__":
    main()
