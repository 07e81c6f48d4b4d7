"""Added latency and CPU cost of the proxy, measured side by side against the same fake provider.

Starts the fake provider (tests/fakeprovider) and Optera (daphne and/or uvicorn) as separate
processes, creates a throw-away workspace, then alternates rounds of requests sent directly to the
fake and through Optera, so drift on a shared machine hits both alike. Cache off (nothing to cache
yet), non-streamed chat completions. CPU per request is read from /proc for the server process.

    .venv/bin/python bench/proxy_overhead.py [--servers daphne,uvicorn] [--requests 400]
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from process_metrics import tree_cpu

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello to the benchmark"}]})


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start_fake_and_prepare(environment):
    """Start the fake provider, point Optera's environment at it and migrate; return (process, its URL)."""
    fake_port = free_port()
    fake = subprocess.Popen(
        [PYTHON, "-m", "tests.fakeprovider", "--port", str(fake_port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(fake_port)
    fake_url = f"http://127.0.0.1:{fake_port}"
    environment.update({"OPENAI_BASE_URL": f"{fake_url}/v1", "ANTHROPIC_BASE_URL": fake_url, "LOG_LEVEL": "WARNING"})
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=REPO, env=environment, check=True, capture_output=True
    )
    return fake, fake_url


def create_workspace(environment, *, cache="off", extra=(), checkout=REPO):
    """Create a throw-away workspace in `checkout`'s database; return its API key.

    cache=None leaves the cache setting at what a new workspace gets (the semantic cache).
    """
    name = f"bench-{time.time_ns()}"
    options = ["rate_limit_per_minute=100000000", *([] if cache is None else [f"cache={cache}"]), *extra]
    command = [PYTHON, "manage.py", "create_workspace", name, "--json"]
    for option in options:
        command += ["--set", option]
    output = subprocess.run(command, cwd=checkout, env=environment, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["api_key"]


def uvicorn_command(app, port, *options):
    """Return the command that serves `app` the way the benchmarks measure it: uvloop, httptools, quiet."""
    return [
        str(REPO / ".venv/bin/uvicorn"),
        *options,
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start_server(kind, port, environment):
    if kind == "daphne":
        command = [str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "optera.asgi:application"]
    else:
        # "uvicorn-2w": two worker processes behind uvicorn's own supervisor, one per core here.
        workers = ["--workers", "2"] if kind == "uvicorn-2w" else []
        command = uvicorn_command("optera.asgi:application", port, *workers)
    log = open(REPO / "var" / f"bench-{kind}.log", "w")
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
    wait_until_listening(port)
    return process


async def one_request(session, url, headers):
    started = time.perf_counter()
    async with session.post(url, data=BODY, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


async def sequential(session, url, headers, count):
    return [await one_request(session, url, headers) for _ in range(count)]


async def concurrent(session, url, headers, count, concurrency):
    remaining = iter(range(count))
    latencies = []

    async def worker():
        for _ in remaining:
            latencies.append(await one_request(session, url, headers))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, count / (time.perf_counter() - started)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


async def measure(kind, proxy_url, direct_url, key, server_pid, requests, rounds):
    proxy_headers = {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench", "Content-Type": "application/json"}
    direct_headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await sequential(session, proxy_url, proxy_headers, 50)
        await sequential(session, direct_url, direct_headers, 50)
        direct, proxied = [], []
        for _ in range(rounds):
            direct += await sequential(session, direct_url, direct_headers, requests // rounds)
            proxied += await sequential(session, proxy_url, proxy_headers, requests // rounds)
        results = {
            "server": kind,
            "c1_direct_p50": percentile(direct, 0.5),
            "c1_proxy_p50": percentile(proxied, 0.5),
            "c1_direct_p99": percentile(direct, 0.99),
            "c1_proxy_p99": percentile(proxied, 0.99),
        }
        load = requests * 4
        direct_c32, direct_rps = await concurrent(session, direct_url, direct_headers, load, 32)
        cpu_before = tree_cpu(server_pid)
        proxy_c32, proxy_rps = await concurrent(session, proxy_url, proxy_headers, load, 32)
        cpu_used = tree_cpu(server_pid) - cpu_before
        results.update(
            {
                "c32_direct_p50": percentile(direct_c32, 0.5),
                "c32_proxy_p50": percentile(proxy_c32, 0.5),
                "c32_direct_p99": percentile(direct_c32, 0.99),
                "c32_proxy_p99": percentile(proxy_c32, 0.99),
                "c32_direct_rps": direct_rps,
                "c32_proxy_rps": proxy_rps,
                "cpu_ms_per_request": cpu_used * 1000 / load,
            }
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="daphne,uvicorn,uvicorn-2w")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, fake_url = start_fake_and_prepare(environment)
    processes = [fake]
    try:
        key = create_workspace(environment)
        rows = []
        for kind in options.servers.split(","):
            port = free_port()
            server = start_server(kind, port, environment)
            processes.append(server)
            rows.append(
                asyncio.run(
                    measure(
                        kind,
                        f"http://127.0.0.1:{port}/v1/chat/completions",
                        f"{fake_url}/v1/chat/completions",
                        key,
                        server.pid,
                        options.requests,
                        options.rounds,
                    )
                )
            )
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        print_table(rows)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def print_table(rows, *, subject="Optera"):
    print(
        f"| server | c=1 direct p50 | c=1 via {subject} p50 | added p50 | added p99 | c=32 direct rps "
        f"| c=32 via {subject} rps | c=32 added p50 | {subject} CPU ms/request |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['server']} | {row['c1_direct_p50']:.2f} ms | {row['c1_proxy_p50']:.2f} ms "
            f"| {row['c1_proxy_p50'] - row['c1_direct_p50']:.2f} ms "
            f"| {row['c1_proxy_p99'] - row['c1_direct_p99']:.2f} ms "
            f"| {row['c32_direct_rps']:.0f} | {row['c32_proxy_rps']:.0f} "
            f"| {row['c32_proxy_p50'] - row['c32_direct_p50']:.2f} ms | {row['cpu_ms_per_request']:.2f} |"
        )


if __name__ == "__main__":
    main()
