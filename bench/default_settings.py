"""Optera on a new workspace's default settings (semantic cache on) against LiteLLM, side by side.

    .venv/bin/python bench/default_settings.py [--requests 400] [--pairs ../shared/eval/semantic_pairs_dev.jsonl]

The headline rounds of vs_litellm.py run with the cache off; a workspace created today has the
semantic cache on, and every miss then embeds, fingerprints and searches. Three rounds, each sent
at concurrency 1 to Optera, to LiteLLM and directly to the fake provider (same bodies, alternating):

  * all miss: distinct questions (each names its own order number, so none may be served for another);
  * the mix: 30 % exact repeats of earlier questions, 20 % paraphrases of earlier ones (the "same"
    pairs of the dev file: its `a` asked earlier, its `b` now), 50 % new;
  * hits: questions already answered, asked again.

CPU per request is read from /proc for each proxy's process tree (Optera's embedded PostgreSQL
separately) after each round has settled (the semantic cache stores its entries after answering).
LiteLLM runs its in-memory exact cache: its semantic caches need Redis with the search module
(redisvl) or a Qdrant server, and an embedding model behind an API; none runs offline here.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_overhead as po  # noqa: E402
from litellm_server import MASTER_KEY, ensure_litellm, start_litellm  # noqa: E402
from process_metrics import embedded_postgres_cpu, tree_cpu  # noqa: E402

SETTLE_SECONDS = 2.0
TOPICS = ["refund", "invoice", "delivery", "password", "warranty", "subscription", "voucher", "parcel", "account"]
ASKS = [
    "What is the status of my {topic} for order {number}?",
    "Can you explain the {topic} rules that apply to order {number}?",
    "Why was the {topic} on order {number} declined?",
    "How long does the {topic} for order {number} take?",
]


def distinct_question(rng, counter):
    return rng.choice(ASKS).format(topic=rng.choice(TOPICS), number=10_000 + next(counter))


def rounds_of(requests, pairs, rng):
    """Return {round name: [questions]} for the three rounds, and {paraphrase: the question it rephrases}."""
    counter = iter(range(10**9))
    all_miss = [distinct_question(rng, counter) for _ in range(requests)]
    mix, asked, waiting_pairs = [], [], list(pairs)
    rng.shuffle(waiting_pairs)
    paraphrases_due, rephrases = [], {}
    for _ in range(requests):
        draw = rng.random()
        if draw < 0.3 and asked:
            mix.append(rng.choice(asked))
        elif draw < 0.5 and paraphrases_due:
            mix.append(paraphrases_due.pop(0))
        else:
            if waiting_pairs and rng.random() < 0.4:
                pair = waiting_pairs.pop()
                question = pair["a"]
                paraphrases_due.append(pair["b"])
                rephrases[pair["b"]] = pair["a"]
            else:
                question = distinct_question(rng, counter)
            mix.append(question)
            asked.append(question)
    return {"all miss": all_miss, "mix (30/20/50)": mix, "hits": all_miss[: requests // 10] * 10}, rephrases


def body_of(question):
    return json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]})


async def send_all(session, url, headers, questions, rephrases):
    """Send the questions one after another; return (latencies ms, {cache header: count}, wrong answers).

    The fake provider echoes the question, so an answer is wrong when it names neither the question
    nor the one it rephrases.
    """
    latencies, statuses, wrong = [], {}, 0
    for question in questions:
        started = time.perf_counter()
        async with session.post(url, data=body_of(question), headers=headers) as response:
            answer = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
            status = response.headers.get("x-optera-cache", "-")
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        content = answer["choices"][0]["message"]["content"]
        wrong += question not in content and rephrases.get(question, question) not in content
    return latencies, statuses, wrong


async def measure(targets, rounds, rephrases):
    results = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for round_name, questions in rounds.items():
            for name, target in targets.items():
                cpu_before = tree_cpu(target["pid"]) if target["pid"] else 0.0
                pg_before = embedded_postgres_cpu() if name == "Optera" else 0.0
                latencies, statuses, wrong = await send_all(
                    session, target["url"], target["headers"], questions, rephrases
                )
                await asyncio.sleep(SETTLE_SECONDS)
                results[(round_name, name)] = {
                    "p50": po.percentile(latencies, 0.5),
                    "p99": po.percentile(latencies, 0.99),
                    "cpu_ms": (tree_cpu(target["pid"]) - cpu_before) * 1000 / len(questions) if target["pid"] else 0,
                    "pg_ms": (embedded_postgres_cpu() - pg_before) * 1000 / len(questions) if name == "Optera" else 0,
                    "statuses": statuses,
                    "wrong": wrong,
                }
    return results


def print_table(results, rounds):
    print(
        "| round | Optera CPU ms/request (+ its PostgreSQL) | LiteLLM CPU ms/request | Optera added p50 / p99 "
        "| LiteLLM added p50 / p99 | Optera served from cache | wrong answers (Optera, LiteLLM) |"
    )
    print("|---|---|---|---|---|---|---|")
    for round_name in rounds:
        direct, optera, litellm = (results[(round_name, name)] for name in ("direct", "Optera", "LiteLLM"))
        served = {status: count for status, count in optera["statuses"].items() if status != "miss"}
        print(
            f"| {round_name} | {optera['cpu_ms']:.2f} (+{optera['pg_ms']:.2f}) | {litellm['cpu_ms']:.2f} "
            f"| {optera['p50'] - direct['p50']:.2f} / {optera['p99'] - direct['p99']:.2f} ms "
            f"| {litellm['p50'] - direct['p50']:.2f} / {litellm['p99'] - direct['p99']:.2f} ms "
            f"| {served or 'none'} of {len(rounds[round_name])} | {optera['wrong']}, {litellm['wrong']} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--pairs", type=Path, default=po.REPO.parent / "shared" / "eval" / "semantic_pairs_dev.jsonl")
    options = parser.parse_args()
    pairs = [pair for pair in map(json.loads, options.pairs.read_text().splitlines()) if pair["same"]]
    rounds, rephrases = rounds_of(options.requests, pairs, random.Random(11))
    litellm_bin = ensure_litellm()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, fake_url = po.start_fake_and_prepare(environment)
    processes = [fake]
    try:
        # cache=None: the settings a workspace created today gets.
        key = po.create_workspace(environment, cache=None)
        optera_port, litellm_port = po.free_port(), po.free_port()
        optera = po.start_server("uvicorn", optera_port, environment)
        processes.append(optera)
        litellm = start_litellm(litellm_bin, fake_url, litellm_port, tempfile.mkdtemp(prefix="default-"), cache=True)
        processes.append(litellm)
        po.wait_until_listening(litellm_port, timeout=240)
        targets = {
            "direct": {"url": f"{fake_url}/v1/chat/completions", "headers": {"Authorization": "Bearer sk-bench"}},
            "Optera": {
                "url": f"http://127.0.0.1:{optera_port}/v1/chat/completions",
                "headers": {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench"},
                "pid": optera.pid,
            },
            "LiteLLM": {
                "url": f"http://127.0.0.1:{litellm_port}/v1/chat/completions",
                "headers": {"Authorization": f"Bearer {MASTER_KEY}"},
                "pid": litellm.pid,
            },
        }
        targets["direct"]["pid"] = None
        warm_up = {"warm up": [f"Warm-up question {index} about parcels?" for index in range(30)]}
        asyncio.run(measure(targets, warm_up, rephrases))
        results = asyncio.run(measure(targets, rounds, rephrases))
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
    print(f"{options.requests} requests a round, concurrency 1, LiteLLM with its in-memory exact cache")
    print_table(results, rounds)


if __name__ == "__main__":
    main()
