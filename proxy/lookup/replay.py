"""Serving a cached answer: as JSON, or replayed as a well-formed stream of several chunks."""

import time

import orjson

from proxy.providers.sse import DONE_EVENT, data_event

WORDS_PER_CHUNK = 4
ARGUMENT_CHARS_PER_CHUNK = 32


def _pieces(text, size_in_words):
    words = text.split(" ")
    return [
        " ".join(words[index : index + size_in_words]) + (" " if index + size_in_words < len(words) else "")
        for index in range(0, len(words), size_in_words)
    ]


def replay_stream(response, *, include_usage):
    """Return the SSE bytes of a stored chat.completion: role, content pieces, tool-call deltas, finish, usage, DONE."""
    base = {
        "id": response.get("id") or f"chatcmpl-{time.time_ns():x}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": response.get("model"),
        "system_fingerprint": None,
    }
    events = []

    def chunk(choices, **extra):
        events.append(data_event(orjson.dumps({**base, "choices": choices, **extra})))

    for choice in response.get("choices") or ():
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        chunk(
            [{"index": index, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}]
        )
        if message.get("content"):
            for piece in _pieces(message["content"], WORDS_PER_CHUNK):
                chunk([{"index": index, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}])
        for position, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") or {}
            chunk(
                [
                    {
                        "index": index,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": position,
                                    "id": call.get("id"),
                                    "type": "function",
                                    "function": {"name": function.get("name"), "arguments": ""},
                                }
                            ]
                        },
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ]
            )
            arguments = function.get("arguments") or ""
            for start in range(0, len(arguments), ARGUMENT_CHARS_PER_CHUNK):
                piece = arguments[start : start + ARGUMENT_CHARS_PER_CHUNK]
                chunk(
                    [
                        {
                            "index": index,
                            "delta": {"tool_calls": [{"index": position, "function": {"arguments": piece}}]},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                )
        chunk([{"index": index, "delta": {}, "logprobs": None, "finish_reason": choice.get("finish_reason") or "stop"}])
    if include_usage:
        chunk([], usage=response.get("usage"))
    events.append(DONE_EVENT)
    return events


def completion_from_stream(outcome, *, model, created):
    """Build the chat.completion a finished stream amounts to, for storing; None unless it ended properly."""
    if outcome.refused or not outcome.finished or outcome.finish_reason not in ("stop", "tool_calls", "length"):
        return None
    return {
        "id": f"chatcmpl-{time.time_ns():x}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": outcome.assembled_message(),
                "finish_reason": outcome.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": outcome.usage,
    }
