"""OpenAI's API as the fake plays it: chat completions (plain and streamed), embeddings, models."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from . import anthropic_api
from .answers import Answer, relevant_tool, schema_of_tool, structured_text, text_answer, tool_answer
from .caching import CHARS_PER_TOKEN, estimate_tokens
from .delivery import EXCHANGE_KEY, send_event_stream
from .records import UsageRecord

DEFAULT_EMBEDDING_DIMENSIONS = 8
FINISH_REASONS = {"end": "stop", "stop_sequence": "stop", "length": "length", "tool_call": "tool_calls"}
MODELS = (
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-nano",
    "gpt-4o",
    "gpt-4o-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
)
# Models with a flex tier (service_tier "flex", billed at half price); others refuse it with a 400.
FLEX_MODELS = frozenset(
    {"gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "o3", "o4-mini"}
)
DATED_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def offers_flex(model: str) -> bool:
    """Return True for a flex model, or a dated version of one ("o3-2025-04-16")."""
    return DATED_SUFFIX.sub("", model) in FLEX_MODELS


def bearer_api_key(request: web.Request) -> str:
    """Return the key from an `Authorization: Bearer` header, or ""."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def message_text(content: Any) -> str:
    """Return the text of a message's content, joining the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text") or ""
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return ""


def last_turn(messages: list) -> tuple[str, bool]:
    """Return the text of the last user or tool message, and whether it was a tool result."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in ("user", "tool"):
            return message_text(message.get("content")), message.get("role") == "tool"
    return "", False


def chosen_tool(payload: dict, prompt_text: str, *, after_tool_result: bool) -> str | None:
    """Return the name of the tool the fake model calls, or None to answer in text."""
    names = [(tool.get("function") or {}).get("name") for tool in payload.get("tools") or () if isinstance(tool, dict)]
    names = [name for name in names if name]
    tool_choice = payload.get("tool_choice", "auto")
    if not names or tool_choice == "none":
        return None
    if isinstance(tool_choice, dict):
        forced_name = (tool_choice.get("function") or {}).get("name")
        if forced_name:
            return forced_name
    if tool_choice == "required":
        return names[0]
    # A tool result is the model's cue to answer, which keeps agent loops in tests finite.
    if after_tool_result:
        return None
    return relevant_tool([tool.get("function") for tool in payload["tools"] if isinstance(tool, dict)], prompt_text)


@dataclass(frozen=True)
class ChatPlan:
    """Everything that fixes one chat completion's answer and billing."""

    completion_id: str
    created: int
    model: str
    answer: Answer
    choice_count: int
    prompt_tokens: int
    cached_tokens: int
    tool_call_id: str
    service_tier: str = "default"

    @property
    def finish_reason(self) -> str:
        return FINISH_REASONS[self.answer.stop]

    def usage_body(self, completion_tokens: int | None = None) -> dict:
        if completion_tokens is None:
            completion_tokens = self.answer.output_tokens * self.choice_count
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


def completion_body(plan: ChatPlan) -> dict:
    """Return the non-streamed chat.completion object."""
    answer = plan.answer
    if answer.tool_name is not None:
        message = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": plan.tool_call_id,
                    "type": "function",
                    "function": {"name": answer.tool_name, "arguments": answer.text},
                }
            ],
        }
    else:
        message = {"role": "assistant", "content": answer.text, "refusal": None, "annotations": []}
    return {
        "id": plan.completion_id,
        "object": "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "choices": [
            {"index": index, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}
            for index in range(plan.choice_count)
        ],
        "usage": plan.usage_body(),
        "service_tier": plan.service_tier,
        "system_fingerprint": "fp_fake",
    }


def completion_chunks(plan: ChatPlan, *, include_usage: bool) -> list[tuple[bytes, int]]:
    """Return the SSE events of a streamed completion, each with the output tokens it carries."""
    envelope = {
        "id": plan.completion_id,
        "object": "chat.completion.chunk",
        "created": plan.created,
        "model": plan.model,
        "service_tier": plan.service_tier,
        "system_fingerprint": "fp_fake",
        "choices": None,
    }
    if include_usage:
        envelope["usage"] = None  # The real API sends usage: null on every chunk but the last.

    def event(choice_index: int, delta: dict, finish_reason: str | None = None) -> bytes:
        envelope["choices"] = [
            {"index": choice_index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        ]
        return b"data: " + orjson.dumps(envelope) + b"\n\n"

    answer = plan.answer
    chunks: list[tuple[bytes, int]] = []
    for choice_index in range(plan.choice_count):
        if answer.tool_name is not None:
            chunks.append((event(choice_index, {"role": "assistant", "content": None}), 0))
            opening_call = {
                "index": 0,
                "id": plan.tool_call_id,
                "type": "function",
                "function": {"name": answer.tool_name, "arguments": ""},
            }
            chunks.append((event(choice_index, {"tool_calls": [opening_call]}), 0))
            for fragment in answer.pieces:
                fragment_delta = {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}
                chunks.append((event(choice_index, fragment_delta), 1))
        else:
            chunks.append((event(choice_index, {"role": "assistant", "content": "", "refusal": None}), 0))
            for piece in answer.pieces:
                chunks.append((event(choice_index, {"content": piece}), 1))
        chunks.append((event(choice_index, {}, plan.finish_reason), 0))
    if include_usage:
        envelope["choices"] = []
        envelope["usage"] = plan.usage_body()
        chunks.append((b"data: " + orjson.dumps(envelope) + b"\n\n", 0))
    chunks.append((b"data: [DONE]\n\n", 0))
    return chunks


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """Answer POST /v1/chat/completions."""
    exchange = request[EXCHANGE_KEY]
    payload = exchange.payload
    api_key = bearer_api_key(request)
    if not api_key:
        return exchange.error(401, "You didn't provide an API key (Authorization: Bearer ...).")
    if not isinstance(payload, dict):
        return exchange.error(400, "The request body must be a JSON object.")
    model = payload.get("model")
    if not model:
        return exchange.error(400, "you must provide a model parameter")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return exchange.error(400, "'messages' is a required property and must be a non-empty array.")
    service_tier = "default"
    if payload.get("service_tier") == "flex":
        if not offers_flex(model):
            return exchange.error(400, f"Flex processing is not available for model {model!r}.")
        service_tier = "flex"

    prompt_text, after_tool_result = last_turn(messages)
    max_tokens = payload.get("max_completion_tokens") or payload.get("max_tokens")
    tool_name = chosen_tool(payload, prompt_text, after_tool_result=after_tool_result)
    if tool_name is not None:
        answer = tool_answer(
            tool_name,
            prompt_text,
            max_tokens=max_tokens,
            schema=schema_of_tool(
                [tool.get("function") for tool in payload["tools"] if isinstance(tool, dict)],
                tool_name,
                key="parameters",
            ),
        )
    else:
        stop = payload.get("stop")
        structured = structured_text(payload.get("response_format"), prompt_text)
        answer = text_answer(
            prompt_text,
            filler_words=0 if structured else exchange.filler_words,
            answer_text=scripted if (scripted := exchange.scripted_answer(prompt_text)) is not None else structured,
            max_tokens=max_tokens,
            stop_sequences=[stop] if isinstance(stop, str) else list(stop or ()),
        )
    # The serialised tools and messages stand in for the tokenised prompt, for counting and caching.
    prompt = orjson.dumps([payload.get("tools") or [], messages])
    prompt_tokens = len(prompt) // CHARS_PER_TOKEN + 1
    plan = ChatPlan(
        completion_id=f"chatcmpl-{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        model=model,
        answer=answer,
        choice_count=max(int(payload.get("n") or 1), 1),
        prompt_tokens=prompt_tokens,
        cached_tokens=exchange.state.openai_cache.cached_tokens(
            api_key=api_key, prompt=prompt, prompt_tokens=prompt_tokens
        ),
        tool_call_id=f"call_{uuid.uuid4().hex[:24]}",
        service_tier=service_tier,
    )

    def usage_record(output_tokens: int, *, stream: bool, completed: bool) -> UsageRecord:
        return UsageRecord(
            provider="openai",
            path=request.path,
            model=model,
            api_key=api_key,
            input_tokens=plan.prompt_tokens - plan.cached_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=plan.cached_tokens,
            stream=stream,
            completed=completed,
            service_tier=plan.service_tier,
        )

    if not payload.get("stream"):
        full_output = answer.output_tokens * plan.choice_count
        return exchange.json_response(completion_body(plan), usage_record(full_output, stream=False, completed=True))
    include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
    response, outcome = await send_event_stream(exchange, completion_chunks(plan, include_usage=include_usage))
    exchange.state.record_usage(usage_record(outcome.output_tokens, stream=True, completed=outcome.completed))
    return response


def embedding_vector(item: bytes, dimensions: int) -> list[float]:
    """Return a deterministic unit vector derived from the input's hash."""
    digest = hashlib.shake_256(item).digest(4 * dimensions)
    raw = [value / 2**31 - 1.0 for value in struct.unpack(f"<{dimensions}I", digest)]
    norm = sum(component * component for component in raw) ** 0.5 or 1.0
    return [component / norm for component in raw]


async def embeddings(request: web.Request) -> web.StreamResponse:
    """Answer POST /v1/embeddings."""
    exchange = request[EXCHANGE_KEY]
    payload = exchange.payload
    api_key = bearer_api_key(request)
    if not api_key:
        return exchange.error(401, "You didn't provide an API key (Authorization: Bearer ...).")
    if not isinstance(payload, dict) or not payload.get("model") or "input" not in payload:
        return exchange.error(400, "'model' and 'input' are required properties.")
    raw_input = payload["input"]
    if isinstance(raw_input, str) or (
        isinstance(raw_input, list) and raw_input and all(isinstance(value, int) for value in raw_input)
    ):
        inputs = [raw_input]  # One string, or one token array.
    elif isinstance(raw_input, list) and raw_input and all(isinstance(item, str | list) for item in raw_input):
        inputs = raw_input
    else:
        return exchange.error(400, "'input' must be a non-empty string or array.")

    dimensions = payload.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        return exchange.error(400, "Invalid type for 'dimensions': expected a positive integer.")
    as_base64 = payload.get("encoding_format") == "base64"
    data = []
    prompt_tokens = 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            item_bytes, prompt_tokens = item.encode(), prompt_tokens + estimate_tokens(item)
        else:
            item_bytes, prompt_tokens = orjson.dumps(item), prompt_tokens + len(item)
        vector = embedding_vector(item_bytes, dimensions)
        if as_base64:
            encoded: Any = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        else:
            encoded = vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    body = {
        "object": "list",
        "data": data,
        "model": payload["model"],
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
    usage = UsageRecord(
        provider="openai",
        path=request.path,
        model=payload["model"],
        api_key=api_key,
        input_tokens=prompt_tokens,
        output_tokens=0,
    )
    return exchange.json_response(body, usage)


async def models(request: web.Request) -> web.StreamResponse:
    """Answer GET /v1/models, in Anthropic's shape when the request carries anthropic-version."""
    if "anthropic-version" in request.headers:
        return await anthropic_api.models(request)
    exchange = request[EXCHANGE_KEY]
    body = {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 1700000000, "owned_by": "fake-provider"} for model in MODELS
        ],
    }
    return exchange.json_response(body)
