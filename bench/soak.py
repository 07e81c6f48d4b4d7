"""Soak: a fixed request rate for minutes on two Optera processes; errors, memory growth and lost logs.

Starts the fake provider and two uvicorn processes of Optera sharing the database (and Redis when
REDIS_URL is set), creates a throw-away workspace, then sends an open-loop stream of requests at
`--rate` per second for `--minutes`, alternating between the processes: a third streamed misses, a
third non-streamed misses, a third repeats of twenty questions (cache hits after their first time).
Reports failed requests, each process's resident memory after the warm-up minute and at the end,
and whether the request log holds exactly one row per request sent.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20]
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
from process_metrics import process_tree
from proxy_overhead import REPO, free_port, start_fake_and_prepare, uvicorn_command, wait_until_listening

PYTHON = sys.executable
WARM_UP_SECONDS = 60
REPEATED_QUESTIONS = 20


def rss_mb(pid):
    """Resident memory (MB) of a process and its children."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def manage(environment, *arguments):
    command = [PYTHON, "manage.py", *arguments]
    return subprocess.run(command, cwd=REPO, env=environment, check=True, capture_output=True, text=True).stdout


def body_of(number, rng):
    kind = number % 3
    if kind == 2:
        question = f"repeated question {rng.randrange(REPEATED_QUESTIONS)}"
    else:
        question = f"soak question {number} {rng.random()}"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    if kind == 0:
        body["stream"] = True
    return ("stream", "miss", "repeat")[kind], json.dumps(body)


async def send(session, url, headers, kind, body, outcomes):
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            outcomes[(kind, response.status)] += 1
    except Exception as error:  # a failed request is the figure this benchmark reports
        outcomes[(kind, type(error).__name__)] += 1


async def soak(urls, key, pids, *, minutes, rate):
    headers = {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-soak", "Content-Type": "application/json"}
    outcomes = Counter()
    rng = random.Random(7)
    memory = {"start": [rss_mb(pid) for pid in pids]}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        tasks = set()
        started = time.monotonic()
        duration = minutes * 60
        number = 0
        while (elapsed := time.monotonic() - started) < duration:
            if "warm" not in memory and elapsed >= WARM_UP_SECONDS:
                memory["warm"] = [rss_mb(pid) for pid in pids]
            kind, body = body_of(number, rng)
            task = asyncio.ensure_future(send(session, urls[number % 2], headers, kind, body, outcomes))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            number += 1
            # Open loop: the next request leaves on schedule, however long the last one takes.
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks)
    memory["end"] = [rss_mb(pid) for pid in pids]
    return number, outcomes, memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=20, help="requests per second, both processes together")
    options = parser.parse_args()
    environment = dict(os.environ)
    fake, _ = start_fake_and_prepare(environment)
    processes = [fake]
    try:
        name = f"soak-{time.time_ns()}"
        created = manage(environment, "create_workspace", name, "--json", "--set", "rate_limit_per_minute=100000000")
        key = json.loads(created.strip().splitlines()[-1])["api_key"]
        ports = [free_port(), free_port()]
        for port in ports:
            log = open(REPO / "var" / f"soak-{port}.log", "w")
            server = subprocess.Popen(
                uvicorn_command("optera.asgi:application", port), cwd=REPO, env=environment, stdout=log, stderr=log
            )
            processes.append(server)
            wait_until_listening(port)
        urls = [f"http://127.0.0.1:{port}/v1/chat/completions" for port in ports]
        sent, outcomes, memory = asyncio.run(
            soak(urls, key, [server.pid for server in processes[1:]], minutes=options.minutes, rate=options.rate)
        )
        time.sleep(5)  # request logs are written in batches, a second apart
        logged = int(
            manage(
                environment,
                "shell",
                "-c",
                "from analytics.models import RequestLog; "
                f"print(RequestLog.objects.filter(workspace__name={name!r}).count())",
            ).split()[-1]
        )
        report(options, sent, outcomes, memory, logged)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


def report(options, sent, outcomes, memory, logged):
    failed = sum(count for (_, status), count in outcomes.items() if status != 200)
    growth = [
        (end - warm) / warm * 100 for warm, end in zip(memory.get("warm", memory["start"]), memory["end"], strict=True)
    ]
    print(f"soak: {options.minutes:g} min at {options.rate:g} req/s over two processes")
    print(f"  requests sent {sent}, failed {failed}; outcomes {dict(sorted(outcomes.items(), key=str))}")
    for number, (warm, end, percent) in enumerate(
        zip(memory.get("warm", memory["start"]), memory["end"], growth, strict=True), 1
    ):
        print(f"  process {number}: RSS {warm:.0f} MB after warm-up -> {end:.0f} MB at the end ({percent:+.1f} %)")
    print(f"  request log rows {logged} for {sent} requests sent ({'equal' if logged == sent else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
