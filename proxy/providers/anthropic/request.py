"""Translate an OpenAI chat completion request into an Anthropic Messages request."""

import json

from .errors import TranslationError
from .messages import translate_messages

# OpenAI accepts temperatures up to 2.0, Anthropic only up to 1.0. Clamping
# keeps the common 0..1 values exact (scaling would turn 0.7 into 0.35) and
# maps "more random than usual" onto Anthropic's most random setting.
_ANTHROPIC_MAX_TEMPERATURE = 1.0

_JSON_OBJECT_INSTRUCTION = (
    "Respond with a single valid JSON object and nothing else: no prose before or after it and no Markdown code fences."
)

_JSON_SCHEMA_INSTRUCTION = (
    "Respond with a single valid JSON value that conforms to the JSON Schema below "
    "and nothing else: no prose before or after it and no Markdown code fences."
)


def chat_request_to_anthropic(
    body: dict, *, model: str, default_max_tokens: int = 4096, model_accepts_sampling: bool = True
) -> dict:
    """Return the Anthropic Messages request body for an OpenAI chat completion request.

    Raise TranslationError for a request Anthropic cannot honour. OpenAI-only
    options that do not change the answer (penalties, seed, store, ...) are
    dropped. Pass model_accepts_sampling=False for models that answer 400 to
    any temperature or top_p (reported for Opus 4.7+ and Sonnet 5+), so those
    are dropped too. The body targets anthropic-version 2023-06-01; version
    2026-10-21 removed the sampling parameters altogether.
    """
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object.")
    _reject_unsupported_options(body)
    system_blocks, turns = translate_messages(body.get("messages"))
    format_instruction = _response_format_instruction(body.get("response_format"))
    if format_instruction:
        system_blocks.append({"type": "text", "text": format_instruction})

    request: dict = {
        "model": model,
        "max_tokens": _max_tokens(body, default_max_tokens),
        "messages": turns,
    }
    if system_blocks:
        request["system"] = system_blocks
    request.update(_sampling_options(body, model_accepts_sampling=model_accepts_sampling))
    request.update(_tool_options(body))
    if body.get("user"):
        request["metadata"] = {"user_id": str(body["user"])}
    if body.get("stream") is not None:
        request["stream"] = bool(body["stream"])
    return request


def _reject_unsupported_options(body: dict) -> None:
    """Raise TranslationError for options whose effect Anthropic cannot provide."""
    if body.get("n") not in (None, 1):
        raise TranslationError("Anthropic models return a single choice; 'n' must be 1.", "n")
    if body.get("logprobs"):
        raise TranslationError("Anthropic models do not return log probabilities.", "logprobs")
    if body.get("top_logprobs"):
        raise TranslationError("Anthropic models do not return log probabilities.", "top_logprobs")
    if "audio" in (body.get("modalities") or []) or body.get("audio"):
        raise TranslationError("Anthropic models cannot produce audio output.", "modalities")
    for legacy_field in ("functions", "function_call"):
        if body.get(legacy_field):
            raise TranslationError(
                f"Legacy '{legacy_field}' cannot be sent to Anthropic models; use 'tools'.",
                legacy_field,
            )


def _max_tokens(body: dict, default_max_tokens: int) -> int:
    """Return the output token limit; Anthropic requires one on every request."""
    # max_completion_tokens replaces the deprecated max_tokens in OpenAI's API.
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TranslationError(f"'{field}' must be a non-negative integer.", field)
        return value
    return default_max_tokens


def _sampling_options(body: dict, *, model_accepts_sampling: bool) -> dict:
    """Return Anthropic's temperature, top_p and stop_sequences for the request."""
    options: dict = {}
    temperature = _optional_number(body, "temperature")
    top_p = _optional_number(body, "top_p")
    if model_accepts_sampling and temperature is not None:
        options["temperature"] = min(max(temperature, 0.0), _ANTHROPIC_MAX_TEMPERATURE)
    # Claude models since Opus 4.1 and Sonnet 4.5 answer 400 when both are set,
    # and OpenAI clients often send both (often top_p=1, a no-op), so
    # temperature wins.
    if model_accepts_sampling and top_p is not None and temperature is None:
        options["top_p"] = top_p
    stop_sequences = _stop_sequences(body.get("stop"))
    if stop_sequences:
        options["stop_sequences"] = stop_sequences
    return options


def _optional_number(body: dict, field: str) -> float | None:
    """Return a numeric request field, or None when it is absent."""
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TranslationError(f"'{field}' must be a number.", field)
    return value


def _stop_sequences(stop: object) -> list[str]:
    """Return OpenAI's `stop` (a string or a list of strings) as a list."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if not isinstance(stop, list) or not all(isinstance(sequence, str) for sequence in stop):
        raise TranslationError("'stop' must be a string or an array of strings.", "stop")
    return [sequence for sequence in stop if sequence]


def _tool_options(body: dict) -> dict:
    """Return Anthropic's tools and tool_choice for the request."""
    tools = body.get("tools")
    tool_choice = _tool_choice(body.get("tool_choice"))
    if not tools:
        if tool_choice and tool_choice["type"] in ("any", "tool"):
            raise TranslationError("'tool_choice' requires a tool but 'tools' is empty.", "tool_choice")
        return {}
    if not isinstance(tools, list):
        raise TranslationError("'tools' must be an array.", "tools")
    options: dict = {"tools": [_tool(tool, f"tools[{index}]") for index, tool in enumerate(tools)]}
    if body.get("parallel_tool_calls") is False:
        tool_choice = tool_choice or {"type": "auto"}
        if tool_choice["type"] != "none":
            tool_choice["disable_parallel_tool_use"] = True
    if tool_choice:
        options["tool_choice"] = tool_choice
    return options


def _tool(tool: object, param: str) -> dict:
    """Return the Anthropic tool definition for an OpenAI function tool."""
    if not isinstance(tool, dict) or tool.get("type") != "function":
        tool_type = tool.get("type") if isinstance(tool, dict) else None
        raise TranslationError(
            f"Only function tools can be sent to Anthropic models, not {tool_type!r}.",
            f"{param}.type",
        )
    function = tool.get("function")
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError("A function tool needs a name.", f"{param}.function.name")
    # OpenAI lets a function omit its parameters; Anthropic requires an object schema.
    input_schema = function.get("parameters") or {"type": "object", "properties": {}}
    anthropic_tool = {"name": function["name"], "input_schema": input_schema}
    if function.get("description"):
        anthropic_tool["description"] = function["description"]
    # "strict" is dropped: Anthropic's strict tool use is limited to some models
    # and would turn a working request into a 400 on the others.
    if tool.get("cache_control"):
        anthropic_tool["cache_control"] = dict(tool["cache_control"])
    return anthropic_tool


def _tool_choice(tool_choice: object) -> dict | None:
    """Return Anthropic's tool_choice for OpenAI's, or None when it is absent."""
    if tool_choice is None:
        return None
    simple_choices = {"auto": "auto", "required": "any", "none": "none"}
    if isinstance(tool_choice, str) and tool_choice in simple_choices:
        return {"type": simple_choices[tool_choice]}
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        function = tool_choice.get("function")
        if not isinstance(function, dict) or not function.get("name"):
            raise TranslationError("A named tool_choice needs a function name.", "tool_choice.function.name")
        return {"type": "tool", "name": function["name"]}
    raise TranslationError(f"Unsupported tool_choice {tool_choice!r}.", "tool_choice")


def _response_format_instruction(response_format: object) -> str | None:
    """Return the system instruction that asks for JSON output, if one is requested."""
    # Anthropic's Messages API has no json_object mode, and its structured
    # outputs (output_config.format) work only on some models and with a subset
    # of JSON Schema. An instruction works on every Claude model, at the price of
    # the answer not being guaranteed to parse or to conform.
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise TranslationError("'response_format' must be an object.", "response_format")
    format_type = response_format.get("type")
    if format_type in (None, "text"):
        return None
    if format_type == "json_object":
        return _JSON_OBJECT_INSTRUCTION
    if format_type != "json_schema":
        raise TranslationError(f"Unsupported response_format type {format_type!r}.", "response_format.type")
    json_schema = response_format.get("json_schema") or {}
    if not isinstance(json_schema, dict):
        raise TranslationError("'json_schema' must be an object.", "response_format.json_schema")
    schema = json_schema.get("schema")
    if schema is None:
        return _JSON_OBJECT_INSTRUCTION
    if not isinstance(schema, dict):
        raise TranslationError("The JSON schema must be an object.", "response_format.json_schema.schema")
    lines = [_JSON_SCHEMA_INSTRUCTION]
    if json_schema.get("name"):
        lines.append(f"Schema name: {json_schema['name']}")
    if json_schema.get("description"):
        lines.append(f"Schema description: {json_schema['description']}")
    lines.append(json.dumps(schema, ensure_ascii=False))
    return "\n".join(lines)
