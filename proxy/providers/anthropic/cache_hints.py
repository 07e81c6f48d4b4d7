"""Anthropic prompt-cache breakpoints for upstream request bodies (pure functions, no I/O).

Anthropic caches only the prefixes a request marks with `cache_control`, and bills a read at a
tenth of the input price, so marking the stable part of a request pays for itself after one reuse.
(OpenAI caches long prompts by itself; its routing key is added in providers/openai.py.)
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from proxy.providers.anthropic.cache_ttl import FIVE_MINUTES, ONE_HOUR

# Anthropic's prompt-caching docs ("Cache limitations"): a prefix shorter than the model's minimum
# cacheable length is silently not cached, so a planned there wastes one of the four slots.
# Sonnet and Opus up to 4.1 need 1024 tokens, the Claude 3 / 3.5 Haiku models 2048, and the newer
# docs raised Opus 4.5 / 4.6 and Haiku 4.5 to 4096. The first fragment found in the model id wins.
MIN_CACHEABLE_TOKENS_BY_MODEL = (
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
DEFAULT_MIN_CACHEABLE_TOKENS = 1024
# Anthropic rejects a request with more than four cache_control markers.
MAX_BREAKPOINTS = 4
# Anthropic bills an image at about width * height / 750 tokens and downscales anything larger
# than ~1.15 megapixels, so ~1600 is the usual cost; PDFs get the same guess for want of a page
# count.
MEDIA_BLOCK_TOKENS = 1600
# Anthropic refuses cache_control on thinking blocks; they are cached with the turn around them.
UNMARKABLE_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})


@dataclass(frozen=True)
class Breakpoint:
    """One planned cache_control marker: a section, and for messages which block of which turn."""

    section: str  # "tools", "system" or "messages"
    message_index: int = -1
    block_index: int = -1


def min_cacheable_tokens(model: str) -> int:
    """Return the shortest prefix, in tokens, that Anthropic will cache for this model."""
    # Accept dotted aliases ("claude-haiku-4.5") and provider prefixes ("anthropic.claude-...").
    normalised_model = model.lower().replace(".", "-")
    for model_fragment, minimum in MIN_CACHEABLE_TOKENS_BY_MODEL:
        if model_fragment in normalised_model:
            return minimum
    return DEFAULT_MIN_CACHEABLE_TOKENS


def add_anthropic_breakpoints(
    body: dict, *, model: str, estimate_tokens: Callable[[str], int], ttl: str = FIVE_MINUTES
) -> dict:
    """Return a copy of an Anthropic Messages body with cache breakpoints on its stable prefixes.

    A client that placed any cache_control marker of its own (or asked for automatic caching
    with a top-level `cache_control`) has chosen its caching, so its body is returned as is.

    Otherwise, in priority order, and only where the prefix up to the marker reaches the model's
    minimum (Anthropic caches the prefix in the order tools -> system -> messages):

    1. the final user message: writes the whole prompt, so the next turn of the conversation
       reads everything up to here from the cache;
    2. the turn before the final user message: that turn ends where the previous request's
       planned 1 wrote, so this marker still reads it when the new turn adds more than the
       ~20 blocks Anthropic looks back from a marker (a burst of tool results) or when the client
       regenerates or edits its last message;
    3. the system prompt: shared by every conversation with the same tools and instructions;
    4. the last tool definition: still shared when the system prompt varies per request.

    Extra markers cost nothing, since Anthropic bills each token once whether one or several
    markers cover it. Writing costs 1.25x the input price and a read 0.1x, so the scheme saves
    from the first reuse; a long prompt that is never repeated pays the 25% write premium.

    Every marker gets the same `ttl` ("5m" or "1h", see cache_ttl.py), so the request never mixes
    TTLs (Anthropic requires 1-hour markers before 5-minute ones). A 5-minute marker is written
    without a `ttl` field, as Anthropic's default, so bodies stay as they were before TTLs existed.

    Nested objects the markers do not touch are shared between `body` and the result.
    """
    if has_client_cache_control(body):
        return dict(body)

    minimum = min_cacheable_tokens(model)
    tools = body.get("tools") or []
    system_blocks = _content_blocks(body.get("system"))
    messages = body.get("messages") or []

    tools_tokens = sum(estimate_tokens(json.dumps(tool)) for tool in tools)
    system_end_tokens = tools_tokens + sum(_block_tokens(block, estimate_tokens) for block in system_blocks)
    message_start_tokens = [system_end_tokens]
    for message in messages:
        message_tokens = sum(_block_tokens(block, estimate_tokens) for block in _content_blocks(message.get("content")))
        message_start_tokens.append(message_start_tokens[-1] + message_tokens)

    def message_breakpoint(message_index: int) -> Breakpoint | None:
        """Return the marker on the message's last markable block, if its prefix is long enough."""
        blocks = _content_blocks(messages[message_index].get("content"))
        block_index = _last_markable_index(blocks)
        if block_index is None:
            return None
        prefix_tokens = message_start_tokens[message_index] + sum(
            _block_tokens(block, estimate_tokens) for block in blocks[: block_index + 1]
        )
        if prefix_tokens < minimum:
            return None
        return Breakpoint("messages", message_index, block_index)

    candidates: list[Breakpoint | None] = []
    final_user_index = _last_user_message_index(messages)
    if final_user_index is not None:
        candidates.append(message_breakpoint(final_user_index))
        if final_user_index > 0:
            candidates.append(message_breakpoint(final_user_index - 1))
    system_block_index = _last_markable_index(system_blocks)
    if system_block_index is not None and system_end_tokens >= minimum:
        candidates.append(Breakpoint("system", block_index=system_block_index))
    if tools and tools_tokens >= minimum:
        candidates.append(Breakpoint("tools"))

    chosen = [candidate for candidate in candidates if candidate is not None][:MAX_BREAKPOINTS]
    return _with_breakpoints(body, chosen, marker=_cache_control(ttl))


def _cache_control(ttl: str) -> dict:
    """Return the cache_control marker for a TTL."""
    if ttl == ONE_HOUR:
        return {"type": "ephemeral", "ttl": ONE_HOUR}
    return {"type": "ephemeral"}


def has_client_cache_control(body: dict) -> bool:
    """Return True if the client marked anything for caching itself (Optera then adds no marker)."""
    if body.get("cache_control") is not None:
        return True
    blocks = list(body.get("tools") or []) + _content_blocks(body.get("system"))
    for message in body.get("messages") or []:
        for block in _content_blocks(message.get("content")):
            blocks.append(block)
            if isinstance(block, dict) and block.get("type") == "tool_result":
                blocks.extend(_content_blocks(block.get("content")))
    return any(isinstance(block, dict) and block.get("cache_control") is not None for block in blocks)


def _content_blocks(content) -> list:
    """Return system or message content as a list of blocks; a string becomes one text block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    if isinstance(content, list):
        return list(content)
    return []


def _block_tokens(block: dict, estimate_tokens: Callable[[str], int]) -> int:
    """Return the estimated prompt tokens of one content block."""
    if not isinstance(block, dict):
        return 0
    block_type = block.get("type")
    if block_type == "text":
        return estimate_tokens(block.get("text") or "")
    if block_type in ("image", "document"):
        source = block.get("source") or {}
        if source.get("type") == "text":
            return estimate_tokens(source.get("data") or "")
        return MEDIA_BLOCK_TOKENS
    if block_type in UNMARKABLE_BLOCK_TYPES:
        # Earlier turns' thinking is often dropped from the prompt; not counting it keeps the
        # estimate on the safe side of the minimum.
        return 0
    if block_type == "tool_use":
        return estimate_tokens(block.get("name") or "") + estimate_tokens(json.dumps(block.get("input") or {}))
    if block_type == "tool_result":
        return sum(_block_tokens(inner_block, estimate_tokens) for inner_block in _content_blocks(block.get("content")))
    return estimate_tokens(json.dumps(block))


def _is_markable(block: dict) -> bool:
    """Return True if Anthropic accepts cache_control on this block."""
    if not isinstance(block, dict):
        return False
    if block.get("type") in UNMARKABLE_BLOCK_TYPES:
        return False
    if block.get("type") == "text":
        return bool((block.get("text") or "").strip())
    return True


def _last_markable_index(blocks: list) -> int | None:
    """Return the index of the last block that can carry cache_control, or None."""
    for index in range(len(blocks) - 1, -1, -1):
        if _is_markable(blocks[index]):
            return index
    return None


def _last_user_message_index(messages: list) -> int | None:
    """Return the index of the final user message, or None."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return None


def _marked(block: dict, marker: dict) -> dict:
    """Return a copy of the block carrying the cache_control marker (its own copy of it)."""
    return {**block, "cache_control": dict(marker)}


def _with_breakpoints(body: dict, breakpoints: list[Breakpoint], *, marker: dict) -> dict:
    """Return a copy of the body with the markers applied, copying only the objects they touch."""
    marked_body = dict(body)
    for planned in breakpoints:
        if planned.section == "tools":
            tools = list(body["tools"])
            tools[-1] = _marked(tools[-1], marker)
            marked_body["tools"] = tools
        elif planned.section == "system":
            system_blocks = _content_blocks(body["system"])
            system_blocks[planned.block_index] = _marked(system_blocks[planned.block_index], marker)
            marked_body["system"] = system_blocks
        else:
            messages = list(marked_body["messages"])
            message = dict(messages[planned.message_index])
            blocks = _content_blocks(message.get("content"))
            blocks[planned.block_index] = _marked(blocks[planned.block_index], marker)
            message["content"] = blocks
            messages[planned.message_index] = message
            marked_body["messages"] = messages
    return marked_body
