"""Raw ASGI vs Channels consumer vs async Django view for the `/v1` hot path, side by side.

    .venv/bin/python bench/handler_choice.py [--requests 400] [--rounds 4]

Starts the fake provider, then each bare pass-through of `bench/handler_apps.py` and Optera itself
(cache off) under uvicorn (uvloop, httptools, one worker), one after the other, and measures each
against the fake directly with `proxy_overhead.measure`: added latency at concurrency 1 in
alternating rounds, throughput and the server's CPU per request at concurrency 32.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead  # noqa: E402

HANDLERS = {
    "raw ASGI": "handler_apps:raw_application",
    "Channels AsyncHttpConsumer": "handler_apps:consumer_application",
    "async Django view, no middleware": "handler_apps:django_bare_application",
    "async Django view + the project's middleware": "handler_apps:django_application",
}


def start_handler(app, port, environment):
    command = proxy_overhead.uvicorn_command(app, port, "--app-dir", str(proxy_overhead.REPO / "bench"))
    process = subprocess.Popen(command, cwd=proxy_overhead.REPO, env=environment)
    proxy_overhead.wait_until_listening(port)
    return process


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environment["PYTHONPATH"] = str(proxy_overhead.REPO)
    fake, fake_url = proxy_overhead.start_fake_and_prepare(environment)
    processes = [fake]
    try:
        key = proxy_overhead.create_workspace(environment)
        rows = []
        servers = [*HANDLERS.items(), ("Optera (full pipeline, cache off)", None)]
        for label, app in servers:
            port = proxy_overhead.free_port()
            if app is None:
                server = proxy_overhead.start_server("uvicorn", port, environment)
            else:
                server = start_handler(app, port, environment)
            processes.append(server)
            row = asyncio.run(
                proxy_overhead.measure(
                    label,
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    f"{fake_url}/v1/chat/completions",
                    key,
                    server.pid,
                    options.requests,
                    options.rounds,
                )
            )
            rows.append(row)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        proxy_overhead.print_table(rows, subject="handler")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
