"""The fake model: deterministic answers, cut into the pieces that stream out one per token."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from .schema_instance import instance_of

# A word with the whitespace before it: joining the pieces gives back the text, so a streamed
# answer concatenates to exactly the non-streamed one.
WORD_PIECE = re.compile(r"\s*\S+")
# Tool-call arguments stream in fragments this long, each counted as one output token.
ARGUMENT_FRAGMENT_CHARS = 4
TOOL_TRIGGER = "use the tool"
TOOL_WORD = re.compile(r"[a-z]+")
CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")
QUOTED_KEY = re.compile(r"['\"]([A-Za-z_][A-Za-z0-9_]{0,40})['\"]")


@dataclass(frozen=True)
class Answer:
    """What the fake model says: either text or one tool call, as output-token pieces."""

    pieces: list[str]
    # "end" (natural end), "length" (max tokens reached), "stop_sequence" or "tool_call".
    stop: str
    stop_sequence: str | None = None
    tool_name: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def output_tokens(self) -> int:
        return len(self.pieces)


def text_answer(
    prompt_text: str,
    *,
    filler_words: int = 0,
    max_tokens: int | None = None,
    stop_sequences: list[str] | None = None,
    answer_text: str | None = None,
) -> Answer:
    """Return "Echo: <prompt_text>" or `answer_text` (plus filler), cut at a stop sequence or at max_tokens."""
    text = "Echo: " + prompt_text if answer_text is None else answer_text
    if filler_words:
        text += "".join(f" w{index}" for index in range(filler_words))
    stop = "end"
    matched_sequence = None
    earliest_position = len(text)
    for sequence in stop_sequences or ():
        position = text.find(sequence) if sequence else -1
        if position != -1 and position < earliest_position:
            earliest_position, matched_sequence = position, sequence
    if matched_sequence is not None:
        text, stop = text[:earliest_position], "stop_sequence"
    pieces = split_into_pieces(text)
    if max_tokens is not None and len(pieces) > max_tokens:
        pieces, stop, matched_sequence = pieces[: max(max_tokens, 0)], "length", None
    return Answer(pieces=pieces, stop=stop, stop_sequence=matched_sequence)


def split_into_pieces(text: str) -> list[str]:
    """Split text into word pieces that join back to exactly the text."""
    pieces = WORD_PIECE.findall(text)
    trailing_whitespace = text[len(text.rstrip()) :]
    if trailing_whitespace:
        if pieces:
            pieces[-1] += trailing_whitespace
        else:
            pieces.append(trailing_whitespace)
    return pieces


def tool_answer(tool_name: str, prompt_text: str, *, max_tokens: int | None = None, schema=None) -> Answer:
    """Return a call of `tool_name`, cut at max_tokens.

    Its arguments are valid under the tool's `schema` when it lists properties, else {"query": prompt_text}.
    """
    # A schema that names its properties (even none) is followed; a free-form object gets {"query": ...}.
    valid = instance_of(schema, prompt_text) if isinstance(schema, dict) and "properties" in schema else None
    arguments = orjson.dumps(valid if valid is not None else {"query": prompt_text}).decode()
    pieces = [
        arguments[start : start + ARGUMENT_FRAGMENT_CHARS]
        for start in range(0, len(arguments), ARGUMENT_FRAGMENT_CHARS)
    ]
    stop = "tool_call"
    if max_tokens is not None and len(pieces) > max_tokens:
        pieces, stop = pieces[: max(max_tokens, 0)], "length"
    return Answer(pieces=pieces, stop=stop, tool_name=tool_name)


def schema_of_tool(tools, name: str, *, key: str):
    """Return the schema at `key` of the tool called `name` in a request's tools, or None."""
    for tool in tools or ():
        if isinstance(tool, dict) and tool.get("name") == name:
            return tool.get(key)
    return None


def structured_text(text_format, prompt_text: str) -> str | None:
    """Return the JSON a requested format asks for (OpenAI's json_schema or json_object), or None for text.

    `text_format` is chat's `response_format` or the Responses API's `text.format`; their json_schema
    carries the schema at `json_schema.schema` and at `schema` respectively.
    """
    if not isinstance(text_format, dict):
        return None
    if text_format.get("type") == "json_schema":
        schema = (text_format.get("json_schema") or {}).get("schema") or text_format.get("schema") or {}
        return orjson.dumps(instance_of(schema, prompt_text)).decode()
    if text_format.get("type") == "json_object":
        # As a model would, an object with the keys the prompt asks for by name ('setup' and 'punchline').
        asked = QUOTED_KEY.findall(prompt_text)
        return orjson.dumps(
            {key: f"Echo: {prompt_text}" for key in asked} or {"answer": "Echo: " + prompt_text}
        ).decode()
    return None


def relevant_tool(tools, prompt_text: str) -> str | None:
    """Return the name of the tool (dicts with a name and maybe a description) the prompt calls for, or None."""
    named = [tool for tool in tools or () if isinstance(tool, dict) and tool.get("name")]
    for tool in named:
        if wants_tool(prompt_text, f"{tool['name']} {tool.get('description') or ''}"):
            return tool["name"]
    return None


def wants_tool(prompt_text: str, tool_words: str = "") -> bool:
    """Return True when the prompt asks for a tool in so many words, or names what a tool is for.

    `tool_words` are the tool's name and description: "get_weather" is called for "What is the
    weather in Paris?", as a model would, while "Say hello" with the same tool gets text.
    """
    lowered = prompt_text.lower()
    if TOOL_TRIGGER in lowered:
        return True
    named = {word for word in TOOL_WORD.findall(CAMEL_HUMP.sub(" ", tool_words).lower()) if len(word) >= 5}
    return bool(named & set(TOOL_WORD.findall(lowered)))
