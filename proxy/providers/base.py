"""What every provider module offers the pipeline."""

from dataclasses import dataclass, field


@dataclass
class StreamOutcome:
    """What a relayed stream left behind: usage, whether it ended properly, the assembled answer."""

    usage: dict | None = None
    finished: bool = False
    finish_reason: str | None = None
    content_parts: list = field(default_factory=list)
    tool_calls: dict = field(default_factory=dict)

    refused: bool = False

    def add_delta(self, delta):
        """Fold one OpenAI chunk delta into the assembled message."""
        if delta.get("refusal"):
            self.refused = True
        content = delta.get("content")
        if content:
            self.content_parts.append(content)
        for call in delta.get("tool_calls") or ():
            slot = self.tool_calls.setdefault(
                call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                slot["function"]["name"] += function["name"]
            if function.get("arguments"):
                slot["function"]["arguments"] += function["arguments"]

    def assembled_message(self):
        message = {"role": "assistant", "content": "".join(self.content_parts) if self.content_parts else None}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[index] for index in sorted(self.tool_calls)]
        return message

    def completion_text(self):
        """Return the answer's text (content and tool arguments), for estimating tokens."""
        arguments = "".join(call["function"]["arguments"] for call in self.tool_calls.values())
        return "".join(self.content_parts) + arguments
