"""Verify sampling measured on the dev pairs: does the sampler see the wrong serves that happen?

Starts the fake provider and Optera (uvicorn, one process), makes a workspace with
`verify_sample_rate=1.0`, and replays ../shared/eval/semantic_pairs_dev.jsonl (each pair's `a`,
then its `b`). The fake answers from a table: a pair labelled same gets one answer for `a` and
`b` ("Echo: " + a), a different pair gets its own answer for each ("Echo: " + the question).
A semantic hit is a wrong serve when the answer served is not the one the fake gives to the
question asked; the bench knows that, the proxy does not. Every semantic hit is verified in the
background; the bench reads the workspace's tally and threshold raises from the database.

Run 1: the shipped matcher at the workspace's default threshold (0.8).
Run 2: a deliberately weak cache so that wrong serves occur: threshold 0.5 and the matcher's
second stage (the fingerprint verifier) taken out, cosine alone, as a peer's semantic cache works.
The cut-down matcher is bench/cosine_only_app.py, a separate ASGI entry point used only here.

    .venv/bin/python bench/verify_sampling.py [--pairs PATH] [--runs shipped,cosine-only]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
from proxy_overhead import REPO, free_port, start_fake_and_prepare, uvicorn_command, wait_until_listening

PYTHON = sys.executable
DEFAULT_PAIRS = REPO.parent / "shared" / "eval" / "semantic_pairs_dev.jsonl"
RUNS = {
    "shipped": {"app": "optera.asgi:application", "settings": []},
    "cosine-only": {"app": "cosine_only_app:application", "settings": ["semantic_threshold=0.5"]},
}


def django_ready(environment):
    """Set up Django in this process, on the same database as the server, to read the tallies."""
    os.environ.update(environment)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def create_workspace(environment, settings):
    name = f"bench-verify-{time.time_ns()}"
    command = [PYTHON, "manage.py", "create_workspace", name, "--json", "--set", "rate_limit_per_minute=100000000"]
    for option in ["cache=semantic", "verify_sample_rate=1.0", *settings]:
        command += ["--set", option]
    output = subprocess.run(command, cwd=REPO, env=environment, check=True, capture_output=True, text=True).stdout
    created = json.loads(output.strip().splitlines()[-1])
    return created["workspace_id"], created["api_key"]


def answer_table(pairs):
    """Return {question: answer} for the fake: the `b` of a same pair is answered as its `a`."""
    return {pair["b"]: "Echo: " + pair["a"] for pair in pairs if pair["same"]}


def expected_answer(table, question):
    return table.get(question, "Echo: " + question)


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


def replay(proxy_url, key, workspace_id, pairs, table):
    from cachestore.models import CacheEntry
    from cachestore.semantic.agreement import compare_answers

    headers = {"Authorization": f"Bearer {key}", "X-Provider-Key": "sk-bench"}
    counts = {"requests": 0, "misses": 0, "exact": 0, "semantic": 0, "wrong": 0, "wrong_flagged": 0, "right_flagged": 0}
    with httpx.Client(timeout=30) as client:
        for pair in pairs:
            for question in (pair["a"], pair["b"]):
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
                response = client.post(f"{proxy_url}/v1/chat/completions", json=body, headers=headers)
                response.raise_for_status()
                counts["requests"] += 1
                status = response.headers["x-optera-cache"]
                if status == "miss":
                    counts["misses"] += 1
                    stored = counts["misses"]
                    # The next question may only be looked up once this answer can be found semantically.
                    wait_for(
                        lambda stored=stored: (
                            CacheEntry.objects.filter(workspace_id=workspace_id, fingerprint__isnull=False).count()
                            >= stored
                        )
                    )
                elif status == "hit":
                    counts["exact"] += 1
                elif status == "semantic":
                    counts["semantic"] += 1
                    served = response.json()["choices"][0]["message"]["content"]
                    expected = expected_answer(table, question)
                    flagged = not compare_answers(served, expected).agrees
                    if served != expected:
                        counts["wrong"] += 1
                        counts["wrong_flagged"] += flagged
                    else:
                        counts["right_flagged"] += flagged
    return counts


def one_run(name, environment, fake_url, pairs, table):
    from accounts.models import WorkspaceSettings
    from cachestore.models import SemanticThresholdRaise, SemanticVerifyTally

    run = RUNS[name]
    workspace_id, key = create_workspace(environment, run["settings"])
    threshold_before = WorkspaceSettings.objects.get(workspace_id=workspace_id).semantic_threshold
    port = free_port()
    server_environment = {**environment, "PYTHONPATH": f"{REPO}:{REPO / 'bench'}"}
    log = open(REPO / "var" / f"bench-verify-{name}.log", "w")
    server = subprocess.Popen(
        uvicorn_command(run["app"], port), cwd=REPO, env=server_environment, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until_listening(port)
        proxy_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{proxy_url}/readyz").status_code == 200, timeout=120)
        counts = replay(proxy_url, key, workspace_id, pairs, table)
        tally = lambda: SemanticVerifyTally.objects.filter(workspace_id=workspace_id).first()  # noqa: E731
        skipped = metric(proxy_url, 'optera_semantic_verify_total{outcome="skipped"}')
        wait_for(lambda: (tally().samples if tally() else 0) + skipped >= counts["semantic"], timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=15)
    final = tally()
    raises = list(SemanticThresholdRaise.objects.filter(workspace_id=workspace_id).order_by("raised_at"))
    return {
        "run": name,
        **counts,
        "samples": final.samples if final else 0,
        "agreements": final.agreements if final else 0,
        "disagreements": final.disagreements if final else 0,
        "skipped": skipped,
        "threshold_before": threshold_before,
        "threshold_after": WorkspaceSettings.objects.get(workspace_id=workspace_id).semantic_threshold,
        "raises": [(r.threshold_before, r.threshold_after, r.window_disagreements, r.window_samples) for r in raises],
    }


def metric(proxy_url, line_start):
    for line in httpx.get(f"{proxy_url}/metrics").text.splitlines():
        if line.startswith(line_start):
            return int(float(line.split()[-1]))
    return 0


def print_report(rows):
    print(
        "| run | requests | semantic hits | wrong serves (true) | verified | agree | disagree | disagreement rate "
        "| true wrong-serve rate | wrong serves flagged | right serves flagged | threshold |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        hits = row["semantic"] or 1
        samples = row["samples"] or 1
        print(
            f"| {row['run']} | {row['requests']} | {row['semantic']} | {row['wrong']} | {row['samples']} "
            f"| {row['agreements']} | {row['disagreements']} | {100 * row['disagreements'] / samples:.1f} % "
            f"| {100 * row['wrong'] / hits:.1f} % | {row['wrong_flagged']} of {row['wrong']} "
            f"| {row['right_flagged']} of {row['semantic'] - row['wrong']} "
            f"| {row['threshold_before']:.2f} → {row['threshold_after']:.2f} ({len(row['raises'])} raises) |"
        )
    for row in rows:
        if row["raises"]:
            steps = ", ".join(f"{b:.2f}→{a:.2f} on {d}/{s}" for b, a, d, s in row["raises"])
            print(f"\n{row['run']}: raises (disagreements/samples in the window): {steps}")
        if row["skipped"]:
            print(f"\n{row['run']}: {row['skipped']} sampled hits skipped (too many verifications at once)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--runs", default="shipped,cosine-only")
    options = parser.parse_args()
    pairs = [json.loads(line) for line in options.pairs.read_text().splitlines() if line.strip()]
    table = answer_table(pairs)
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    fake, fake_url = start_fake_and_prepare(environment)
    try:
        request = urllib.request.Request(f"{fake_url}/_fake/answers", data=json.dumps(table).encode(), method="POST")
        urllib.request.urlopen(request).read()
        django_ready(environment)
        rows = [one_run(name, environment, fake_url, pairs, table) for name in options.runs.split(",")]
        print_report(rows)
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
