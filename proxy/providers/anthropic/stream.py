"""Translate Anthropic Messages stream events into OpenAI chat.completion.chunk objects."""

from .errors import UpstreamStreamError
from .response import (
    assistant_message,
    chat_completion,
    finish_reason_for,
    normalise_anthropic_usage,
    tool_call,
)


class AnthropicStreamTranslator:
    """Turn the events of one Anthropic stream into OpenAI chunks, remembering the answer.

    Feed every server-sent event in order. The usage and the assembled answer
    stay readable when the stream is cut short, so a cancelled request can
    still be accounted for.
    """

    def __init__(self, model: str, created: int, include_usage: bool, chunk_id: str) -> None:
        self.model = model
        self.created = created
        self.include_usage = include_usage
        self.chunk_id = chunk_id
        self._raw_usage: dict = {}
        self._stop_reason: str | None = None
        self._finished = False
        self._text_parts: list[str] = []
        # One entry per tool call, in the order OpenAI numbers them.
        self._tool_calls: list[dict] = []
        # Anthropic numbers every content block; OpenAI numbers tool calls only.
        self._tool_position_by_block: dict[int, int] = {}

    @property
    def usage(self) -> dict:
        """Return the OpenAI-shaped usage reported so far."""
        return normalise_anthropic_usage(self._raw_usage)

    @property
    def finished(self) -> bool:
        """Return True once message_stop has arrived."""
        return self._finished

    @property
    def finish_reason(self) -> str | None:
        """Return the OpenAI finish_reason, or None before the stop reason is known."""
        if self._stop_reason is None and not self._finished:
            return None
        return finish_reason_for(self._stop_reason)

    def feed(self, event_type: str, data: dict) -> list[dict]:
        """Return the OpenAI chunks produced by one Anthropic event.

        Raise UpstreamStreamError for an `error` event.
        """
        if event_type == "message_start":
            return self._on_message_start(data)
        if event_type == "content_block_start":
            return self._on_content_block_start(data)
        if event_type == "content_block_delta":
            return self._on_content_block_delta(data)
        if event_type == "content_block_stop":
            return self._on_content_block_stop(data)
        if event_type == "message_delta":
            self._on_message_delta(data)
            return []
        if event_type == "message_stop":
            return self._on_message_stop()
        if event_type == "error":
            error = data.get("error") or {}
            raise UpstreamStreamError(
                error.get("message") or "Anthropic stream error", error.get("type") or "api_error"
            )
        # "ping" carries nothing, and Anthropic may add event types that
        # clients are expected to ignore.
        return []

    def assembled_message(self) -> dict:
        """Return the OpenAI assistant message (content and tool_calls) streamed so far."""
        tool_calls = [
            tool_call(
                tool_call_id=streamed["id"],
                name=streamed["name"],
                arguments="".join(streamed["argument_parts"]),
            )
            for streamed in self._tool_calls
        ]
        return assistant_message(text="".join(self._text_parts), tool_calls=tool_calls)

    def assembled_completion(self) -> dict:
        """Return the chat.completion object equivalent to the stream so far."""
        return chat_completion(
            completion_id=self.chunk_id,
            model=self.model,
            created=self.created,
            message=self.assembled_message(),
            finish_reason=finish_reason_for(self._stop_reason),
            usage=self.usage,
        )

    def _on_message_start(self, data: dict) -> list[dict]:
        message = data.get("message") or {}
        self._update_usage(message.get("usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, data: dict) -> list[dict]:
        block = data.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._text_chunk(block["text"])]
        if block.get("type") != "tool_use":
            return []
        position = len(self._tool_calls)
        self._tool_position_by_block[data.get("index")] = position
        self._tool_calls.append({"id": block["id"], "name": block["name"], "argument_parts": []})
        tool_call_delta = {
            "index": position,
            "id": block["id"],
            "type": "function",
            "function": {"name": block["name"], "arguments": ""},
        }
        return [self._chunk({"tool_calls": [tool_call_delta]})]

    def _on_content_block_delta(self, data: dict) -> list[dict]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._text_chunk(delta["text"])]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            position = self._tool_position_by_block.get(data.get("index"))
            if position is not None:
                return [self._arguments_chunk(position, delta["partial_json"])]
        # Thinking, signature and citation deltas have no chat.completion.chunk field.
        return []

    def _on_content_block_stop(self, data: dict) -> list[dict]:
        position = self._tool_position_by_block.get(data.get("index"))
        if position is None or self._tool_calls[position]["argument_parts"]:
            return []
        # A call without arguments streams no JSON at all, and OpenAI clients
        # json.loads() the arguments, so send the empty object explicitly.
        return [self._arguments_chunk(position, "{}")]

    def _on_message_delta(self, data: dict) -> None:
        delta = data.get("delta") or {}
        if delta.get("stop_reason"):
            self._stop_reason = delta["stop_reason"]
        self._update_usage(data.get("usage"))

    def _on_message_stop(self) -> list[dict]:
        self._finished = True
        chunks = [self._chunk({}, finish_reason=finish_reason_for(self._stop_reason))]
        if self.include_usage:
            chunks.append({**self._chunk_envelope(), "choices": [], "usage": self.usage})
        return chunks

    def _update_usage(self, usage: dict | None) -> None:
        """Merge reported counts; message_delta counts are cumulative, so newer ones win."""
        for key, value in (usage or {}).items():
            if value is not None:
                self._raw_usage[key] = value

    def _text_chunk(self, text: str) -> dict:
        self._text_parts.append(text)
        return self._chunk({"content": text})

    def _arguments_chunk(self, position: int, arguments: str) -> dict:
        self._tool_calls[position]["argument_parts"].append(arguments)
        return self._chunk({"tool_calls": [{"index": position, "function": {"arguments": arguments}}]})

    def _chunk(self, delta: dict, *, finish_reason: str | None = None) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._chunk_envelope(), "choices": [choice]}
        if self.include_usage:
            # OpenAI sends "usage": null on every chunk but the last when usage is requested.
            chunk["usage"] = None
        return chunk

    def _chunk_envelope(self) -> dict:
        return {
            "id": self.chunk_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }
