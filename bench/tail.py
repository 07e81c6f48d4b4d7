"""The tail under load: added p50 and p99 at concurrency 32, for one checkout or two side by side.

    .venv/bin/python bench/tail.py [--before DIR] [--rounds 10] [--requests 3200]

Starts the fake provider once, then Optera (one uvicorn worker, uvloop, httptools, cache off) from
this checkout and, with --before, from another one (its own code and embedded database, this
virtualenv), each with a throw-away workspace. Rounds alternate between the fake directly and each
checkout; every round is `--requests` non-streamed chat completions from 32 concurrent clients.
All rounds together last well over the 5 s for which a process trusts the key, plan and budget
records it read, so the tail includes their expiry. Percentiles are pooled over all rounds;
"added" is Optera's percentile minus the fake's. The event-loop lag comes from each server's /metrics.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po  # noqa: E402
from process_metrics import tree_cpu  # noqa: E402

CONCURRENCY = 32
METRICS_TOKEN = "bench-tail"
LAG_BUCKET = re.compile(r'optera_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)')


class Checkout:
    """One Optera checkout served by uvicorn, with its own embedded database and workspace."""

    def __init__(self, name, path, environment):
        self.name = name
        self.path = path
        self.environment = dict(environment, OPTERA_METRICS_TOKEN=METRICS_TOKEN)
        self.latencies = []
        self.cpu_seconds = 0.0
        self.process = None

    def start(self):
        manage = [po.PYTHON, "manage.py", "migrate", "--noinput"]
        subprocess.run(manage, cwd=self.path, env=self.environment, check=True)
        self.key = po.create_workspace(self.environment, checkout=self.path)
        self.port = po.free_port()
        self.process = subprocess.Popen(
            po.uvicorn_command("optera.asgi:application", self.port), cwd=self.path, env=self.environment
        )
        po.wait_until_listening(self.port)
        self.url = f"http://127.0.0.1:{self.port}/v1/chat/completions"
        self.headers = {"Authorization": f"Bearer {self.key}", "X-Provider-Key": "sk-bench"}

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    async def loop_lag(self, session):
        """Return the event-loop lag histogram's cumulative buckets, {upper bound: samples}."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with session.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as response:
            text = await response.text()
        return {bound: float(count) for bound, count in LAG_BUCKET.findall(text)}


async def measure(checkouts, direct_url, rounds, requests):
    direct_headers = {"Authorization": "Bearer sk-bench"}
    direct = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for checkout in checkouts:
            await po.sequential(session, checkout.url, checkout.headers, 100)
            checkout.lag_before = await checkout.loop_lag(session)
        for _ in range(rounds):
            latencies, _ = await po.concurrent(session, direct_url, direct_headers, requests, CONCURRENCY)
            direct += latencies
            for checkout in checkouts:
                cpu_before = tree_cpu(checkout.process.pid)
                latencies, _ = await po.concurrent(session, checkout.url, checkout.headers, requests, CONCURRENCY)
                checkout.cpu_seconds += tree_cpu(checkout.process.pid) - cpu_before
                checkout.latencies += latencies
        for checkout in checkouts:
            after = await checkout.loop_lag(session)
            checkout.lag = {bound: after[bound] - checkout.lag_before.get(bound, 0) for bound in after}
    return direct


def lag_summary(lag):
    """Say how many of the lag samples were over 10 ms and over 50 ms."""
    total = lag.get("+Inf", 0)
    over_10 = total - lag.get("0.01", 0)
    over_50 = total - lag.get("0.05", 0)
    return f"{int(total)} samples, {int(over_10)} over 10 ms, {int(over_50)} over 50 ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout to measure side by side (its 'before')")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=3200)
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, fake_url = po.start_fake_and_prepare(environment)
    checkouts = [Checkout("this checkout", po.REPO, environment)]
    if options.before:
        checkouts.insert(0, Checkout(f"before ({options.before})", options.before.resolve(), environment))
    try:
        for checkout in checkouts:
            checkout.start()
        direct = asyncio.run(measure(checkouts, f"{fake_url}/v1/chat/completions", options.rounds, options.requests))
    finally:
        for checkout in checkouts:
            checkout.stop()
        fake.terminate()
        fake.wait(timeout=10)
    direct_p50, direct_p99 = po.percentile(direct, 0.5), po.percentile(direct, 0.99)
    total = options.rounds * options.requests
    print(f"c={CONCURRENCY}, {options.rounds} rounds × {options.requests:,} requests each;", end=" ")
    print(f"direct p50 {direct_p50:.2f} ms, p99 {direct_p99:.2f} ms")
    print("| checkout | added p50 | added p99 | p99 ÷ p50 (added) | added p99.9 | worst | CPU ms/request | loop lag |")
    print("|---|---|---|---|---|---|---|---|")
    for checkout in checkouts:
        p50 = po.percentile(checkout.latencies, 0.5) - direct_p50
        p99 = po.percentile(checkout.latencies, 0.99) - direct_p99
        p999 = po.percentile(checkout.latencies, 0.999) - po.percentile(direct, 0.999)
        print(
            f"| {checkout.name} | {p50:.2f} ms | {p99:.2f} ms | {p99 / p50:.1f} | {p999:.2f} ms "
            f"| {max(checkout.latencies):.1f} ms | {checkout.cpu_seconds * 1000 / total:.3f} "
            f"| {lag_summary(checkout.lag)} |"
        )


if __name__ == "__main__":
    main()
