"""Replay realistic mixed traffic through Optera and directly to the same fake provider; compare the bills.

    .venv/bin/python bench/workload.py [--pairs ../shared/eval/semantic_pairs_dev.jsonl]
                                       [--routing ../shared/eval/routing_dev.jsonl]
                                       [--parts coding] [--gap-minutes 20] [--ttl auto|5m|1h]

Parts:
- support bot: a long, untidy system prompt; users ask each pair's `a`, then its `b` (a paraphrase
  or a hard negative), and every fifth `a` again later (gpt-4o-mini);
- coding chats: three conversations of ten turns (`--turns`), each pasting a growing source file
  (claude-sonnet-4-5, or `--coding-model`); the client places no cache_control; every answer is
  max_tokens long (a fake fault's filler), so its length does not follow the prompt's;
- mixed prompts: every routing prompt once, on `optera/auto` through Optera and on the strong model
  (gpt-4o) directly.
The fake provider bills like the real ones (prompt-cache reads and writes included, 5-minute and
1-hour entries expiring on its clock); both runs are priced with the same list prices.
`--gap-minutes N` moves the fake provider's cache clock and Optera's clock (bench/offset_clock.py)
N minutes forward between the turns of the coding chats, so a slow conversation takes no time;
`--ttl` sets the workspace's `anthropic_cache_ttl` (auto chooses from the gaps).
A cache serve is wrong when it answers a different question that is not labelled the same (the
fake answers "Echo: <question>", so every answer names its question).
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
import offset_clock  # noqa: E402
import proxy_overhead  # noqa: E402

PARTS = ("support bot", "coding chats", "mixed prompts on optera/auto")
PART_NAMES = {"support": PARTS[0], "coding": PARTS[1], "mixed": PARTS[2]}
CLOCK_OFFSET_FILE = REPO / "var" / "bench-clock-offset"

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
    """Return {model: (input, output, cached input, 5-minute write, 1-hour write)} in USD per million tokens."""
    seed = importlib.import_module("analytics.migrations.0002_seed_model_prices")
    prices = {}
    for model, input_price, output_price, cached_price in seed.OPENAI:
        input_price = float(input_price)
        prices[model] = (input_price, float(output_price), float(cached_price), input_price, input_price)
    for model, input_price, output_price in seed.ANTHROPIC:
        input_price = float(input_price)
        # Anthropic: reads 0.1x input, 5-minute writes 1.25x, 1-hour writes 2x.
        prices[model] = (input_price, float(output_price), input_price * 0.1, input_price * 1.25, input_price * 2)
    return prices


def bill(fake_url, prices):
    totals = httpx.get(f"{fake_url}/_fake/usage").json()
    usd = 0.0
    for model, usage in totals.items():
        input_price, output_price, cached_price, write_price, write_1h_price = prices[model]
        usd += (
            usage["input_tokens"] * input_price
            + usage["output_tokens"] * output_price
            + usage["cache_read_tokens"] * cached_price
            + usage["cache_write_tokens"] * write_price
            + usage["cache_write_1h_tokens"] * write_1h_price
        ) / 1_000_000
    return usd, totals


class Clocks:
    """Moves the fake provider's cache clock and Optera's clock forward together, between turns."""

    def __init__(self, fake_url, *, gap_minutes):
        self.fake_url = fake_url
        self.gap_seconds = gap_minutes * 60
        self.offset_seconds = 0.0
        offset_clock.write_offset(CLOCK_OFFSET_FILE, 0)

    def between_turns(self):
        if not self.gap_seconds:
            return
        self.offset_seconds += self.gap_seconds
        offset_clock.write_offset(CLOCK_OFFSET_FILE, self.offset_seconds)
        httpx.post(f"{self.fake_url}/_fake/advance", json={"seconds": self.gap_seconds}).raise_for_status()


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


def coding_chats(client, anthropic_client, *, turns, clocks, fake_url, model):
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
            if turn:
                clocks.between_turns()
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


def run_parts(
    client,
    pairs,
    prompts,
    *,
    parts,
    through_optera,
    fake_url,
    prices,
    turns,
    clocks,
    coding_model,
    anthropic_client=None,
):
    results = {}
    for name in parts:
        httpx.post(f"{fake_url}/_fake/reset")
        started = time.perf_counter()
        detail = ""
        if name == "support bot":
            served, wrong = support_bot(client, pairs)
            detail = {"cache_serves": served, "wrong_serves": wrong}
        elif name == "coding chats":
            coding_chats(
                client,
                None if through_optera else anthropic_client,
                turns=turns,
                clocks=clocks,
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
    parser.add_argument(
        "--parts", default="support,coding,mixed", help="which parts to run, of support, coding, mixed (default: all)"
    )
    parser.add_argument(
        "--gap-minutes", type=float, default=0, help="minutes between the turns of the coding chats (default: 0)"
    )
    parser.add_argument(
        "--ttl", choices=("auto", "5m", "1h"), help="the workspace's anthropic_cache_ttl (default: the workspace's)"
    )
    options = parser.parse_args()
    parts = [PART_NAMES[part.strip()] for part in options.parts.split(",")]
    extra_settings = list(options.set) + ([f"anthropic_cache_ttl={options.ttl}"] if options.ttl else [])
    pairs, prompts = read_jsonl(options.pairs), read_jsonl(options.routing)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")
    prices = price_table()
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    # Optera reads its clock from the offset file the Clocks below write (bench/offset_clock.py).
    environment.update(
        {"OPTERA_CLOCK": "bench.offset_clock.now", offset_clock.OFFSET_FILE_VARIABLE: str(CLOCK_OFFSET_FILE)}
    )
    fake, fake_url = proxy_overhead.start_fake_and_prepare(environment)
    clocks = Clocks(fake_url, gap_minutes=options.gap_minutes)
    server = None
    try:
        key = proxy_overhead.create_workspace(environment, cache="semantic", extra=extra_settings)
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
            parts=parts,
            clocks=clocks,
            coding_model=options.coding_model,
            through_optera=False,
            fake_url=fake_url,
            prices=prices,
            turns=options.turns,
            anthropic_client=direct_anthropic,
        )
        optera_results = run_parts(
            via,
            pairs,
            prompts,
            parts=parts,
            clocks=clocks,
            coding_model=options.coding_model,
            through_optera=True,
            fake_url=fake_url,
            prices=prices,
            turns=options.turns,
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
    coding = PART_NAMES["coding"]
    if coding in optera_results:
        print()
        print("| coding chats on Claude | bill | input | cache read | cache write 5m | cache write 1h |")
        print("|---|---|---|---|---|---|")
        for run, results in (("direct", direct_results), ("through Optera", optera_results)):
            usage = results[coding]["totals"].get("claude-sonnet-4-5", {})
            print(
                f"| {run} | ${results[coding]['usd']:.4f} | {usage.get('input_tokens', 0):,} | "
                f"{usage.get('cache_read_tokens', 0):,} | {usage.get('cache_write_tokens', 0):,} | "
                f"{usage.get('cache_write_1h_tokens', 0):,} |"
            )
    if os.environ.get("WORKLOAD_VERBOSE"):
        for name in direct_results:
            print(name, "direct", json.dumps(direct_results[name]["totals"]))
            print(name, "optera", json.dumps(optera_results[name]["totals"]))


if __name__ == "__main__":
    main()
