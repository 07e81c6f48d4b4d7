"""Anthropic's Messages API as the fake plays it, with prompt-caching billing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from .answers import Answer, relevant_tool, schema_of_tool, text_answer, tool_answer
from .caching import CacheBilling, PromptSegment, estimate_tokens
from .delivery import EXCHANGE_KEY, send_event_stream
from .records import UsageRecord
from .strictness import anthropic_cache_minimum

STOP_REASONS = {"end": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence", "tool_call": "tool_use"}
MODELS = ("claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5")


def request_api_key(request: web.Request) -> str:
    """Return the caller's key from x-api-key, or from a Bearer token as OAuth clients send it."""
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def block_segment(owner: str, block: Any) -> PromptSegment:
    """Return the cacheable unit for one tool, system block or content block."""
    marker = block.get("cache_control") if isinstance(block, dict) else None
    if marker:
        # The marker moves between requests; it must not change the prefix it marks.
        block = {key: value for key, value in block.items() if key != "cache_control"}
    fingerprint = owner.encode() + b":" + orjson.dumps(block, option=orjson.OPT_SORT_KEYS)
    if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
        tokens = estimate_tokens(block["text"])
    else:
        tokens = len(fingerprint) // 4 + 1
    cache_ttl = (marker.get("ttl") or "5m") if isinstance(marker, dict) else None
    return PromptSegment(fingerprint=fingerprint, tokens=tokens, cache_ttl=cache_ttl)


def prompt_segments(payload: dict) -> list[PromptSegment]:
    """Return the prompt as cacheable units, in the order the cache sees them: tools, system, messages."""
    segments = [block_segment("tool", tool) for tool in payload.get("tools") or ()]
    system = payload.get("system")
    if isinstance(system, str) and system:
        segments.append(block_segment("system", {"type": "text", "text": system}))
    elif isinstance(system, list):
        segments.extend(block_segment("system", block) for block in system)
    for message in payload["messages"]:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):
            segments.append(block_segment(role, {"type": "text", "text": content}))
        elif isinstance(content, list):
            segments.extend(block_segment(role, block) for block in content)
    return segments


def tool_result_text(content: Any) -> str:
    """Return the text inside a tool_result block's content."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(block.get("text") or "" for block in content if isinstance(block, dict))
    return ""


def last_turn(messages: list) -> tuple[str, bool]:
    """Return the text of the last user message, and whether it carried tool results."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content, False
        texts, has_tool_result = [], False
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                texts.append(block.get("text") or "")
            elif block.get("type") == "tool_result":
                has_tool_result = True
                texts.append(tool_result_text(block.get("content")))
        return " ".join(texts), has_tool_result
    return "", False


def chosen_tool(payload: dict, prompt_text: str, *, after_tool_result: bool) -> str | None:
    """Return the name of the tool the fake model calls, or None to answer in text."""
    names = [tool.get("name") for tool in payload.get("tools") or () if isinstance(tool, dict)]
    names = [name for name in names if name]
    tool_choice = payload.get("tool_choice") or {"type": "auto"}
    choice_type = tool_choice.get("type") if isinstance(tool_choice, dict) else None
    if not names or choice_type == "none":
        return None
    if choice_type == "tool" and tool_choice.get("name"):
        return tool_choice["name"]
    if choice_type == "any":
        return names[0]
    # A tool result is the model's cue to answer, which keeps agent loops in tests finite.
    if after_tool_result:
        return None
    return relevant_tool(payload.get("tools"), prompt_text)


@dataclass(frozen=True)
class MessagePlan:
    """Everything that fixes one message's answer and billing."""

    message_id: str
    model: str
    answer: Answer
    billing: CacheBilling
    tool_use_id: str
    # A text answer split over this many text blocks, as Claude sometimes answers.
    text_blocks: int = 1

    @property
    def text_block_pieces(self) -> list[list[str]]:
        """The answer's pieces, split over `text_blocks` consecutive blocks (none empty)."""
        pieces = self.answer.pieces
        count = max(1, min(self.text_blocks, len(pieces)))
        size = -(-len(pieces) // count)
        return [pieces[start : start + size] for start in range(0, len(pieces), size)] or [[]]

    @property
    def stop_reason(self) -> str:
        return STOP_REASONS[self.answer.stop]

    def usage_body(self, output_tokens: int) -> dict:
        return {
            "input_tokens": self.billing.input_tokens,
            "cache_creation_input_tokens": self.billing.cache_write_tokens + self.billing.cache_write_1h_tokens,
            "cache_read_input_tokens": self.billing.cache_read_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.billing.cache_write_tokens,
                "ephemeral_1h_input_tokens": self.billing.cache_write_1h_tokens,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


def tool_input(arguments: str) -> dict:
    """Return the parsed tool input; a call cut short by max_tokens has none."""
    try:
        return orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}


def message_body(plan: MessagePlan) -> dict:
    """Return the non-streamed Message object."""
    answer = plan.answer
    if answer.tool_name is not None:
        content = [
            {"type": "tool_use", "id": plan.tool_use_id, "name": answer.tool_name, "input": tool_input(answer.text)}
        ]
    else:
        content = [{"type": "text", "text": "".join(block)} for block in plan.text_block_pieces]
    return {
        "id": plan.message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": answer.stop_sequence,
        "usage": plan.usage_body(answer.output_tokens),
    }


def sse_event(event_type: bytes, data: dict) -> bytes:
    """Return one named server-sent event."""
    return b"event: " + event_type + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def message_events(plan: MessagePlan) -> list[tuple[bytes, int]]:
    """Return the SSE events of a streamed message, each with the output tokens it carries."""
    answer = plan.answer
    opening_message = {
        "id": plan.message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": plan.usage_body(output_tokens=1),
    }
    if answer.tool_name is not None:
        opening_block = {"type": "tool_use", "id": plan.tool_use_id, "name": answer.tool_name, "input": {}}
        blocks = [(opening_block, [{"type": "input_json_delta", "partial_json": piece} for piece in answer.pieces])]
    else:
        blocks = [
            ({"type": "text", "text": ""}, [{"type": "text_delta", "text": piece} for piece in block])
            for block in plan.text_block_pieces
        ]
    events = [(sse_event(b"message_start", {"type": "message_start", "message": opening_message}), 0)]
    for index, (opening_block, deltas) in enumerate(blocks):
        start = {"type": "content_block_start", "index": index, "content_block": opening_block}
        events.append((sse_event(b"content_block_start", start), 0))
        if index == 0:
            events.append((sse_event(b"ping", {"type": "ping"}), 0))
        events.extend(
            (sse_event(b"content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}), 1)
            for delta in deltas
        )
        events.append((sse_event(b"content_block_stop", {"type": "content_block_stop", "index": index}), 0))
    closing_usage = plan.usage_body(answer.output_tokens)
    del closing_usage["service_tier"], closing_usage["cache_creation"]
    events += [
        (
            sse_event(
                b"message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": plan.stop_reason, "stop_sequence": answer.stop_sequence},
                    "usage": closing_usage,
                },
            ),
            0,
        ),
        (sse_event(b"message_stop", {"type": "message_stop"}), 0),
    ]
    return events


async def messages(request: web.Request) -> web.StreamResponse:
    """Answer POST /v1/messages."""
    exchange = request[EXCHANGE_KEY]
    payload = exchange.payload
    api_key = request_api_key(request)
    if not api_key:
        return exchange.error(401, "x-api-key header is required")
    if not request.headers.get("anthropic-version"):
        return exchange.error(400, "anthropic-version: header is required")
    if not isinstance(payload, dict):
        return exchange.error(400, "The request body must be a JSON object.")
    for required in ("model", "max_tokens", "messages"):
        if required not in payload:
            return exchange.error(400, f"{required}: Field required")
    if not isinstance(payload["messages"], list) or not payload["messages"]:
        return exchange.error(400, "messages: at least one message is required")

    model = payload["model"]
    prompt_text, after_tool_result = last_turn(payload["messages"])
    tool_name = chosen_tool(payload, prompt_text, after_tool_result=after_tool_result)
    if tool_name is not None:
        schema = schema_of_tool(payload["tools"], tool_name, key="input_schema")
        answer = tool_answer(tool_name, prompt_text, max_tokens=payload["max_tokens"], schema=schema)
    else:
        answer = text_answer(
            prompt_text,
            filler_words=exchange.filler_words,
            answer_text=exchange.scripted_answer(prompt_text),
            max_tokens=payload["max_tokens"],
            stop_sequences=payload.get("stop_sequences"),
        )
    cache = exchange.state.anthropic_cache
    minimum = anthropic_cache_minimum(payload["model"], cache.min_tokens)
    billing = cache.bill(api_key=api_key, segments=prompt_segments(payload), min_tokens=minimum)
    plan = MessagePlan(
        message_id=f"msg_{uuid.uuid4().hex[:24]}",
        model=model,
        answer=answer,
        billing=billing,
        tool_use_id=f"toolu_{uuid.uuid4().hex[:24]}",
        text_blocks=exchange.fault.text_blocks if exchange.fault is not None else 1,
    )

    def usage_record(output_tokens: int, *, stream: bool, completed: bool) -> UsageRecord:
        return UsageRecord(
            provider="anthropic",
            path=request.path,
            model=model,
            api_key=api_key,
            input_tokens=billing.input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=billing.cache_read_tokens,
            cache_write_tokens=billing.cache_write_tokens,
            cache_write_1h_tokens=billing.cache_write_1h_tokens,
            stream=stream,
            completed=completed,
        )

    if not payload.get("stream"):
        return exchange.json_response(
            message_body(plan), usage_record(answer.output_tokens, stream=False, completed=True)
        )
    response, outcome = await send_event_stream(exchange, message_events(plan))
    exchange.state.record_usage(usage_record(outcome.output_tokens, stream=True, completed=outcome.completed))
    return response


async def models(request: web.Request) -> web.StreamResponse:
    """Answer GET /v1/models for an Anthropic client."""
    exchange = request[EXCHANGE_KEY]
    data = [
        {"type": "model", "id": model, "display_name": model, "created_at": "2025-01-01T00:00:00Z"} for model in MODELS
    ]
    return exchange.json_response(
        {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    )


async def count_tokens(request: web.Request) -> web.StreamResponse:
    """Answer POST /v1/messages/count_tokens with the same estimate /v1/messages bills."""
    exchange = request[EXCHANGE_KEY]
    payload = exchange.payload
    if not request_api_key(request):
        return exchange.error(401, "x-api-key header is required")
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        return exchange.error(400, "messages: Field required")
    return exchange.json_response({"input_tokens": sum(segment.tokens for segment in prompt_segments(payload))})
