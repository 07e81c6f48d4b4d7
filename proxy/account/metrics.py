"""Prometheus metrics of the proxy: requests, latency, tokens, spend and savings, served at /metrics.

Every finished request's record passes through `observe` (the log writer calls it), so the
figures match the request log. The registry belongs to the process's runtime, not to the module.
With several worker processes, point PROMETHEUS_MULTIPROC_DIR at one empty directory for all of
them: prometheus_client then keeps the values in shared files and /metrics adds them up.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# A client may name any model under a provider prefix ("openai/anything"). A model earns its own
# label once a provider has answered it successfully, and at most this many do; everything else is
# "other", so one tenant's made-up names can neither grow a scrape nor crowd out real models.
MAX_MODEL_LABELS = 200
OTHER_MODEL = "other"
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ProxyMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self._models = set()
        labels = ("endpoint", "provider", "model")
        self.requests = Counter(
            "optera_requests",
            "Requests handled, by outcome",
            (*labels, "status", "cache"),
            registry=self.registry,
        )
        self.overhead = Histogram(
            "optera_overhead_seconds",
            "Time spent inside Optera (total minus upstream)",
            ("endpoint",),
            buckets=OVERHEAD_BUCKETS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "optera_request_seconds",
            "Whole request time, upstream included",
            ("endpoint",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "optera_tokens", "Tokens billed by the provider", (*labels, "kind"), registry=self.registry
        )
        self.cost = Counter("optera_cost_usd", "Provider cost in USD", labels, registry=self.registry)
        self.saved = Counter(
            "optera_saved_usd",
            "USD saved against sending directly, by kind (the positive entries of the request log's ledger)",
            ("kind",),
            registry=self.registry,
        )

        self.loop_lag = Histogram(
            "optera_event_loop_lag_seconds",
            "How late the event loop ran a timer that was due (sampled every 0.25 s)",
            buckets=LOOP_LAG_BUCKETS,
            registry=self.registry,
        )
        # With several processes (PROMETHEUS_MULTIPROC_DIR), the live processes' depths are added up.
        self.embedder_queue = Gauge(
            "optera_embedder_queue_depth",
            "Questions being fingerprinted and embedded for the semantic cache off the event loop, or waiting to be",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.semantic_verify = Counter(
            "optera_semantic_verify",
            "Sampled semantic hits verified against a fresh upstream answer, by outcome (skipped: too many at once)",
            ("outcome",),
            registry=self.registry,
        )
        self.threshold_raises = Counter(
            "optera_semantic_threshold_raises",
            "Automatic raises of a workspace's semantic threshold after verified hits disagreed",
            registry=self.registry,
        )
        self.logs_dropped = Counter(
            "optera_request_logs_dropped",
            "Request logs dropped because the buffer filled while PostgreSQL was unreachable",
            registry=self.registry,
        )

    def observe(self, record):
        """Count one finished request."""
        endpoint, provider = record.endpoint, record.provider
        model = self._model_label(record.model_used, answered=record.status_code < 400)
        self.requests.labels(endpoint, provider, model, str(record.status_code), record.cache_status).inc()
        elapsed_seconds = record.elapsed_ms() / 1000
        self.duration.labels(endpoint).observe(elapsed_seconds)
        self.overhead.labels(endpoint).observe(max(elapsed_seconds - record.upstream_seconds, 0.0))
        usage = record.usage
        for kind, count in (
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
            ("cached", usage.cached_tokens),
            ("cache_write", usage.cache_write_tokens),
        ):
            if count:
                self.tokens.labels(endpoint, provider, model, kind).inc(count)
        if record.cost_usd:
            self.cost.labels(endpoint, provider, model).inc(float(record.cost_usd))
        for kind, usd in record.savings.items():
            # A negative saving (a cache write, the summariser's own bill) is part of the ledger but
            # a Prometheus counter only goes up; the request log keeps the signed figure.
            if usd > 0:
                self.saved.labels(kind).inc(usd)

    def render(self):
        """Return (body, content type) of the Prometheus text exposition."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _model_label(self, model, *, answered):
        if model in self._models:
            return model
        if not answered or len(self._models) >= MAX_MODEL_LABELS:
            return OTHER_MODEL
        self._models.add(model)
        return model
