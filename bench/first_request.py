"""The first request after a start: how long until /readyz says ready, and what the first request pays.

Starts the fake provider, then, `--starts` times, a fresh daphne process (as `make run` does),
polls /readyz until it answers 200, and sends one chat completion with the default cache
settings (semantic on: the embedder is needed at once). Reports each start's time to ready and the
first request's X-Optera-Overhead-Ms, with the medians.

    .venv/bin/python bench/first_request.py [--starts 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import httpx
from proxy_overhead import REPO, free_port, start_fake_and_prepare, wait_until_listening

PYTHON = sys.executable


def one_start(environment, key, number):
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "optera.asgi:application"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port)
        while httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).status_code != 200:
            time.sleep(0.1)
        ready_seconds = time.perf_counter() - started
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"first question {number}"}]},
            headers={"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench"},
            timeout=60,
        )
        response.raise_for_status()
        second = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"second question {number}"}]},
            headers={"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench"},
            timeout=60,
        )
        return (
            ready_seconds,
            float(response.headers["x-optera-overhead-ms"]),
            float(second.headers["x-optera-overhead-ms"]),
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    options = parser.parse_args()
    environment = dict(os.environ)
    fake, _ = start_fake_and_prepare(environment)
    try:
        command = [PYTHON, "manage.py", "create_workspace", f"first-{time.time_ns()}", "--json"]
        output = subprocess.run(command, cwd=REPO, env=environment, check=True, capture_output=True, text=True)
        key = json.loads(output.stdout.strip().splitlines()[-1])["api_key"]
        results = [one_start(environment, key, number) for number in range(options.starts)]
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    for number, (ready, first, second) in enumerate(results, 1):
        print(
            f"start {number}: ready after {ready:.1f} s; overhead: first request {first:.1f} ms, second {second:.1f} ms"
        )
    ready, first, second = (statistics.median(column) for column in zip(*results, strict=True))
    print(f"median: ready after {ready:.1f} s; overhead: first request {first:.1f} ms, second {second:.1f} ms")


if __name__ == "__main__":
    main()
