"""Stage 2, shape: the TTL of Optera's Anthropic prompt-cache markers, from the conversation's cadence.

Each turn leaves a small record in Django's cache (Redis when REDIS_URL is set, in-process
otherwise) under the keyed hash of its whole message list: when it was seen, the gaps between the
turns before it, the TTL its markers got and its estimated size. The next turn resends that list as
its prefix, so it finds the record by hashing its own prefixes (cachestore.keys.message_prefix_hashes,
an HMAC chain with the workspace's secret) and trying those that end where an assistant answer
begins. The record holds numbers and the fixed words "5m"/"1h", the key a workspace id and an HMAC:
no prompt text reaches the cache. The decision itself is proxy/providers/anthropic/cache_ttl.py.
"""

import logging

import orjson
from asgiref.sync import sync_to_async
from django.core.cache import cache

from accounts.models import AnthropicCacheTtl
from cachestore import keys
from proxy import tokens
from proxy.providers.anthropic import cache_ttl
from proxy.providers.anthropic.cache_ttl import FIVE_MINUTES, Cadence

CADENCE_KEY_PREFIX = "optera:cadence:"
# Long enough to see a gap of over an hour (which argues for 5m), short enough to forget
# abandoned conversations soon.
RECORD_SECONDS = 2 * 60 * 60
# Turn boundaries tried, newest first: a turn adds one assistant answer, or several with tool calls.
CANDIDATE_PREFIXES = 4
logger = logging.getLogger(__name__)


def cadence_key(workspace_id, prefix_hash):
    """Return the cache key of the record a turn leaves for the next one."""
    return f"{CADENCE_KEY_PREFIX}{workspace_id}:{prefix_hash}"


async def anthropic_cache_ttl(ctx, targets, *, messages, system=None):
    """Return "5m" or "1h" for the breakpoints Optera may place on this request's Anthropic call.

    The workspace's `anthropic_cache_ttl` option forces either; "auto" asks the conversation's
    cadence, which also records this turn for the next one. Requests that go to no Anthropic model,
    or from a workspace with provider prompt caching off, cost nothing here.
    """
    if not ctx.options.provider_prompt_cache or not any(target.provider == "anthropic" for target in targets):
        return FIVE_MINUTES
    mode = ctx.key_record.settings.anthropic_cache_ttl
    if mode != AnthropicCacheTtl.AUTO:
        return mode
    conversation = list(messages or ())
    if system:
        # Conversations that open alike under different system prompts are different conversations.
        conversation.insert(0, {"role": "system", "content": system})
    if not conversation:
        return FIVE_MINUTES
    now = ctx.runtime.clock()
    try:
        # Hashing a long history and a cache round trip (Redis when set): off the event loop.
        return await sync_to_async(observe_turn, thread_sensitive=False)(
            workspace_id=ctx.key_record.workspace_id,
            secret=ctx.key_record.hash_key,
            messages=conversation,
            now=now,
        )
    except Exception:  # the cadence is an optimisation: without it the request goes on at 5m
        logger.warning("could not read the conversation's cadence", exc_info=True)
        return FIVE_MINUTES


def observe_turn(*, workspace_id, secret, messages, now):
    """Find the previous turn's record, choose this turn's TTL and leave a record for the next turn."""
    prefix_hashes = keys.message_prefix_hashes(secret=secret, messages=messages)
    candidates = [cadence_key(workspace_id, prefix_hashes[end - 1]) for end in previous_turn_ends(messages)]
    found = cache.get_many(candidates) if candidates else {}
    previous = next((found[key] for key in candidates if isinstance(found.get(key), dict)), None)
    prompt_tokens = tokens.rough_count(orjson.dumps(messages).decode())
    if previous is None:
        cadence = Cadence(prompt_tokens=prompt_tokens, written_tokens=prompt_tokens)
    else:
        gap_seconds = max(now - float(previous["seen"]), 0.0)
        cadence = Cadence(
            gaps_seconds=(*previous["gaps"], gap_seconds)[-cache_ttl.RECENT_GAPS :],
            prompt_tokens=prompt_tokens,
            written_tokens=cache_ttl.written_tokens(
                prompt_tokens=prompt_tokens,
                previous_prompt_tokens=int(previous["tokens"]),
                previous_ttl=previous["ttl"],
                gap_seconds=gap_seconds,
            ),
        )
    chosen = cache_ttl.choose_ttl(cadence)
    record = {"seen": now, "gaps": [round(gap) for gap in cadence.gaps_seconds], "ttl": chosen, "tokens": prompt_tokens}
    cache.set(cadence_key(workspace_id, prefix_hashes[-1]), record, RECORD_SECONDS)
    return chosen


def previous_turn_ends(messages):
    """Return where earlier turns may have ended (just before an assistant answer), newest first."""
    ends = []
    for index in range(len(messages) - 1, 0, -1):
        if isinstance(messages[index], dict) and messages[index].get("role") == "assistant":
            ends.append(index)
            if len(ends) == CANDIDATE_PREFIXES:
                break
    return ends
