"""Stage 5, account: the one place a finished request becomes its log row, metrics and feed event.

Reached once per request, on success, error, cancellation and stream end alike, in the
background so a client that hangs up cannot lose the record. A stream is priced from the
provider's own usage, or from local token counts where none arrived (a cut or cancelled stream).
"""

import asyncio
import dataclasses
import logging
from dataclasses import dataclass

from analytics.pricing import Usage
from proxy import tokens
from proxy.providers.base import StreamOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayedStream:
    """What the account stage needs of a relayed stream: its outcome and the prompt that was sent."""

    outcome: StreamOutcome
    prompt_body: dict


async def account(runtime, record, *, stream=None, quota=None):
    """Settle the record's usage and cost (and its quota reservation), then log, count and publish it."""
    try:
        if stream is not None:
            await _settle_stream_usage(record, stream)
            await runtime.prices.account(record)
        await runtime.quotas.settle(quota, record.cost_usd)
    except Exception:  # a price-table or counter hiccup must not cost the request its log row
        logger.exception("could not price request %s", record.request_id)
    try:
        runtime.metrics.observe(record)
        runtime.feed.publish(record)
    except Exception:  # metrics and the feed must never cost a request its log row
        logger.exception("could not count request %s in the metrics", record.request_id)
    runtime.logs.add(record)


async def _settle_stream_usage(record, stream):
    outcome = stream.outcome
    loop = asyncio.get_running_loop()
    model = record.model_used
    if outcome.usage and (outcome.usage.get("prompt_tokens") or outcome.usage.get("completion_tokens")):
        record.usage = Usage.from_openai(outcome.usage)
        if not outcome.finished:
            # Anthropic reports output tokens as they stream; a cut stream's count can lag what was sent.
            sent = await loop.run_in_executor(None, lambda: tokens.count_text(outcome.completion_text(), model=model))
            if sent > record.usage.completion_tokens:
                record.usage = dataclasses.replace(record.usage, completion_tokens=sent)
                record.usage_estimated = True
        return
    # No usage arrived (cancelled or cut stream): count what was asked and what was sent, off the loop.
    prompt_tokens = await loop.run_in_executor(None, lambda: tokens.count_prompt(stream.prompt_body, model=model))
    completion_tokens = await loop.run_in_executor(
        None, lambda: tokens.count_text(outcome.completion_text(), model=model)
    )
    record.usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    record.usage_estimated = True
