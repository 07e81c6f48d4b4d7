"""Replay realistic mixed traffic through Optera and directly to the same fake provider; compare the bills.

    .venv/bin/python bench/workload.py [--pairs ../shared/eval/semantic_pairs_dev.jsonl]
                                       [--routing ../shared/eval/routing_dev.jsonl]

Parts:
- support bot: a long, untidy system prompt; users ask each pair's `a`, then its `b` (a paraphrase
  or a hard negative), and every fifth `a` again later (gpt-4o-mini);
- coding chats on Claude: three conversations of ten turns (`--turns`), each pasting a growing
  source file (claude-sonnet-4-5); the client places no cache_control;
- mixed prompts: every routing prompt once, on `optera/auto` through Optera and on the strong model
  (gpt-4o) directly.
The fake provider bills like the real ones (prompt-cache reads and writes included); both runs are
priced with the same list prices. A cache serve is wrong when it answers a different question that
is not labelled the same (the fake answers "Echo: <question>", so every answer names its question).
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import anthropic
import httpx
import openai

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import proxy_overhead  # noqa: E402

UNTIDY_SYSTEM_PROMPT = "\n".join(
    [
        "==============================================",
        "   ACME SUPPORT ASSISTANT  —  SYSTEM INSTRUCTIONS   ",
        "==============================================",
        "",
        "",
        "",
        *[
            f"- Rule {index}:   Always   answer in a friendly tone and   cite the relevant help-centre article.   "
            for index in range(1, 41)
        ],
        "",
        "----------------------------------------------",
        "",
        "IMPORTANT: never promise refunds above 100 EUR without a supervisor.   ",
        "IMPORTANT: never promise refunds above 100 EUR without a supervisor.   ",
        "",
        "",
        *[
            f"Policy {index}: orders ship within {index % 5 + 1} business days; tracking links expire after 30 days.   "
            for index in range(1, 31)
        ],
        "",
        "**********************************************",
        "Always answer in a friendly tone and cite the relevant help-centre article.",
        "Always answer in a friendly tone and cite the relevant help-centre article.",
        "",
        "",
    ]
)


def code_file(version):
    functions = "\n\n".join(
        f'def handler_{index}(request):\n    """Handle case {index}."""\n    value = request.get(\'field_{index}\')\n'
        f"    if value is None:\n        raise ValueError('field_{index} is required')\n"
        f"    return {{'ok': True, 'case': {index}}}"
        for index in range(8 + version * 6)
    )
    return f"```python\n# app/handlers.py, version {version}\n{functions}\n```"


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def price_table():
    seed = importlib.import_module("analytics.migrations.0002_seed_model_prices")
    prices = {}
    for model, input_price, output_price, cached_price in seed.OPENAI:
        prices[model] = (float(input_price), float(output_price), float(cached_price), float(input_price))
    for model, input_price, output_price in seed.ANTHROPIC:
        prices[model] = (float(input_price), float(output_price), float(input_price) * 0.1, float(input_price) * 1.25)
    return prices


def bill(fake_url, prices):
    totals = httpx.get(f"{fake_url}/_fake/usage").json()
    usd = 0.0
    for model, usage in totals.items():
        input_price, output_price, cached_price, write_price = prices[model]
        usd += (
            usage["input_tokens"] * input_price
            + usage["output_tokens"] * output_price
            + usage["cache_read_tokens"] * cached_price
            + (usage["cache_write_tokens"] + usage["cache_write_1h_tokens"]) * write_price
        ) / 1_000_000
    return usd, totals


def support_bot(client, pairs):
    wrong = served = 0
    system = {"role": "system", "content": UNTIDY_SYSTEM_PROMPT}
    questions = []
    for index, pair in enumerate(pairs):
        questions.append((pair["a"], pair))
        questions.append((pair["b"], pair))
        if index % 5 == 0:
            questions.append((pair["a"], pair))
    by_question = {}
    for pair in pairs:
        by_question.setdefault(pair["a"], []).append(pair)
    for question, pair in questions:
        response = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[system, {"role": "user", "content": question}]
        )
        answer = response.parse().choices[0].message.content
        if response.headers.get("x-optera-cache") in ("hit", "semantic"):
            served += 1
        if answer == f"Echo: {question}":
            continue
        answered = answer.removeprefix("Echo: ")
        if not (pair["same"] and answered == pair["a"] and question == pair["b"]):
            wrong += 1
    return served, wrong


def coding_chats(client, anthropic_client, *, turns, fake_url, model="claude-sonnet-4-5"):
    """Through Optera: the OpenAI SDK. Directly: the Anthropic SDK on Claude (no cache_control), else the OpenAI SDK.

    Every answer is made as long as max_tokens allows: the fake echoes the question, and the length
    of an answer must not depend on how Optera shaped the prompt (a real model's does not).
    """
    if not model.startswith("claude"):
        anthropic_client = None
    path = "/v1/messages" if model.startswith("claude") else "/v1/chat/completions"
    httpx.post(f"{fake_url}/_fake/faults", json={"path": path, "filler_words": 2000, "times": 3 * turns})
    system = "You are a senior Python reviewer. Be concise."
    for conversation in range(3):
        messages = []
        for turn in range(turns):
            messages.append(
                {
                    "role": "user",
                    "content": f"Conversation {conversation}, turn {turn}. Here is the "
                    f"updated file; what should I refactor next?\n{code_file(turn)}",
                }
            )
            if anthropic_client is not None:
                answer = (
                    anthropic_client.messages.create(model=model, system=system, messages=messages, max_tokens=300)
                    .content[0]
                    .text
                )
            else:
                answer = (
                    client.chat.completions.create(
                        model=model,
                        messages=[{"role": "system", "content": system}] + messages,
                        max_tokens=300,
                    )
                    .choices[0]
                    .message.content
                )
            messages.append({"role": "assistant", "content": answer})


def mixed_prompts(client, prompts, *, model):
    for prompt in prompts:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt["prompt"]}])


def run_parts(client, pairs, prompts, *, through_optera, fake_url, prices, turns, coding_model, anthropic_client=None):
    results = {}
    for name in ("support bot", f"coding chats on {coding_model}", "mixed prompts on optera/auto"):
        httpx.post(f"{fake_url}/_fake/reset")
        started = time.perf_counter()
        detail = ""
        if name == "support bot":
            served, wrong = support_bot(client, pairs)
            detail = {"cache_serves": served, "wrong_serves": wrong}
        elif name.startswith("coding chats"):
            coding_chats(
                client,
                None if through_optera else anthropic_client,
                turns=turns,
                fake_url=fake_url,
                model=coding_model,
            )
        else:
            mixed_prompts(client, prompts, model="optera/auto" if through_optera else "gpt-4o")
        usd, totals = bill(fake_url, prices)
        results[name] = {"usd": usd, "seconds": time.perf_counter() - started, "detail": detail, "totals": totals}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(REPO.parent / "shared/eval/semantic_pairs_dev.jsonl"))
    parser.add_argument("--routing", default=str(REPO.parent / "shared/eval/routing_dev.jsonl"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a workspace option for the Optera run, e.g. summaries=on",
    )
    parser.add_argument("--turns", type=int, default=10, help="turns per coding chat (default: 10)")
    parser.add_argument(
        "--coding-model", default="claude-sonnet-4-5", help="the coding chats' model (default: claude-sonnet-4-5)"
    )
    options = parser.parse_args()
    pairs, prompts = read_jsonl(options.pairs), read_jsonl(options.routing)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")
    prices = price_table()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, fake_url = proxy_overhead.start_fake_and_prepare(environment)
    server = None
    try:
        key = proxy_overhead.create_workspace(environment, cache="semantic", extra=options.set)
        port = proxy_overhead.free_port()
        server = proxy_overhead.start_server("uvicorn", port, environment)
        provider_key = "sk-workload"
        direct = openai.OpenAI(base_url=f"{fake_url}/v1", api_key=provider_key, max_retries=0)
        via = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1",
            api_key=key,
            max_retries=0,
            # An application on both providers holds a key for each; the summariser (the cheap
            # OpenAI model) needs the OpenAI key while the chat itself runs on Claude.
            default_headers={
                "X-Provider-Key": provider_key,
                "X-Provider-Key-OpenAI": provider_key,
                "X-Provider-Key-Anthropic": provider_key,
            },
        )
        direct_anthropic = anthropic.Anthropic(base_url=fake_url, api_key=provider_key, max_retries=0)
        direct_results = run_parts(
            direct,
            pairs,
            prompts,
            through_optera=False,
            fake_url=fake_url,
            prices=prices,
            turns=options.turns,
            coding_model=options.coding_model,
            anthropic_client=direct_anthropic,
        )
        optera_results = run_parts(
            via,
            pairs,
            prompts,
            through_optera=True,
            fake_url=fake_url,
            prices=prices,
            turns=options.turns,
            coding_model=options.coding_model,
        )
    finally:
        for process in (server, fake):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    print_report(direct_results, optera_results)


def print_report(direct_results, optera_results):
    print("| part | direct bill | through Optera | saved | notes |")
    print("|---|---|---|---|---|")
    direct_total = optera_total = 0.0
    for name, direct in direct_results.items():
        optera = optera_results[name]
        direct_total += direct["usd"]
        optera_total += optera["usd"]
        saved = 1 - optera["usd"] / direct["usd"] if direct["usd"] else 0
        notes = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in (optera["detail"] or {}).items())
        print(f"| {name} | ${direct['usd']:.4f} | ${optera['usd']:.4f} | {saved:.1%} | {notes} |")
    print(f"| **overall** | ${direct_total:.4f} | ${optera_total:.4f} | **{1 - optera_total / direct_total:.1%}** | |")
    # The overall figure weighs each part by its bill, so the Claude chats dominate it; the plain
    # mean shows whether every part saves.
    part_savings = [1 - optera_results[name]["usd"] / direct["usd"] for name, direct in direct_results.items()]
    print(f"| mean of the parts | | | {sum(part_savings) / len(part_savings):.1%} | |")
    if os.environ.get("WORKLOAD_VERBOSE"):
        for name in direct_results:
            print(name, "direct", json.dumps(direct_results[name]["totals"]))
            print(name, "optera", json.dumps(optera_results[name]["totals"]))


if __name__ == "__main__":
    main()
