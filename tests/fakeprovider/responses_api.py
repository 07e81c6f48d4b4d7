"""OpenAI's Responses API as the fake plays it: POST /v1/responses, whole or as typed SSE events."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from .answers import Answer, relevant_tool, schema_of_tool, structured_text, text_answer, tool_answer
from .caching import CHARS_PER_TOKEN
from .delivery import EXCHANGE_KEY, send_event_stream
from .openai_api import bearer_api_key, message_text
from .records import UsageRecord


def input_items(payload: dict) -> list | None:
    """Return `input` as a list of items (a string is one user message), or None when it is neither."""
    raw = payload.get("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    return raw if isinstance(raw, list) else None


def last_user_text(items: list) -> tuple[str, bool]:
    """Return the last user message's text, and whether a function-call output came after it."""
    for item in reversed(items):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            return str(item.get("output") or ""), True
        if item.get("role") == "user":
            return message_text(item.get("content")), False
    return "", False


def chosen_function(payload: dict, prompt_text: str, *, after_output: bool) -> str | None:
    names = [tool.get("name") for tool in payload.get("tools") or () if isinstance(tool, dict)]
    names = [name for name in names if name]
    tool_choice = payload.get("tool_choice")
    if not names or tool_choice == "none" or after_output:
        return None
    if isinstance(tool_choice, dict) and tool_choice.get("name") in names:
        return tool_choice["name"]
    if tool_choice == "required":
        return names[0]
    return relevant_tool(payload.get("tools"), prompt_text)


def output_item(answer: Answer, *, item_id: str, call_id: str) -> dict:
    if answer.tool_name is not None:
        return {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": answer.tool_name,
            "arguments": answer.text,
            "status": "completed",
        }
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}],
    }


def response_body(payload: dict, *, response_id: str, model: str, status: str, output: list, usage: dict | None):
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "previous_response_id": payload.get("previous_response_id"),
        "store": payload.get("store", True),
        "temperature": payload.get("temperature", 1.0),
        "text": payload.get("text") or {"format": {"type": "text"}},
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools") or [],
        "top_p": payload.get("top_p", 1.0),
        "truncation": payload.get("truncation", "disabled"),
        "usage": usage,
        "metadata": payload.get("metadata") or {},
    }


def usage_body(prompt_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt_tokens + output_tokens,
    }


def event(name: str, sequence: int, payload: dict[str, Any]) -> bytes:
    body = orjson.dumps({"type": name, "sequence_number": sequence, **payload})
    return b"event: " + name.encode() + b"\ndata: " + body + b"\n\n"


def stream_events(payload: dict, answer: Answer, final: dict) -> list[tuple[bytes, int]]:
    """The typed events of one answer, each with the output tokens it carries."""
    item = final["output"][0]
    in_progress = {**final, "status": "in_progress", "output": [], "usage": None}
    events = [(event("response.created", 0, {"response": in_progress}), 0)]
    events.append((event("response.in_progress", 1, {"response": in_progress}), 0))
    if item["type"] == "message":
        started = {**item, "status": "in_progress", "content": []}
        events.append((event("response.output_item.added", 2, {"output_index": 0, "item": started}), 0))
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
        events.append((event("response.content_part.added", 3, {**where, "part": part}), 0))
        sequence = 4
        for piece in answer.pieces:
            events.append((event("response.output_text.delta", sequence, {**where, "delta": piece, "logprobs": []}), 1))
            sequence += 1
        events.append((event("response.output_text.done", sequence, {**where, "text": answer.text}), 0))
        events.append((event("response.content_part.done", sequence + 1, {**where, "part": item["content"][0]}), 0))
        sequence += 2
    else:
        started = {**item, "status": "in_progress", "arguments": ""}
        events.append((event("response.output_item.added", 2, {"output_index": 0, "item": started}), 0))
        sequence = 3
        for piece in answer.pieces:
            delta = {"item_id": item["id"], "output_index": 0, "delta": piece}
            events.append((event("response.function_call_arguments.delta", sequence, delta), 1))
            sequence += 1
        done = {"item_id": item["id"], "output_index": 0, "arguments": answer.text}
        events.append((event("response.function_call_arguments.done", sequence, done), 0))
        sequence += 1
    events.append((event("response.output_item.done", sequence, {"output_index": 0, "item": item}), 0))
    events.append((event(f"response.{final['status']}", sequence + 1, {"response": final}), 0))
    return events


async def responses(request: web.Request) -> web.StreamResponse:
    """Answer POST /v1/responses."""
    exchange = request[EXCHANGE_KEY]
    payload = exchange.payload
    api_key = bearer_api_key(request)
    if not api_key:
        return exchange.error(401, "You didn't provide an API key (Authorization: Bearer ...).")
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), str):
        return exchange.error(400, "Missing required parameter: 'model'.")
    items = input_items(payload)
    if items is None:
        return exchange.error(400, "Invalid type for 'input': expected a string or an array of input items.")
    model = payload["model"]
    prompt_text, after_output = last_user_text(items)
    max_tokens = payload.get("max_output_tokens")
    tool_name = chosen_function(payload, prompt_text, after_output=after_output)
    if tool_name is not None:
        schema = schema_of_tool(payload["tools"], tool_name, key="parameters")
        answer = tool_answer(tool_name, prompt_text, max_tokens=max_tokens, schema=schema)
    else:
        structured = structured_text((payload.get("text") or {}).get("format"), prompt_text)
        answer = text_answer(
            prompt_text,
            filler_words=0 if structured else exchange.filler_words,
            answer_text=scripted if (scripted := exchange.scripted_answer(prompt_text)) is not None else structured,
            max_tokens=max_tokens,
        )
    prompt = orjson.dumps([payload.get("tools") or [], payload.get("instructions") or "", items])
    prompt_tokens = len(prompt) // CHARS_PER_TOKEN + 1
    item = output_item(answer, item_id=f"msg_{uuid.uuid4().hex[:24]}", call_id=f"call_{uuid.uuid4().hex[:24]}")
    status = "incomplete" if answer.stop == "length" else "completed"
    final = response_body(
        payload,
        response_id=f"resp_{uuid.uuid4().hex[:24]}",
        model=model,
        status=status,
        output=[item],
        usage=usage_body(prompt_tokens, answer.output_tokens),
    )

    def usage_record(output_tokens: int, *, stream: bool, completed: bool) -> UsageRecord:
        return UsageRecord(
            provider="openai",
            path=request.path,
            model=model,
            api_key=api_key,
            input_tokens=prompt_tokens,
            output_tokens=output_tokens,
            stream=stream,
            completed=completed,
        )

    if not payload.get("stream"):
        return exchange.json_response(final, usage_record(answer.output_tokens, stream=False, completed=True))
    response, outcome = await send_event_stream(exchange, stream_events(payload, answer, final))
    exchange.state.record_usage(usage_record(outcome.output_tokens, stream=True, completed=outcome.completed))
    return response
