"""Cache figures: exact-hit latency end to end, and semantic search time and recall at 10k and 100k entries.

    .venv/bin/python bench/cache_bench.py [--sizes 10000,100000]

Search: entries get random unit vectors spread over 20 workspaces and 50 contexts per workspace
(the filters the proxy applies); the query is a stored vector plus noise. Recall compares the
HNSW search (pgvector 0.8 iterative scan, workspace and context filters) with an exact scan of the
same filtered rows. End-to-end: a uvicorn server of Optera in front of the fake provider; the
same request is repeated, so every request after the first is an exact hit.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")


def setup_django():
    import django

    django.setup()


def seed(workspaces, size, rng):
    from django.utils import timezone

    from cachestore.models import CacheEntry

    expires_at = timezone.now() + timedelta(days=1)
    vectors = rng.normal(size=(size, 384)).astype(numpy.float32)
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for index in range(size):
        workspace = workspaces[index % len(workspaces)]
        rows.append(
            CacheEntry(
                workspace=workspace,
                kind="chat",
                key_hash=f"bench{size}-{index:08d}",
                context_hash=f"context-{index % 50}",
                model="gpt-4o-mini",
                provider="openai",
                response={},
                usage={},
                expires_at=expires_at,
                embedding=vectors[index].tolist(),
            )
        )
        if len(rows) == 2000:
            CacheEntry.objects.bulk_create(rows)
            rows = []
    if rows:
        CacheEntry.objects.bulk_create(rows)
    return vectors


def exact_neighbours(workspace_id, context_hash, query, limit):
    from django.db import connection, transaction
    from pgvector.django import CosineDistance

    from cachestore.models import CacheEntry

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        return [
            entry.pk
            for entry in CacheEntry.objects.filter(
                workspace_id=workspace_id, context_hash=context_hash, embedding__isnull=False
            ).order_by(CosineDistance("embedding", query))[:limit]
        ]


def search_figures(size):
    from accounts import services
    from cachestore import selectors

    rng = numpy.random.default_rng(7)
    workspaces = [
        services.workspace_create(name=f"bench-search-{size}-{time.time_ns()}-{index}") for index in range(20)
    ]
    try:
        started = time.perf_counter()
        vectors = seed(workspaces, size, rng)
        insert_seconds = time.perf_counter() - started
        timings, recalls = [], []
        for trial in range(200):
            index = int(rng.integers(size))
            workspace = workspaces[index % len(workspaces)]
            query = vectors[index] + rng.normal(scale=0.02, size=384).astype(numpy.float32)
            query = (query / numpy.linalg.norm(query)).tolist()
            context_hash = f"context-{index % 50}"
            started = time.perf_counter()
            found = selectors.cache_entry_find_similar(
                workspace_id=workspace.pk, context_hash=context_hash, embedding=query, limit=3
            )
            timings.append((time.perf_counter() - started) * 1000)
            expected = exact_neighbours(workspace.pk, context_hash, query, 3)
            recalls.append(len({entry.pk for entry, _ in found} & set(expected)) / max(len(expected), 1))
        return {
            "size": size,
            "insert_s": insert_seconds,
            "p50_ms": statistics.median(timings),
            "p99_ms": sorted(timings)[int(len(timings) * 0.99) - 1],
            "recall": statistics.mean(recalls),
        }
    finally:
        for workspace in workspaces:
            workspace.delete()


def embedding_figures():
    from cachestore.semantic.embedder import local_embedder
    from cachestore.semantic.fingerprint import fingerprint

    embedder = local_embedder()
    embedder.embed_one("warm up")
    texts = [f"How do I change the billing address on invoice number {index}?" for index in range(200)]
    started = time.perf_counter()
    for text in texts:
        embedder.embed_one(text)
    embed_ms = (time.perf_counter() - started) * 1000 / len(texts)
    fingerprint("warm up", secret=b"x")
    started = time.perf_counter()
    for text in texts:
        fingerprint(text, secret=b"bench")
    fingerprint_ms = (time.perf_counter() - started) * 1000 / len(texts)
    return embed_ms, fingerprint_ms


async def exact_hit_figures(proxy_url, key, count):
    import aiohttp

    body = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "cached benchmark question"}]}'
    headers = {
        "Authorization": f"Bearer {key}",
        "X-Provider-Key": "sk-bench",
        "Content-Type": "application/json",
        "X-Optera-Cache": "exact",
    }
    latencies = []
    async with aiohttp.ClientSession() as session:
        for index in range(count + 20):
            started = time.perf_counter()
            async with session.post(proxy_url, data=body, headers=headers) as response:
                await response.read()
                status = response.headers.get("x-optera-cache")
            if index >= 20:
                assert status == "hit", status
                latencies.append((time.perf_counter() - started) * 1000)
            elif index == 0:
                await asyncio.sleep(1.5)  # let the first answer be stored
    return statistics.median(latencies), sorted(latencies)[int(len(latencies) * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--hits", type=int, default=500)
    options = parser.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    import proxy_overhead

    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, _ = proxy_overhead.start_fake_and_prepare(environment)
    server = None
    try:
        key = proxy_overhead.create_workspace(environment, cache="exact")
        port = proxy_overhead.free_port()
        server = proxy_overhead.start_server("uvicorn", port, environment)
        hit_p50, hit_p99 = asyncio.run(
            exact_hit_figures(f"http://127.0.0.1:{port}/v1/chat/completions", key, options.hits)
        )
    finally:
        for process in (server, fake):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    print(f"exact hit end to end (uvicorn, c=1, {options.hits} hits): p50 {hit_p50:.2f} ms, p99 {hit_p99:.2f} ms")
    setup_django()
    embed_ms, fingerprint_ms = embedding_figures()
    print(f"embedding {embed_ms:.2f} ms/query (int8 ONNX, 1 thread); fingerprint {fingerprint_ms:.3f} ms/query")
    print("| entries | insert s | search p50 | search p99 | recall@3 vs exact |")
    print("|---|---|---|---|---|")
    for size in (int(value) for value in options.sizes.split(",")):
        row = search_figures(size)
        print(
            f"| {row['size']:,} | {row['insert_s']:.0f} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms "
            f"| {row['recall']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
