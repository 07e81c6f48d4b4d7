"""Server time of the dashboard's overview and first request-log page with 100,000 request-log rows.

    .venv/bin/python bench/dashboard_bench.py [--rows 100000] [--repeat 15]

Creates a throw-away workspace in the configured database (the embedded one by default), fills it
with `--rows` request-log rows spread over 90 days (a realistic mix of models, statuses, cache
statuses and savings), then renders each page in-process through Django's test client (the whole
view, template and queries; no network) `--repeat` times after two warm-up renders and prints the
median and the worst, in milliseconds. The workspace and its rows are deleted at the end.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optera.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import Membership  # noqa: E402
from analytics import services as analytics_services  # noqa: E402
from analytics.models import RequestLog  # noqa: E402

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5-mini")
CACHE_STATUSES = ("miss", "miss", "miss", "hit", "semantic", "bypass")


def seed(workspace, rows):
    generator = random.Random(7)
    now = timezone.now()
    batch = []
    for index in range(rows):
        cache = generator.choice(CACHE_STATUSES)
        cost = Decimal(0) if cache in ("hit", "semantic") else Decimal(generator.randint(10, 5000)) / 1_000_000
        saved = Decimal(generator.randint(0, 3000)) / 1_000_000
        batch.append(
            RequestLog(
                workspace=workspace,
                request_id=f"req_bench_{index}",
                endpoint="chat.completions",
                model_requested=generator.choice(MODELS),
                model_used=generator.choice(MODELS),
                provider="openai",
                status_code=generator.choice((200,) * 30 + (429, 502)),
                prompt_tokens=generator.randint(20, 4000),
                completion_tokens=generator.randint(5, 800),
                cost_usd=cost,
                saved_usd=saved,
                savings={generator.choice(("cache", "routing", "compression", "provider_cache")): float(saved)},
                cache_status=cache,
                overhead_ms=generator.uniform(0.2, 3),
                created_at=now - datetime.timedelta(seconds=generator.randint(0, 90 * 86400)),
            )
        )
        if len(batch) == 5000:
            analytics_services.request_logs_store(rows=batch)
            batch = []
    analytics_services.request_logs_store(rows=batch)


def timed(client, url, repeat):
    for _ in range(2):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), max(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    suffix = f"{os.getpid()}-{int(time.time())}"
    user = get_user_model().objects.create_user(username=f"bench-{suffix}", email=f"bench-{suffix}@bench.test")
    workspace = services.workspace_create(name=f"bench {suffix}")
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    try:
        started = time.perf_counter()
        seed(workspace, options.rows)
        print(f"seeded {options.rows} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        client = Client(HTTP_HOST="localhost")  # an allowed host: the bench runs outside the test runner
        client.force_login(user)
        print(f"| page ({options.rows:,} rows) | median ms | worst ms |\n|---|---|---|")
        for label, url in (
            ("overview, 30 days", f"/w/{workspace.pk}/"),
            ("overview, 90 days", f"/w/{workspace.pk}/?days=90"),
            ("request log, first page", f"/w/{workspace.pk}/requests/"),
            ("request log, filtered (model + cache)", f"/w/{workspace.pk}/requests/?model=gpt-4o&cache=hit"),
        ):
            median, worst = timed(client, url, options.repeat)
            print(f"| {label} | {median:.1f} | {worst:.1f} |")
    finally:
        RequestLog.objects.filter(workspace=workspace).delete()
        workspace.delete()
        user.delete()


if __name__ == "__main__":
    main()
