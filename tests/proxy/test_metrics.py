"""/metrics: Prometheus counters that follow the request log, behind an optional bearer token."""

import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from analytics.pricing import Usage
from proxy.account.metrics import MAX_MODEL_LABELS, OTHER_MODEL, ProxyMetrics
from proxy.account.record import RequestRecord
from tests.conftest import PROVIDER_KEY_CANARY, wait_for


def samples(text):
    """Return {(sample name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped, name, **labels):
    """Sum the samples named `name` whose labels include `labels`."""
    return sum(
        sample_value
        for (sample_name, sample_labels), sample_value in scraped.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


def scrape(optera_server, **headers):
    return httpx.get(f"{optera_server.url}/metrics", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_requests_tokens_and_savings_are_counted(openai_client, optera_server):
    # A model no other test uses, so the counters' growth is this test's alone on the shared server.
    model = "gpt-4.1-nano"
    before = samples(scrape(optera_server).text)
    question = [{"role": "user", "content": f"canary {secrets.token_hex(6)}"}]
    openai_client.chat.completions.create(model=model, messages=question)
    wait_for(
        lambda: (
            openai_client.chat.completions.with_raw_response.create(model=model, messages=question).headers[
                "x-optera-cache"
            ]
            == "hit"
        )
    )  # the answer is stored after the response: ask until it hits

    def counted():
        after = samples(scrape(optera_server).text)
        requests = {
            status: value(after, "optera_requests_total", model=model, cache=status)
            - value(before, "optera_requests_total", model=model, cache=status)
            for status in ("miss", "hit")
        }
        return after if requests["miss"] >= 1 and requests["hit"] >= 1 else None

    after = wait_for(counted)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    answered = grew("optera_requests_total", model=model)
    assert grew("optera_tokens_total", model=model, kind="prompt") > 0
    assert grew("optera_cost_usd_total", model=model) > 0
    assert grew("optera_saved_usd_total", kind="cache") > 0
    assert grew("optera_overhead_seconds_count", endpoint="chat.completions") >= answered
    body = scrape(optera_server).text
    assert question[0]["content"] not in body and PROVIDER_KEY_CANARY not in body


@pytest.mark.django_db(transaction=True)
def test_a_metrics_token_keeps_strangers_out(optera_server, settings):
    settings.OPTERA_METRICS_TOKEN = "metrics-" + secrets.token_hex(8)

    assert scrape(optera_server).status_code == 401
    assert scrape(optera_server, Authorization="Bearer wrong").status_code == 401
    allowed = scrape(optera_server, Authorization=f"Bearer {settings.OPTERA_METRICS_TOKEN}")
    assert allowed.status_code == 200 and "optera_requests_total" in allowed.text


def observed(metrics, model, status_code):
    metrics.observe(
        RequestRecord(
            request_id="req",
            endpoint="chat.completions",
            started=time.perf_counter(),
            model_used=model,
            provider="openai",
            status_code=status_code,
            usage=Usage(prompt_tokens=3),
            cost_usd=Decimal("0.001"),
            savings={"compression": 0.001, "provider_cache": -0.002},
        )
    )


def test_client_chosen_model_names_cannot_grow_the_label_set_or_crowd_out_real_models():
    metrics = ProxyMetrics()
    for index in range(MAX_MODEL_LABELS + 50):
        observed(metrics, f"made-up-{index}", 404)  # the provider knows no such model
    observed(metrics, "gpt-4o-mini", 200)
    observed(metrics, "gpt-4o-mini", 429)
    for index in range(MAX_MODEL_LABELS + 50):
        observed(metrics, f"answered-{index}", 200)
    scraped = samples(metrics.render()[0].decode())
    models = {dict(labels)["model"] for name, labels in scraped if name == "optera_requests_total"}
    assert len(models) == MAX_MODEL_LABELS + 1 and OTHER_MODEL in models
    assert value(scraped, "optera_requests_total", model="gpt-4o-mini") == 2
    assert value(scraped, "optera_requests_total", model=OTHER_MODEL) == MAX_MODEL_LABELS + 50 + 51
    assert value(scraped, "optera_requests_total") == 2 * (MAX_MODEL_LABELS + 50) + 2
    assert value(scraped, "optera_saved_usd_total", kind="compression") == pytest.approx(0.502)
    assert value(scraped, "optera_saved_usd_total", kind="provider_cache") == 0


def test_several_worker_processes_add_up_in_multiprocess_mode(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, each worker writes its own file and any worker's /metrics sums them."""
    import subprocess
    import sys

    worker = (
        "import time, django; django.setup(); from proxy.account.record import RequestRecord; "
        "from proxy.account.metrics import ProxyMetrics; "
        "m = ProxyMetrics(); "
        "[m.observe(RequestRecord(request_id='r', endpoint='embeddings', started=time.perf_counter(), "
        "provider='openai', model_used='text-embedding-3-small', status_code=200)) for _ in range(3)]; "
        "print(m.render()[0].decode())"
    )
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "optera.settings"}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", worker],
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert value(samples(outputs[0]), "optera_requests_total", endpoint="embeddings") == 3
    assert value(samples(outputs[1]), "optera_requests_total", endpoint="embeddings") == 6


@pytest.mark.asyncio
async def test_the_event_loop_lag_is_what_a_blocked_loop_made_a_timer_wait():
    import asyncio

    from proxy.account.loop_lag import SAMPLE_SECONDS, LoopLagMonitor

    metrics = ProxyMetrics()
    monitor = LoopLagMonitor(metrics.loop_lag)
    monitor.start()
    await asyncio.sleep(SAMPLE_SECONDS * 3)
    time.sleep(0.4)  # holds the loop, as a synchronous call on it would
    await asyncio.sleep(SAMPLE_SECONDS * 2)
    await monitor.stop()

    scraped = samples(metrics.render()[0].decode())
    observed = value(scraped, "optera_event_loop_lag_seconds_count")
    within_100_ms = value(scraped, "optera_event_loop_lag_seconds_bucket", le="0.1")
    assert observed >= 4
    # One sample waited out the blocked loop; the others ran on time.
    assert observed - within_100_ms == 1
    assert 0.3 <= value(scraped, "optera_event_loop_lag_seconds_sum") < 0.4 + 0.1 * observed


@pytest.mark.django_db(transaction=True)
def test_the_live_server_reports_loop_lag_and_an_empty_embedder_queue_after_semantic_misses(
    openai_client, optera_server
):
    for number in range(3):
        question = [{"role": "user", "content": f"why is the sky blue on day {secrets.token_hex(4)} {number}"}]
        raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=question)
        assert raw.headers["x-optera-cache"] == "miss"
    # While sixteen new questions are embedded at once, scrapes see them queued.
    depths = []

    def ask(number):
        question = [{"role": "user", "content": f"how far is star {secrets.token_hex(4)} {number}"}]
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=question)

    with ThreadPoolExecutor(max_workers=16) as pool:
        asked = [pool.submit(ask, number) for number in range(16)]
        while not all(future.done() for future in asked):
            depths.append(value(samples(scrape(optera_server).text), "optera_embedder_queue_depth"))
        for future in asked:
            future.result()
    assert max(depths) >= 1

    scraped = samples(scrape(optera_server).text)
    assert value(scraped, "optera_event_loop_lag_seconds_count") > 0
    # Each question was embedded (the workspace has the semantic cache, the default) and none waits now.
    assert ("optera_embedder_queue_depth", ()) in scraped
    assert value(scraped, "optera_embedder_queue_depth") == 0
