"""Live precision of the semantic cache: a sampled share of semantic hits also asked upstream, and compared.

With a workspace's `verify_sample_rate` above 0, that share of its semantic hits on
/v1/chat/completions is sent upstream again once the cached answer has been returned to the
client (the client never waits for it). The fresh answer is compared with the served one
(cachestore.semantic.agreement); only the verdict is counted, per workspace in PostgreSQL
(cachestore.services.semantic_verify_record, which may raise the workspace's threshold) and
per process in /metrics. Neither answer's text is stored or logged.

The call runs in this process, in the background, with the request's own provider key, like the
summariser: a Celery task would put the key and the prompt at rest in the broker. At most
`MAX_IN_FLIGHT` run at once per process; a hit sampled beyond that is not verified (and not
counted), so a burst of hits cannot turn into a burst of provider calls.

Each verification is a provider call billed to the workspace: its cost is logged as its own
request (endpoint "semantic_verify") and charged against the cache's savings, so a rate of r
adds about r times the price of each semantic hit's answer.
"""

import asyncio
import logging
import random
import time

from analytics.pricing import Usage
from cachestore import services
from proxy.account.accounting import account
from proxy.account.record import RequestRecord
from proxy.db import in_db_thread
from proxy.providers import provider_named

# Verifications running at once in one process; more sampled hits are let go unverified.
MAX_IN_FLIGHT = 4
logger = logging.getLogger(__name__)


def answer_text(completion):
    """Return the text of a chat completion's only choice, or None when it has none to compare."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list) or len(choices) != 1:
        return None
    message = choices[0].get("message") or {}
    content = message.get("content")
    if message.get("tool_calls") or not isinstance(content, str) or not content.strip():
        return None
    return content


class VerifySampler:
    """Chooses semantic hits to verify and verifies them off the response path."""

    def __init__(self):
        self.in_flight = 0

    def consider(self, ctx, body, target, served):
        """Start verifying this semantic hit in the background if the workspace's rate draws it."""
        rate = ctx.key_record.settings.verify_sample_rate
        if rate <= 0 or random.random() >= rate:
            return
        if body.get("tools") or body.get("n", 1) not in (1, None) or answer_text(served.response) is None:
            return  # nothing comparable: a tool call, several choices, or no text
        provider_key = ctx.provider_key(target.provider, primary=True)
        if not provider_key:
            return
        if self.in_flight >= MAX_IN_FLIGHT:
            ctx.runtime.metrics.semantic_verify.labels("skipped").inc()
            return
        self.in_flight += 1
        ctx.runtime.run_in_background(self._verify(ctx, body, target, served, provider_key))

    async def _verify(self, ctx, body, target, served, provider_key):
        try:
            await self._verify_and_count(ctx, body, target, served, provider_key)
        except Exception as error:  # a failed verification costs a sample, never a request
            # The type only: an upstream error's message could quote the request.
            logger.warning("semantic verify of request %s failed: %s", ctx.record.request_id, type(error).__name__)
        finally:
            self.in_flight -= 1

    async def _verify_and_count(self, ctx, body, target, served, provider_key):
        from cachestore.semantic.agreement import compare_answers

        provider = provider_named(target.provider)
        record = RequestRecord.for_background_call(
            ctx, endpoint="semantic_verify", suffix="verify", provider=target.provider, model=target.model
        )
        # The same question as the client asked it, answered whole: a stream's text is the same answer.
        fresh_body = {key: value for key, value in body.items() if key not in ("stream", "stream_options")}
        started = time.perf_counter()
        response = await ctx.runtime.upstream.send(
            provider.chat_request(fresh_body, model=target.model, provider_key=provider_key, stream=False)
        )
        try:
            raw = await response.read()
            record.status_code = response.status
        finally:
            response.release()
            record.upstream_seconds = time.perf_counter() - started
        if record.status_code != 200:
            record.error_type = "upstream_error"
            await account(ctx.runtime, record)
            return
        _, completion, usage = provider.chat_response(raw, model=target.model)
        record.usage = Usage.from_openai(usage)
        record.cost_usd = await ctx.runtime.prices.cost(target.provider, target.model, record.usage)
        # What verification costs comes out of what the cache saved.
        record.savings = {"cache": -float(record.cost_usd)}
        record.priced = True
        await account(ctx.runtime, record)
        fresh = answer_text(completion)
        if fresh is None:
            return
        served_text = answer_text(served.response)
        agreement = await asyncio.get_running_loop().run_in_executor(None, compare_answers, served_text, fresh)
        outcome = "agree" if agreement.agrees else "disagree"
        ctx.runtime.metrics.semantic_verify.labels(outcome).inc()
        raised = await in_db_thread(
            services.semantic_verify_record, workspace_id=ctx.key_record.workspace_id, agreed=agreement.agrees
        )
        if raised is not None:
            ctx.runtime.metrics.threshold_raises.inc()
            logger.warning(
                "semantic threshold of workspace %s raised from %.2f to %.2f: %d of %d verified hits disagreed "
                "(bound %.3f)",
                raised.workspace_id,
                raised.threshold_before,
                raised.threshold_after,
                raised.window_disagreements,
                raised.window_samples,
                raised.disagreement_bound,
            )
