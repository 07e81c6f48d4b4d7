"""Optera against LiteLLM's proxy, side by side, in front of the same fast fake provider.

Creates (or reuses) a throw-away virtualenv with litellm[proxy]==1.108.7 under var/bench-litellm-venv,
starts the fake provider (tests/fakeprovider), Optera under uvicorn (1 worker, cache off; a second
workspace with the exact cache for hit figures) and LiteLLM's proxy (1 worker, no database, no cache,
no callbacks), then measures, alternating between the two proxies and the fake itself:

  * added latency p50/p99 at concurrency 1, 8 and 32 (non-streamed chat completions);
  * throughput at c=32 and CPU seconds per 1,000 requests of each proxy's process tree (/proc);
  * streaming first-byte overhead, and how many concurrent 30 s SSE streams are held without error
    at 100, 300, 500 and 1,000 (1,000 skipped for a proxy that failed at 500);
  * exact-cache hit p50 and throughput (Optera; LiteLLM's in-memory cache in a second instance);
  * peak RSS (VmHWM) per worker, Optera with the local embedder loaded.

Prints one markdown table and saves docs/latency_vs_concurrency.png.

    .venv/bin/python bench/vs_litellm.py [--quick]
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po  # noqa: E402
from litellm_server import LITELLM_VERSION, MASTER_KEY, ensure_litellm, start_litellm  # noqa: E402
from process_metrics import (  # noqa: E402
    NOFILE,
    embedded_postgres_cpu,
    peak_rss_mb,
    process_tree,
    raise_nofile,
    tree_cpu,
)
from vs_litellm_report import CHART, STREAM_LEVELS, chart, table  # noqa: E402

REPO = po.REPO
SLOW_STREAM_FAULT = {"path": "/v1/chat/completions", "chunk_delay": 0.3, "filler_words": 100}
STREAM_BODY = json.dumps(
    {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Say hello to the benchmark"}]}
)


async def wait_answering(url, headers, timeout=180, process=None):
    deadline = time.monotonic() + timeout
    last = None
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"process exited with {process.returncode} before answering")
            try:
                async with session.post(url, data=po.BODY, headers=headers, timeout=aiohttp.ClientTimeout(10)) as r:
                    await r.read()
                    if r.status == 200:
                        return
                    last = r.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last = exc
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s (last: {last})")


# --- load ----------------------------------------------------------------------------------------


async def timed_requests(session, url, headers, count, concurrency, deadline_s=120):
    """Send `count` requests with `concurrency` workers; return (latencies ms, requests/s, errors)."""
    remaining = iter(range(count))
    latencies, errors = [], [0]
    stop_at = time.monotonic() + deadline_s

    async def worker():
        for _ in remaining:
            if time.monotonic() > stop_at:
                return
            started = time.perf_counter()
            try:
                async with session.post(url, data=po.BODY, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors[0] += 1
                        continue
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors[0] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return latencies, (len(latencies) + errors[0]) / elapsed, errors[0]


async def first_byte(session, url, headers):
    started = time.perf_counter()
    async with session.post(url, data=STREAM_BODY, headers=headers) as response:
        await response.content.readany()
        elapsed = (time.perf_counter() - started) * 1000
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} stream answered {response.status}")
    return elapsed


async def one_stream(session, url, headers, timeout):
    """True when the SSE stream ends with `data: [DONE]` and no error."""
    try:
        async with session.post(
            url, data=STREAM_BODY, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as r:
            if r.status != 200:
                await r.read()
                return False, f"status {r.status}"
            tail = b""
            async for chunk in r.content.iter_any():
                tail = (tail + chunk)[-4096:]
                if b'"error"' in chunk:
                    return False, "error event"
            text = tail.strip()
            if text.endswith(b"data: [DONE]"):
                return True, None
            return False, "no [DONE]"
    except asyncio.TimeoutError:
        return False, "timeout"
    except aiohttp.ClientError as exc:
        return False, type(exc).__name__


async def hold_streams(url, headers, level, fake_url):
    """Open `level` slow streams at once; return (ok count, seconds, error summary)."""
    async with aiohttp.ClientSession() as control:
        async with control.post(f"{fake_url}/_fake/reset") as r:
            await r.read()
        async with control.post(f"{fake_url}/_fake/faults", json={**SLOW_STREAM_FAULT, "times": level}) as r:
            await r.read()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_stream(session, url, headers, 90) for _ in range(level)))
        elapsed = time.perf_counter() - started
    async with aiohttp.ClientSession() as control:
        async with control.post(f"{fake_url}/_fake/reset") as r:
            await r.read()
    ok = sum(1 for good, _ in results if good)
    reasons = {}
    for good, reason in results:
        if not good:
            reasons[reason] = reasons.get(reason, 0) + 1
    return ok, elapsed, reasons


def pct(values, fraction):
    return po.percentile(values, fraction) if values else float("nan")


# --- the run -------------------------------------------------------------------------------------


async def run(targets, fake_url, options, log):
    """targets: name -> dict(url, headers, pid, stream_url, cache_url, cache_headers)"""
    results = {name: {} for name in targets}
    names = list(targets)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for name in names:
            await po.sequential(session, targets[name]["url"], targets[name]["headers"], 50)

        # Latency at c=1, 8, 32, alternating rounds; CPU for the c=32 rounds.
        plan = [(1, options.c1_requests, 4), (8, options.c8_requests, 2), (32, options.c32_requests, 2)]
        for concurrency, count, rounds in plan:
            log(f"latency c={concurrency} ...")
            samples = {name: [] for name in names}
            rates = {name: [] for name in names}
            errors = {name: 0 for name in names}
            cpu = {name: 0.0 for name in names}
            pg_cpu = 0.0
            for _ in range(rounds):
                for name in names:
                    pid = targets[name].get("pid")
                    before = tree_cpu(pid) if pid else 0.0
                    pg_before = embedded_postgres_cpu() if name == "Optera" else 0.0
                    lat, rps, err = await timed_requests(
                        session, targets[name]["url"], targets[name]["headers"], count // rounds, concurrency
                    )
                    if pid:
                        cpu[name] += tree_cpu(pid) - before
                    if name == "Optera":
                        pg_cpu += embedded_postgres_cpu() - pg_before
                    samples[name] += lat
                    rates[name].append(rps)
                    errors[name] += err
            for name in names:
                row = results[name]
                row[f"c{concurrency}_p50"] = pct(samples[name], 0.5)
                row[f"c{concurrency}_p99"] = pct(samples[name], 0.99)
                row[f"c{concurrency}_rps"] = sum(rates[name]) / len(rates[name])
                row[f"c{concurrency}_errors"] = errors[name]
                if concurrency == 32:
                    row["cpu_s_per_1000"] = cpu[name] * 1000 / max(count, 1)
                    if name == "Optera":
                        row["pg_cpu_s_per_1000"] = pg_cpu * 1000 / max(count, 1)

        # Streaming first byte, alternating.
        log("stream first byte ...")
        firsts = {name: [] for name in names}
        for _ in range(4):
            for name in names:
                for _ in range(options.first_byte_requests // 4):
                    firsts[name].append(
                        await first_byte(session, targets[name]["stream_url"], targets[name]["headers"])
                    )
        for name in names:
            results[name]["first_byte_p50"] = pct(firsts[name], 0.5)
            results[name]["first_byte_p99"] = pct(firsts[name], 0.99)

        # Exact-cache hits.
        for name in names:
            cache_url = targets[name].get("cache_url")
            if not cache_url:
                continue
            log(f"exact-cache hits {name} ...")
            headers = targets[name]["cache_headers"]
            await po.sequential(session, cache_url, headers, 20)
            lat, _, err1 = await timed_requests(session, cache_url, headers, options.c1_requests // 2, 1)
            _, rps, err2 = await timed_requests(session, cache_url, headers, options.c32_requests // 2, 32)
            results[name]["hit_p50"] = pct(lat, 0.5)
            results[name]["hit_p99"] = pct(lat, 0.99)
            results[name]["hit_rps"] = rps
            results[name]["hit_errors"] = err1 + err2

    # Concurrent slow streams.
    failed = set()
    for level in options.stream_levels:
        for name in names:
            if name == "direct":
                continue
            if name in failed and level > 500:
                results[name][f"streams_{level}"] = "skipped"
                continue
            log(f"{level} concurrent streams via {name} ...")
            ok, elapsed, reasons = await hold_streams(
                targets[name]["stream_url"], targets[name]["headers"], level, fake_url
            )
            note = f"{ok}/{level}" + (f" ({', '.join(f'{k}: {v}' for k, v in reasons.items())})" if reasons else "")
            results[name][f"streams_{level}"] = note
            log(f"  {note} in {elapsed:.0f}s")
            if ok < level:
                failed.add(name)
    return results


def stop(process, name, log):
    if process is None or process.poll() is not None:
        return
    try:
        if process.pid == os.getpgid(process.pid):
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        process.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
        try:
            if process.pid == os.getpgid(process.pid):
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        process.wait(timeout=10)
    log(f"stopped {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few requests, streams at 100 only (smoke test)")
    parser.add_argument("--c1-requests", type=int, default=800)
    parser.add_argument("--c8-requests", type=int, default=1600)
    parser.add_argument("--c32-requests", type=int, default=3200)
    parser.add_argument("--first-byte-requests", type=int, default=200)
    parser.add_argument("--stream-levels", default=",".join(map(str, STREAM_LEVELS)))
    options = parser.parse_args()
    if options.quick:
        options.c1_requests, options.c8_requests, options.c32_requests, options.first_byte_requests = 80, 160, 320, 20
        options.stream_levels = "100"
    options.stream_levels = [int(level) for level in options.stream_levels.split(",") if level]

    began = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    nofile = raise_nofile()  # inherited by the fake and Optera, started from here
    log(f"RLIMIT_NOFILE={nofile} (asked {NOFILE}; falls back to the hard limit when raising it is not permitted)")
    litellm_bin = ensure_litellm()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    processes = []
    workdir = tempfile.mkdtemp(prefix="vs-litellm-")
    try:
        fake, fake_url = po.start_fake_and_prepare(environment)
        processes.append(("fake", fake))
        key_off = po.create_workspace(environment, cache="off")
        key_exact = po.create_workspace(environment, cache="exact")
        key_semantic = po.create_workspace(environment, cache="semantic")

        optera_port = po.free_port()
        optera = po.start_server("uvicorn", optera_port, environment)
        processes.append(("Optera", optera))
        litellm_port = po.free_port()
        litellm = start_litellm(litellm_bin, fake_url, litellm_port, workdir)
        processes.append(("LiteLLM", litellm))

        optera_url = f"http://127.0.0.1:{optera_port}/v1/chat/completions"
        litellm_url = f"http://127.0.0.1:{litellm_port}/v1/chat/completions"
        direct_url = f"{fake_url}/v1/chat/completions"

        def optera_headers(key):
            return {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench", "Content-Type": "application/json"}

        litellm_headers = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
        direct_headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

        asyncio.run(wait_answering(optera_url, optera_headers(key_off), 60, optera))
        log("Optera answers")
        asyncio.run(wait_answering(litellm_url, litellm_headers, 240, litellm))
        log("LiteLLM answers")
        # Load Optera's local embedder (semantic workspace) so its RSS counts it.
        asyncio.run(wait_answering(optera_url, optera_headers(key_semantic), 180, optera))
        log("Optera semantic cache (local embedder) loaded")

        targets = {
            "direct": {"url": direct_url, "headers": direct_headers, "pid": None, "stream_url": direct_url},
            "Optera": {
                "url": optera_url,
                "headers": optera_headers(key_off),
                "pid": optera.pid,
                "stream_url": optera_url,
                "cache_url": optera_url,
                "cache_headers": optera_headers(key_exact),
            },
            "LiteLLM": {"url": litellm_url, "headers": litellm_headers, "pid": litellm.pid, "stream_url": litellm_url},
        }
        results = asyncio.run(run(targets, fake_url, options, log))
        results["direct"]["rss_mb"] = peak_rss_mb(fake.pid)
        results["Optera"]["rss_mb"] = peak_rss_mb(optera.pid)
        results["LiteLLM"]["rss_mb"] = peak_rss_mb(litellm.pid)
        results["LiteLLM"]["processes"] = len(process_tree(litellm.pid))
        stop(litellm, "LiteLLM", log)

        # LiteLLM's in-memory cache, in a second instance (the first has caching off).
        try:
            cache_port = po.free_port()
            cached = start_litellm(litellm_bin, fake_url, cache_port, workdir, cache=True)
            processes.append(("LiteLLM (cache)", cached))
            cached_url = f"http://127.0.0.1:{cache_port}/v1/chat/completions"
            asyncio.run(wait_answering(cached_url, litellm_headers, 240, cached))
            log("LiteLLM with local cache answers")

            async def litellm_hits():
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                    await po.sequential(session, cached_url, litellm_headers, 20)
                    lat, _, err1 = await timed_requests(
                        session, cached_url, litellm_headers, options.c1_requests // 2, 1
                    )
                    _, rps, err2 = await timed_requests(
                        session, cached_url, litellm_headers, options.c32_requests // 2, 32
                    )
                    return lat, rps, err1 + err2

            lat, rps, errors = asyncio.run(litellm_hits())
            results["LiteLLM"].update(hit_p50=pct(lat, 0.5), hit_p99=pct(lat, 0.99), hit_rps=rps, hit_errors=errors)
        except Exception as exc:  # optional figure: report n/a
            log(f"LiteLLM cache run failed: {exc!r}")

        if not options.quick:  # a smoke test must not replace the chart of a full run in docs/
            chart(results)
        print()
        print(
            f"Optera vs LiteLLM {LITELLM_VERSION} — {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"1 worker each, fast fake provider on 127.0.0.1; load generator: aiohttp in one process "
            f"(its ceiling = the direct column's throughput)."
        )
        print()
        print(table(results))
        print()
        print(
            f"LiteLLM process tree: {results['LiteLLM']['processes']} process(es). "
            f"Hit errors: Optera {results['Optera'].get('hit_errors', 'n/a')}, "
            f"LiteLLM {results['LiteLLM'].get('hit_errors', 'n/a')}. Chart: {CHART.relative_to(REPO)}. "
            f"Total {time.monotonic() - began:.0f}s."
        )
        print()
        print("raw: " + json.dumps(results, default=str))
    finally:
        for name, process in reversed(processes):
            stop(process, name, log)
        log(f"LiteLLM logs kept in {workdir}")


if __name__ == "__main__":
    main()
