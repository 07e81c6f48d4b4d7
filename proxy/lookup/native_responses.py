"""Responses API answers in the cache: which may be stored, and a stored one replayed as typed events.

A response is kept when it completed and holds only messages, function calls and reasoning
summaries: built-in tools (web search, file search, code interpreter, computer use) report what
the provider looked up or ran for that request, and an encrypted reasoning item belongs to it.
"""

import orjson

from proxy.lookup.replay import WORDS_PER_CHUNK, _pieces

STORABLE_ITEMS = frozenset({"message", "function_call", "reasoning"})


def storable_response(response):
    if not isinstance(response, dict) or response.get("status") != "completed":
        return False
    output = response.get("output")
    return isinstance(output, list) and all(
        isinstance(item, dict) and item.get("type") in STORABLE_ITEMS and not item.get("encrypted_content")
        for item in output
    )


class _Events:
    def __init__(self):
        self.events = []

    def add(self, name, **payload):
        body = orjson.dumps({"type": name, "sequence_number": len(self.events), **payload})
        self.events.append(b"event: " + name.encode() + b"\ndata: " + body + b"\n\n")


def replay_events(response):
    """Return the SSE bytes of a stored response, in the order OpenAI streams one."""
    events = _Events()
    in_progress = {**response, "status": "in_progress", "output": [], "usage": None}
    events.add("response.created", response=in_progress)
    events.add("response.in_progress", response=in_progress)
    for index, item in enumerate(response.get("output") or ()):
        if item.get("type") == "message":
            _replay_message(events, index, item)
        elif item.get("type") == "function_call":
            _replay_function_call(events, index, item)
        else:
            events.add("response.output_item.added", output_index=index, item=item)
        events.add("response.output_item.done", output_index=index, item=item)
    events.add("response.completed", response=response)
    return events.events


def _replay_message(events, index, item):
    events.add("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
    for part_index, part in enumerate(item.get("content") or ()):
        where = {"item_id": item.get("id"), "output_index": index, "content_index": part_index}
        if part.get("type") != "output_text":
            events.add("response.content_part.added", **where, part=part)
            events.add("response.content_part.done", **where, part=part)
            continue
        events.add("response.content_part.added", **where, part={**part, "text": ""})
        for piece in _pieces(part.get("text") or "", WORDS_PER_CHUNK):
            events.add("response.output_text.delta", **where, delta=piece, logprobs=[])
        events.add("response.output_text.done", **where, text=part.get("text") or "", logprobs=[])
        events.add("response.content_part.done", **where, part=part)


def _replay_function_call(events, index, item):
    events.add(
        "response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""}
    )
    where = {"item_id": item.get("id"), "output_index": index}
    events.add("response.function_call_arguments.delta", **where, delta=item.get("arguments") or "")
    events.add("response.function_call_arguments.done", **where, arguments=item.get("arguments") or "")
