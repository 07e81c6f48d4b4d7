"""Anthropic-native answers in the cache: a streamed Message rebuilt to be stored, a stored one replayed.

An answer is kept only when it holds text and tool-use blocks alone (thinking blocks carry
signatures bound to their request; citations and server tools refer to what the provider looked
up) and ended normally.
"""

import orjson

from proxy.lookup.replay import WORDS_PER_CHUNK, _pieces

STORABLE_STOP_REASONS = frozenset({"end_turn", "stop_sequence", "max_tokens", "tool_use"})
STORABLE_BLOCKS = frozenset({"text", "tool_use"})


def storable_message(message):
    """Return whether a whole Messages answer may be stored and replayed to another request."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return False
    content = message.get("content")
    return (
        message.get("stop_reason") in STORABLE_STOP_REASONS
        and isinstance(content, list)
        and all(isinstance(block, dict) and block.get("type") in STORABLE_BLOCKS for block in content)
    )


class MessageAssembler:
    """Rebuilds the Message a native stream carried, from its events, as they pass."""

    def __init__(self):
        self._message = None
        self._blocks = {}
        self._partial_json = {}
        self._unsupported = False

    def take(self, name, event):
        if name == "message_start":
            self._message = dict(event.get("message") or {})
        elif name == "content_block_start":
            block = dict(event.get("content_block") or {})
            self._unsupported |= block.get("type") not in STORABLE_BLOCKS
            self._blocks[event.get("index")] = block
        elif name == "content_block_delta":
            self._add_delta(event.get("index"), event.get("delta") or {})
        elif name == "content_block_stop":
            index = event.get("index")
            if index in self._partial_json:
                try:
                    self._blocks[index]["input"] = orjson.loads("".join(self._partial_json.pop(index)) or "{}")
                except (orjson.JSONDecodeError, KeyError):
                    self._unsupported = True
        elif name == "message_delta" and self._message is not None:
            self._message.update(event.get("delta") or {})
            usage = {key: value for key, value in (event.get("usage") or {}).items() if value is not None}
            self._message["usage"] = {**(self._message.get("usage") or {}), **usage}

    def message(self):
        """Return the whole Message, or None when the stream held something that is not stored."""
        if self._unsupported or self._message is None:
            return None
        message = {**self._message, "content": [self._blocks[index] for index in sorted(self._blocks)]}
        return message if storable_message(message) else None

    def _add_delta(self, index, delta):
        block = self._blocks.get(index)
        if block is None:
            self._unsupported = True
        elif delta.get("type") == "text_delta":
            block["text"] = block.get("text", "") + (delta.get("text") or "")
        elif delta.get("type") == "input_json_delta":
            self._partial_json.setdefault(index, []).append(delta.get("partial_json") or "")
        else:
            self._unsupported = True


def replay_events(message):
    """Return the SSE bytes of a stored Message, event by event as Anthropic streams one."""
    events = []

    def event(name, payload):
        events.append(b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **payload}) + b"\n\n")

    usage = message.get("usage") or {}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    event("message_start", {"message": {**start, "usage": {**usage, "output_tokens": 0}}})
    for index, block in enumerate(message.get("content") or ()):
        if block.get("type") == "text":
            event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            for piece in _pieces(block.get("text") or "", WORDS_PER_CHUNK):
                event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
        else:
            event("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
            arguments = orjson.dumps(block.get("input") or {}).decode()
            event(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": arguments}},
            )
        event("content_block_stop", {"index": index})
    stop = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    event("message_delta", {"delta": stop, "usage": {"output_tokens": usage.get("output_tokens", 0)}})
    event("message_stop", {})
    return events
