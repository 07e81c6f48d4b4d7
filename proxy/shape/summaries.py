"""Conversation summaries: older turns replaced by a stored summary once a history passes its budget.

The summariser runs in the proxy process, in the background, with the request's own provider key:
a Celery task would have to carry the conversation and the key in its payload, which sits at rest
in the broker, and our privacy policy allows neither. Only the summary is stored (the policy names
it), under a keyed chain hash of the turns it replaces.
"""

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal

from analytics.pricing import ONE_HOUR_WRITE_MULTIPLIER, Usage
from cachestore import keys, selectors, services
from proxy import tokens
from proxy.account.accounting import account
from proxy.account.record import RequestRecord
from proxy.db import in_db_thread
from proxy.errors import ProxyError
from proxy.providers import provider_named
from proxy.providers.anthropic.cache_ttl import NO_MARKERS, ONE_HOUR
from proxy.shape.messages import leading_system_count, message_text
from proxy.shape.routing import provider_of
from proxy.shape.summary_cost import history_prices, summary_outlook

SUMMARY_LEAD = "Summary of the earlier part of this conversation (written to save tokens; treat it as context):\n"
SUMMARISER_INSTRUCTIONS = (
    "You compress the earlier part of a conversation between a user and an AI assistant so that the assistant "
    "can continue it without the full transcript. Write a faithful, dense summary: keep every fact, name, number, "
    "date, decision, constraint, user preference, code identifier, file name and open question; keep what the "
    "assistant already answered or promised and what the user accepted or rejected. Do not add anything that is "
    "not in the transcript, do not answer the user, do not address anyone. Use short sentences or bullet points."
)
# A summary may use about a sixth of what it replaces, within these bounds.
SUMMARY_SHARE = 6
MAX_SUMMARY_TOKENS = 600
MIN_SUMMARY_TOKENS = 128
logger = logging.getLogger(__name__)


def summary_budget(older_tokens):
    """Return the most tokens the summariser may write for this much history."""
    return max(MIN_SUMMARY_TOKENS, min(MAX_SUMMARY_TOKENS, older_tokens // SUMMARY_SHARE))


def expected_summary_tokens(older_tokens):
    """Return the tokens a summary of this much history is expected to take in the prompt."""
    return summary_budget(older_tokens) + tokens.TOKENS_PER_MESSAGE


@dataclass(frozen=True)
class HistoryPlan:
    """Where a conversation can be cut, and what each message weighs; computed off the event loop."""

    prefix_hashes: list
    message_tokens: list
    system_count: int
    boundaries: list  # i such that messages[:i] ends a turn (messages[i] is a user message)
    recent_start: int | None  # the boundary before the turns kept verbatim

    @property
    def total_tokens(self):
        return sum(self.message_tokens)


def plan_history(messages, *, secret, model, keep_recent_turns):
    system_count = leading_system_count(messages)
    encoding = tokens.encoding_for(model)
    message_tokens = [
        len(encoding.encode(message_text(message), disallowed_special=())) + tokens.TOKENS_PER_MESSAGE
        for message in messages
    ]
    # Cutting only right before a user message never separates a tool call from its result.
    boundaries = [index for index in range(system_count + 1, len(messages)) if messages[index].get("role") == "user"]
    user_turns = [index for index in range(system_count, len(messages)) if messages[index].get("role") == "user"]
    recent_start = user_turns[-keep_recent_turns] if len(user_turns) > keep_recent_turns else None
    return HistoryPlan(
        prefix_hashes=keys.message_prefix_hashes(secret=secret, messages=messages),
        message_tokens=message_tokens,
        system_count=system_count,
        boundaries=boundaries,
        recent_start=recent_start if recent_start and recent_start > system_count else None,
    )


class SummaryEngine:
    def __init__(self):
        self._in_flight = set()

    async def apply(self, ctx, body, target):
        """Return the messages to send (with a stored summary in place of older turns), recording the saving."""
        workspace_settings = ctx.key_record.settings
        messages = body.get("messages") or []
        if not ctx.options.summaries or len(messages) < 3:
            return messages
        loop = asyncio.get_running_loop()
        plan = await loop.run_in_executor(
            None,
            lambda: plan_history(
                messages,
                secret=ctx.key_record.hash_key,
                model=target.model,
                keep_recent_turns=workspace_settings.summary_keep_recent_turns,
            ),
        )
        usable = [boundary for boundary in plan.boundaries if plan.recent_start and boundary <= plan.recent_start]
        if not usable:
            return messages
        summary = await in_db_thread(
            selectors.conversation_summary_find_longest,
            workspace_id=ctx.key_record.workspace_id,
            prefix_hashes=[plan.prefix_hashes[boundary - 1] for boundary in usable],
        )
        covered = 0
        if summary is not None:
            covered = usable[[plan.prefix_hashes[boundary - 1] for boundary in usable].index(summary.prefix_hash)]
        await self._maybe_summarise(ctx, messages, plan, target, summary, covered)
        if summary is None:
            return messages
        replaced_tokens = sum(plan.message_tokens[plan.system_count : covered])
        await self._record_saving(ctx, target, replaced_tokens - summary.tokens_after)
        summary_message = {"role": "system", "content": SUMMARY_LEAD + summary.summary_text}
        return messages[: plan.system_count] + [summary_message] + messages[covered:]

    async def _record_saving(self, ctx, target, tokens_saved):
        if tokens_saved <= 0:
            return
        price = await ctx.runtime.prices.price(target.provider, target.model)
        if price is not None:
            ctx.record.savings["summary"] = float(price.input * tokens_saved / Decimal(1_000_000))

    async def _maybe_summarise(self, ctx, messages, plan, target, summary, covered):
        """Start a summary of everything before the recent turns when the history is over budget and it pays."""
        if plan.recent_start is None or plan.recent_start <= covered:
            return
        trigger_tokens = ctx.key_record.settings.summary_trigger_tokens
        pending_tokens = sum(plan.message_tokens[max(covered, plan.system_count) : plan.recent_start])
        if plan.total_tokens <= trigger_tokens or (summary is not None and pending_tokens < trigger_tokens // 2):
            return
        prefix_hash = plan.prefix_hashes[plan.recent_start - 1]
        if prefix_hash in self._in_flight:
            return
        outlook = await self._outlook(ctx, plan, target, summary, pending_tokens, trigger_tokens)
        if outlook is None or not outlook.pays:
            return
        self._in_flight.add(prefix_hash)
        ctx.runtime.run_in_background(self._summarise(ctx, messages, plan, target, summary, covered, prefix_hash))

    async def _outlook(self, ctx, plan, target, summary, pending_tokens, trigger_tokens):
        """Return the summary's expected saving and cost (summary_cost.py), or None without prices."""
        try:
            cheap = provider_of(ctx.key_record.settings.cheap_model)
        except ProxyError:  # a cheap model named by an alias: no summary, and never the client's error
            return None
        price = await ctx.runtime.prices.price(target.provider, target.model)
        cheap_price = await ctx.runtime.prices.price(cheap.provider, cheap.model)
        if price is None or cheap_price is None:
            return None
        prices = history_prices(
            provider=target.provider,
            input_price=float(price.input),
            cached_input_price=float(price.cached_input),
            # One-hour markers make the provider write at twice the input price (5-minute: the table's).
            cache_write_price=float(
                price.input * ONE_HOUR_WRITE_MULTIPLIER if ctx.provider_cache_ttl == ONE_HOUR else price.cache_write
            ),
            # No marker placed (turns further apart than any cache lives): the history is billed in full.
            provider_cache=ctx.options.provider_prompt_cache and ctx.provider_cache_ttl != NO_MARKERS,
            cache_warm=True,
            summariser_input=float(cheap_price.input),
            summariser_output=float(cheap_price.output),
        )
        replaced_tokens = pending_tokens + (summary.tokens_after if summary is not None else 0)
        turns_so_far = len(plan.boundaries) + 1
        tokens_per_turn = max(1, (plan.total_tokens - sum(plan.message_tokens[: plan.system_count])) // turns_so_far)
        return summary_outlook(
            replaced_tokens=replaced_tokens,
            kept_tokens=sum(plan.message_tokens[plan.recent_start :]),
            summary_tokens=expected_summary_tokens(replaced_tokens),
            turns_so_far=turns_so_far,
            # The engine summarises again once half the trigger's worth of turns has built up.
            turns_until_resummary=max(1, (trigger_tokens // 2) // tokens_per_turn),
            prices=prices,
        )

    async def _summarise(self, ctx, messages, plan, target, summary, covered, prefix_hash):
        try:
            await self._summarise_and_store(ctx, messages, plan, target, summary, covered, prefix_hash)
        except Exception:  # a failed summary costs a saving, never a request
            logger.warning("conversation summary failed", exc_info=True)
        finally:
            self._in_flight.discard(prefix_hash)

    async def _summarise_and_store(self, ctx, messages, plan, target, summary, covered, prefix_hash):
        cheap = provider_of(ctx.key_record.settings.cheap_model)
        provider_key = ctx.provider_key(cheap.provider, primary=cheap.provider == target.provider)
        if not provider_key:
            return
        older = messages[max(covered, plan.system_count) : plan.recent_start]
        transcript = "\n\n".join(
            f"{message.get('role', 'user').upper()}: {message_text(message)}"
            for message in older
            if message_text(message)
        )
        if summary is not None:
            transcript = f"EARLIER SUMMARY: {summary.summary_text}\n\n{transcript}"
        older_tokens = sum(plan.message_tokens[plan.system_count : plan.recent_start])
        body = {
            "model": cheap.model,
            "temperature": 0,
            "max_tokens": summary_budget(older_tokens),
            "messages": [
                {"role": "system", "content": SUMMARISER_INSTRUCTIONS},
                {"role": "user", "content": f"Transcript to summarise:\n\n{transcript}"},
            ],
        }
        provider = provider_named(cheap.provider)
        record = RequestRecord.for_background_call(
            ctx, endpoint="summary", suffix="summary", provider=cheap.provider, model=cheap.model
        )
        response = await ctx.runtime.upstream.send(
            provider.chat_request(body, model=cheap.model, provider_key=provider_key, stream=False)
        )
        try:
            raw = await response.read()
            record.status_code = response.status
            if response.status != 200:
                await account(ctx.runtime, record)
                return
        finally:
            response.release()
        _, completion, usage = provider.chat_response(raw, model=cheap.model)
        text = ((completion.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        record.usage = Usage.from_openai(usage)
        record.cost_usd = await ctx.runtime.prices.cost(cheap.provider, cheap.model, record.usage)
        # The summariser's own bill is charged against the savings of summaries.
        record.savings = {"summary": -float(record.cost_usd)}
        record.priced = True
        await account(ctx.runtime, record)
        if not text.strip():
            return
        summary_tokens = tokens.count_text(SUMMARY_LEAD + text, model=cheap.model) + tokens.TOKENS_PER_MESSAGE
        await in_db_thread(
            services.conversation_summary_store,
            workspace_id=ctx.key_record.workspace_id,
            prefix_hash=prefix_hash,
            summary_text=text.strip(),
            messages_summarised=plan.recent_start - plan.system_count,
            tokens_before=older_tokens,
            tokens_after=summary_tokens,
            model=cheap.model,
            cost_usd=record.cost_usd,
        )
