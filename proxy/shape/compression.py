"""System-prompt compression on the request path: the stored compressed text replaces the original.

A prompt is compressed once, in the background, the first time it is seen; until then requests go
as they are. The work runs in the proxy process rather than a Celery task because a task payload
would keep the prompt at rest in the broker, which our privacy policy does not allow; only the
compressed text (which the policy names) is stored, under a keyed hash of the original.
"""

import asyncio
import logging
from decimal import Decimal

from cachestore import keys, selectors, services
from proxy import tokens
from proxy.db import in_db_thread
from proxy.memo import BoundedMemo
from proxy.shape.messages import message_text

MIN_PROMPT_CHARS = 400
# OpenAI's automatic prompt cache only reads prefixes of at least this many tokens.
OPENAI_MIN_CACHED_PREFIX = 1024
logger = logging.getLogger(__name__)


def _compress(text, model):
    from cachestore.compression import compress_system_prompt

    compressed = compress_system_prompt(text)
    return compressed, tokens.count_text(text, model=model), tokens.count_text(compressed, model=model)


def cheaper_to_send(*, tokens_before, tokens_after, target, price, other_tokens=0):
    """Return whether the compressed system prompt costs less upstream than the original.

    OpenAI caches a repeated prompt prefix of 1024+ tokens (the system prompt and whatever follows
    it, `other_tokens`) at its cached price. A compression that takes the whole prompt below that
    length loses the discount, so it must then beat the original's cached cost. A price row without
    a cached price says nothing about the discount, so it does not block compression.
    """
    if tokens_after >= tokens_before:
        return False
    prompt_before, prompt_after = tokens_before + other_tokens, tokens_after + other_tokens
    loses_prefix_cache = target.provider == "openai" and prompt_after < OPENAI_MIN_CACHED_PREFIX <= prompt_before
    if not loses_prefix_cache or price is None or not price.input or not price.cached_input:
        return True
    return prompt_after < prompt_before * price.cached_input / price.input


def _estimated_tokens(messages):
    """Return a quick estimate of the messages' tokens, enough for OpenAI's 1024-token cache floor."""
    return sum(tokens.rough_count(message_text(message)) for message in messages)


class PromptCompressor:
    def __init__(self):
        # (workspace id, prompt hash) -> (compressed text, tokens before, tokens after); None: not compressed yet.
        # An hour at most, so a prompt in steady use is read again and its use recorded (it expires unused).
        self._known = BoundedMemo(ttl_seconds=3600)
        self._pending = set()

    async def apply(self, ctx, messages, *, system_count, target):
        """Return `messages` with each long leading system prompt replaced by its stored compressed text."""
        if not ctx.options.compression:
            return messages
        shaped = list(messages)
        tokens_saved = 0
        price = None
        for index in range(system_count):
            content = messages[index].get("content")
            if not isinstance(content, str) or len(content) < MIN_PROMPT_CHARS:
                continue
            compressed = await self._compressed(ctx, content, target)
            if compressed is None:
                continue
            price = price or await ctx.runtime.prices.price(target.provider, target.model)
            if cheaper_to_send(
                tokens_before=compressed[1],
                tokens_after=compressed[2],
                target=target,
                price=price,
                other_tokens=_estimated_tokens(messages[system_count:]),
            ):
                shaped[index] = {**messages[index], "content": compressed[0]}
                tokens_saved += compressed[1] - compressed[2]
        if tokens_saved and price is not None:
            ctx.record.savings["compression"] = float(price.input * tokens_saved / Decimal(1_000_000))
        return shaped if tokens_saved else messages

    async def _compressed(self, ctx, text, target):
        workspace_id = ctx.key_record.workspace_id
        prompt_hash = keys.prompt_hash(secret=ctx.key_record.hash_key, body={"messages": ["system", text]})
        known_key = (workspace_id, prompt_hash)
        known = self._known.get(known_key)
        if known is not None:
            return known
        stored = await in_db_thread(
            selectors.compressed_prompt_find, workspace_id=workspace_id, prompt_hash=prompt_hash
        )
        if stored is not None:
            known = (stored.compressed_text, stored.tokens_before, stored.tokens_after)
            self._known.put(known_key, known)
            return known
        if known_key not in self._pending:
            self._pending.add(known_key)
            ctx.runtime.run_in_background(self._compress_and_store(known_key, text, target.model))
        return None

    async def _compress_and_store(self, known_key, text, model):
        workspace_id, prompt_hash = known_key
        try:
            compressed, before, after = await asyncio.get_running_loop().run_in_executor(None, _compress, text, model)
            await in_db_thread(
                services.compressed_prompt_store,
                workspace_id=workspace_id,
                prompt_hash=prompt_hash,
                compressed_text=compressed,
                tokens_before=before,
                tokens_after=after,
            )
            self._known.put(known_key, (compressed, before, after))
        except Exception:  # a failed compression costs a saving, never a request
            logger.warning("system prompt compression failed", exc_info=True)
        finally:
            self._pending.discard(known_key)
