"""Cache figures: exact-hit latency end to end, and semantic search time, recall and size up to 1,000,000 entries.

    .venv/bin/python bench/cache_bench.py [--sizes 10000,100000] [--workspaces 20] [--big-tenant 0]
    .venv/bin/python bench/cache_bench.py --search-only --sizes 1000000 --workspaces 1000 --big-tenant 100000

Search: entries come in families of four near-paraphrases (noisy copies of one random direction),
spread over the workspaces and 50 contexts per workspace (the filters the proxy applies), stored
by COPY while the HNSW index is kept; with --big-tenant one
more workspace holds that many entries in a single context (an application with one system
prompt). With --build-after the HNSW index is dropped while storing and built again, timed.
The query is a stored vector plus noise; recall@3 compares the proxy's own search
(cachestore.selectors, whatever plan PostgreSQL picks) with the exact nearest neighbours among the
same workspace's and context's rows, computed in numpy. End-to-end: a uvicorn server of Optera in
front of the fake provider; the same request is repeated, so every request after the first is an
exact hit.
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


CONTEXTS_PER_WORKSPACE = 50
FAMILY_SIZE = 4
# Per dimension: a noise vector of norm ~0.4 in 384 dimensions, cosine ~0.93 to the family's direction.
FAMILY_NOISE = 0.02
SEED_BATCH = 5_000


def seed(workspaces, size, rng, *, contexts=CONTEXTS_PER_WORKSPACE, prefix="entry"):
    """Store `size` entries in families of FAMILY_SIZE near-paraphrases, spread over the workspaces and contexts.

    Each family is a random direction and FAMILY_SIZE noisy copies of it (cosine ~0.93 to it, ~0.86
    to each other), as the answers to one question asked a few ways are; families share a
    workspace and context. Rows go in by COPY (the log writer's path), in batches. Return
    (vectors, [(workspace index, context) per row], seconds).
    """
    from django.db import transaction
    from django.utils import timezone

    from cachestore.models import CacheEntry
    from optera.db.copy import insert_by_copy

    expires_at = timezone.now() + timedelta(days=1)
    centres = rng.normal(size=(-(-size // FAMILY_SIZE), 384)).astype(numpy.float32)
    centres /= numpy.linalg.norm(centres, axis=1, keepdims=True)
    vectors = numpy.repeat(centres, FAMILY_SIZE, axis=0)[:size]
    vectors += rng.normal(scale=FAMILY_NOISE, size=vectors.shape).astype(numpy.float32)
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    families = [index // FAMILY_SIZE for index in range(size)]
    # Contexts are per workspace, as the proxy's keyed context hashes are.
    count = len(workspaces)
    places = [(family % count, f"{family % count}-{family // count % contexts}") for family in families]
    started = time.perf_counter()
    for batch_start in range(0, size, SEED_BATCH):
        rows = [
            CacheEntry(
                workspace=workspaces[places[index][0]],
                kind="chat",
                key_hash=f"{prefix}-{index:08d}",
                context_hash=places[index][1],
                model="gpt-4o-mini",
                provider="openai",
                response={},
                usage={},
                expires_at=expires_at,
                embedding=vectors[index],
            )
            for index in range(batch_start, min(batch_start + SEED_BATCH, size))
        ]
        with transaction.atomic():
            insert_by_copy(CacheEntry, rows)
        done = batch_start + len(rows)
        if done % 100_000 == 0:
            print(f"  {done:,} entries stored, {done / (time.perf_counter() - started):.0f}/s", flush=True)
    return vectors, places, time.perf_counter() - started


def exact_neighbours(vectors, members, query, limit):
    """Return the row numbers (of `members`) nearest to `query` by cosine, computed in numpy."""
    similarities = vectors[members] @ query
    return [members[index] for index in numpy.argsort(-similarities)[:limit]]


def entry_numbers(found, prefix):
    """Return the row numbers of the entries found (their key hashes carry them)."""
    from cachestore.models import CacheEntry

    keys = CacheEntry.objects.filter(pk__in=[entry.pk for entry, _ in found]).values_list("key_hash", flat=True)
    return {int(key.removeprefix(f"{prefix}-")) for key in keys}


def search_trials(workspaces, vectors, places, prefix, trials, rng):
    """Search for noisy copies of stored vectors; return (timings in ms, recall@3 against an exact scan)."""
    from cachestore import selectors

    members = {}
    for index, place in enumerate(places):
        members.setdefault(place, []).append(index)
    members = {place: numpy.array(indexes) for place, indexes in members.items()}
    timings, recalls = [], []
    for _ in range(trials):
        index = int(rng.integers(len(places)))
        workspace_index, context_hash = places[index]
        query = vectors[index] + rng.normal(scale=0.02, size=384).astype(numpy.float32)
        query /= numpy.linalg.norm(query)
        started = time.perf_counter()
        found = selectors.cache_entry_find_similar(
            workspace_id=workspaces[workspace_index].pk, context_hash=context_hash, embedding=query, limit=3
        )
        timings.append((time.perf_counter() - started) * 1000)
        expected = set(exact_neighbours(vectors, members[places[index]], query, 3))
        recalls.append(len(entry_numbers(found, prefix) & expected) / len(expected))
    return timings, recalls


def disk_sizes():
    """Return (table MB, HNSW index MB) of the cache entries, as PostgreSQL stores them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_table_size('cachestore_cacheentry'), pg_relation_size('cache_entry_embedding')")
        table, index = cursor.fetchone()
    return table / 2**20, index / 2**20


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def rebuild_hnsw_index(drop):
    """Drop the HNSW index (drop=True) or create it again, timed, as the migration defines it."""
    from django.db import connection

    from cachestore.models import CacheEntry

    index = next(index for index in CacheEntry._meta.indexes if index.name == "cache_entry_embedding")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The graph built in memory (1,000,000 × 384 dimensions needs some 1.6 GB), on both cores.
        cursor.execute("SET maintenance_work_mem = '3GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 2")
    with connection.schema_editor() as editor:
        (editor.remove_index if drop else editor.add_index)(CacheEntry, index)
    return time.perf_counter() - started


def search_plan(workspace_id, context_hash, query):
    """Return the index the proxy's search statement uses for these filters, as PostgreSQL plans it."""
    from django.db import connection, transaction
    from django.utils import timezone
    from pgvector import Vector

    from cachestore.selectors import SEMANTIC_CANDIDATES, SIMILAR_ENTRIES

    parameters = [Vector._to_db(query), workspace_id, context_hash, timezone.now(), SEMANTIC_CANDIDATES]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(f"EXPLAIN {SIMILAR_ENTRIES}", parameters)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    return next((name for name in ("cache_entry_embedding", "cache_entry_context") if name in plan), "seq scan")


def search_figures(size, workspace_count, big_tenant, trials, build_after):
    from django.conf import settings
    from django.db import connection

    from accounts import services

    if not settings.EMBEDDED:
        # It drops and rebuilds the HNSW index and vacuums the table: never on a shared database.
        raise SystemExit("the search figures run on the embedded database only (unset DATABASE_URL)")

    rng = numpy.random.default_rng(7)
    stamp = time.time_ns()
    workspaces = [services.workspace_create(name=f"bench-search-{stamp}-{index}") for index in range(workspace_count)]
    tenant = services.workspace_create(name=f"bench-search-{stamp}-big") if big_tenant else None
    row = {"size": size, "workspaces": workspace_count, "build_s": None}
    try:
        if build_after:
            rebuild_hnsw_index(drop=True)
        vectors, places, seconds = seed(workspaces, size, rng, prefix=f"s{stamp}")
        row["insert_per_s"] = size / seconds
        if tenant is not None:
            # One more workspace whose entries all share one context: an application with one system prompt.
            big_vectors, big_places, _ = seed([tenant], big_tenant, rng, contexts=1, prefix=f"b{stamp}")
        if build_after:
            row["build_s"] = rebuild_hnsw_index(drop=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cachestore_cacheentry")
        timings, recalls = search_trials(workspaces, vectors, places, f"s{stamp}", trials, rng)
        row.update(p50_ms=percentile(timings, 0.5), p99_ms=percentile(timings, 0.99), recall=statistics.mean(recalls))
        row["plan"] = search_plan(workspaces[0].pk, places[0][1], vectors[0])
        if tenant is not None:
            timings, recalls = search_trials([tenant], big_vectors, big_places, f"b{stamp}", trials, rng)
            row.update(
                big_p50_ms=percentile(timings, 0.5),
                big_p99_ms=percentile(timings, 0.99),
                big_recall=statistics.mean(recalls),
                big_plan=search_plan(tenant.pk, big_places[0][1], big_vectors[0]),
            )
        row["table_mb"], row["index_mb"] = disk_sizes()
        return row
    finally:
        ids = [workspace.pk for workspace in workspaces] + ([tenant.pk] if tenant else [])
        with connection.cursor() as cursor:
            # One statement, not Django's cascade (which would load every entry's id first).
            cursor.execute("DELETE FROM cachestore_cacheentry WHERE workspace_id = ANY(%s)", [ids])
        for workspace in workspaces + ([tenant] if tenant else []):
            workspace.delete()
        # The deleted rows stay in the HNSW graph until a VACUUM, and every later search walks them
        # (a semantic miss cost PostgreSQL 18 ms instead of 5 after a million-row run). Vacuumed
        # without the index, then the index is built again on what is left: seconds, not an hour.
        if row["build_s"] is not None or not build_after:
            rebuild_hnsw_index(drop=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM cachestore_cacheentry")
        rebuild_hnsw_index(drop=False)


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


def hit_and_embedding_figures(hits):
    sys.path.insert(0, str(REPO / "bench"))
    import proxy_overhead

    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, _ = proxy_overhead.start_fake_and_prepare(environment)
    server = None
    try:
        key = proxy_overhead.create_workspace(environment, cache="exact")
        port = proxy_overhead.free_port()
        server = proxy_overhead.start_server("uvicorn", port, environment)
        hit_p50, hit_p99 = asyncio.run(exact_hit_figures(f"http://127.0.0.1:{port}/v1/chat/completions", key, hits))
    finally:
        for process in (server, fake):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    print(f"exact hit end to end (uvicorn, c=1, {hits} hits): p50 {hit_p50:.2f} ms, p99 {hit_p99:.2f} ms")
    setup_django()
    embed_ms, fingerprint_ms = embedding_figures()
    print(f"embedding {embed_ms:.2f} ms/query (int8 ONNX, 1 thread); fingerprint {fingerprint_ms:.3f} ms/query")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--hits", type=int, default=500)
    parser.add_argument("--workspaces", type=int, default=20, help="workspaces the entries are spread over")
    parser.add_argument("--big-tenant", type=int, default=0, help="entries of one more, single-context workspace")
    parser.add_argument("--trials", type=int, default=400, help="searches per size")
    parser.add_argument("--build-after", action="store_true", help="store without the HNSW index, then build it")
    parser.add_argument("--search-only", action="store_true", help="skip the exact-hit and embedding figures")
    options = parser.parse_args()
    if not options.search_only:
        hit_and_embedding_figures(options.hits)
    else:
        setup_django()
    print(
        "| entries | workspaces | stored/s | HNSW build | search p50 | search p99 | recall@3 vs exact | plan "
        "| one-context tenant p50 / p99 / recall@3 (plan) | table MB | HNSW index MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(value) for value in options.sizes.split(",")):
        row = search_figures(size, options.workspaces, options.big_tenant, options.trials, options.build_after)
        tenant = (
            f"{row['big_p50_ms']:.2f} / {row['big_p99_ms']:.2f} ms / {row['big_recall']:.3f} ({row['big_plan']})"
            if options.big_tenant
            else "—"
        )
        build = "kept while storing" if row["build_s"] is None else f"{row['build_s']:.0f} s after"
        print(
            f"| {row['size']:,} | {row['workspaces']:,} | {row['insert_per_s']:,.0f} | {build} "
            f"| {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {row['recall']:.3f} | {row['plan']} | {tenant} "
            f"| {row['table_mb']:,.0f} "
            f"| {row['index_mb']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
