"""Translate OpenAI chat messages into Anthropic `system` blocks and alternating turns."""

import json
import re

from .errors import TranslationError

# The media types Anthropic accepts for base64 image sources.
_ANTHROPIC_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# Anthropic only accepts tool ids made of these characters, while ids produced by
# other providers (a conversation may have started elsewhere) can contain ":" or ".".
_INVALID_TOOL_ID_CHARACTERS = re.compile(r"[^a-zA-Z0-9_-]")


def translate_messages(messages: object) -> tuple[list[dict], list[dict]]:
    """Return the Anthropic `system` blocks and the merged user/assistant turns."""
    if not isinstance(messages, list) or not messages:
        raise TranslationError("'messages' must be a non-empty array.", "messages")
    system_blocks: list[dict] = []
    turns: list[dict] = []
    for position, message in enumerate(messages):
        param = f"messages[{position}]"
        if not isinstance(message, dict):
            raise TranslationError("Each message must be an object.", param)
        role = message.get("role")
        if role in ("system", "developer"):
            blocks = _system_blocks(message, param)
            _apply_message_cache_control(message, blocks)
            system_blocks.extend(blocks)
            continue
        if role == "user":
            anthropic_role, blocks = "user", _user_blocks(message, param)
        elif role == "assistant":
            anthropic_role, blocks = "assistant", _assistant_blocks(message, param)
        elif role == "tool":
            anthropic_role, blocks = "user", [_tool_result_block(message, param)]
        elif role == "function":
            raise TranslationError(
                "Legacy 'function' messages cannot be sent to Anthropic models; "
                "use 'tool' messages with a tool_call_id.",
                f"{param}.role",
            )
        else:
            raise TranslationError(f"Unsupported message role {role!r}.", f"{param}.role")
        _apply_message_cache_control(message, blocks)
        _append_turn(turns, anthropic_role, blocks)
    if not turns:
        raise TranslationError(
            "Anthropic models need at least one user, assistant or tool message besides the system prompt.",
            "messages",
        )
    return system_blocks, turns


def _append_turn(turns: list[dict], role: str, blocks: list[dict]) -> None:
    """Append blocks as a turn, merging into the previous turn when the role repeats."""
    # Anthropic requires user and assistant turns to alternate, and several
    # consecutive tool results must travel together in one user turn.
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": list(blocks)})


def _system_blocks(message: dict, param: str) -> list[dict]:
    """Return the text blocks of a system or developer message."""
    blocks = []
    for index, part in _content_parts(message.get("content"), f"{param}.content"):
        if part.get("type") != "text":
            raise TranslationError(
                f"System messages may only contain text parts, not {part.get('type')!r}.",
                f"{param}.content[{index}].type",
            )
        blocks.extend(_text_blocks(part.get("text"), part, f"{param}.content[{index}].text"))
    return blocks


def _user_blocks(message: dict, param: str) -> list[dict]:
    """Return the Anthropic blocks for the content of a user message."""
    blocks = []
    for index, part in _content_parts(message.get("content"), f"{param}.content"):
        part_param = f"{param}.content[{index}]"
        part_type = part.get("type")
        if part_type == "text":
            blocks.extend(_text_blocks(part.get("text"), part, f"{part_param}.text"))
        elif part_type == "image_url":
            blocks.append(_image_block(part, part_param))
        elif part_type == "file":
            blocks.append(_document_block(part, part_param))
        else:
            raise TranslationError(
                f"Content parts of type {part_type!r} cannot be sent to Anthropic models.",
                f"{part_param}.type",
            )
    return blocks


def _assistant_blocks(message: dict, param: str) -> list[dict]:
    """Return the text and tool_use blocks of an assistant message."""
    if message.get("function_call"):
        raise TranslationError(
            "Legacy 'function_call' cannot be sent to Anthropic models; use 'tool_calls'.",
            f"{param}.function_call",
        )
    blocks = []
    for index, part in _content_parts(message.get("content"), f"{param}.content"):
        part_type = part.get("type")
        if part_type not in ("text", "refusal"):
            raise TranslationError(
                f"Assistant content parts of type {part_type!r} cannot be sent to Anthropic models.",
                f"{param}.content[{index}].type",
            )
        # A past refusal is still something the assistant said, so it stays as text.
        blocks.extend(_text_blocks(part.get(part_type), part, f"{param}.content[{index}].{part_type}"))
    tool_calls = message.get("tool_calls") or []
    if not isinstance(tool_calls, list):
        raise TranslationError("'tool_calls' must be an array.", f"{param}.tool_calls")
    for index, tool_call in enumerate(tool_calls):
        blocks.append(_tool_use_block(tool_call, f"{param}.tool_calls[{index}]"))
    return blocks


def _tool_use_block(tool_call: object, param: str) -> dict:
    """Return the tool_use block for one OpenAI assistant tool call."""
    if not isinstance(tool_call, dict):
        raise TranslationError("Each tool call must be an object.", param)
    if tool_call.get("type", "function") != "function":
        raise TranslationError(
            f"Only function tool calls can be sent to Anthropic models, not {tool_call.get('type')!r}.",
            f"{param}.type",
        )
    function = tool_call.get("function")
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError("A tool call needs a function name.", f"{param}.function.name")
    if not tool_call.get("id"):
        raise TranslationError("A tool call needs an id.", f"{param}.id")
    return {
        "type": "tool_use",
        "id": _anthropic_tool_id(tool_call["id"]),
        "name": function["name"],
        "input": _parse_tool_arguments(function.get("arguments"), f"{param}.function.arguments"),
    }


def _parse_tool_arguments(arguments: object, param: str) -> dict:
    """Return tool call arguments as the JSON object Anthropic expects as `input`."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        # Clients send "" for a call without arguments; Anthropic wants {}.
        return {}
    if not isinstance(arguments, str):
        raise TranslationError("Tool call arguments must be a JSON string.", param)
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as error:
        raise TranslationError(f"Tool call arguments are not valid JSON: {error}.", param) from error
    if not isinstance(parsed, dict):
        raise TranslationError("Tool call arguments must encode a JSON object.", param)
    return parsed


def _tool_result_block(message: dict, param: str) -> dict:
    """Return the tool_result block for an OpenAI tool message."""
    tool_call_id = message.get("tool_call_id")
    if not tool_call_id or not isinstance(tool_call_id, str):
        raise TranslationError("Tool messages need a tool_call_id.", f"{param}.tool_call_id")
    block: dict = {"type": "tool_result", "tool_use_id": _anthropic_tool_id(tool_call_id)}
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
        return block
    result_blocks = []
    for index, part in _content_parts(content, f"{param}.content"):
        part_param = f"{param}.content[{index}]"
        if part.get("type") == "text":
            result_blocks.extend(_text_blocks(part.get("text"), part, f"{part_param}.text"))
        elif part.get("type") == "image_url":
            result_blocks.append(_image_block(part, part_param))
        else:
            raise TranslationError(
                f"Tool results may only contain text or images, not {part.get('type')!r}.",
                f"{part_param}.type",
            )
    if result_blocks:
        block["content"] = result_blocks
    return block


def _anthropic_tool_id(tool_id: str) -> str:
    """Return the tool id with the characters Anthropic rejects replaced by "_"."""
    return _INVALID_TOOL_ID_CHARACTERS.sub("_", tool_id)


def _content_parts(content: object, param: str) -> list[tuple[int, dict]]:
    """Return (index, part) pairs for message content given as a string, parts or None."""
    if content is None:
        return []
    if isinstance(content, str):
        return [(0, {"type": "text", "text": content})]
    if not isinstance(content, list):
        raise TranslationError("Message content must be a string or an array of parts.", param)
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            raise TranslationError("Each content part must be an object.", f"{param}[{index}]")
    return list(enumerate(content))


def _text_blocks(text: object, part: dict, param: str) -> list[dict]:
    """Return a one-element list with the text block, or nothing for empty text."""
    if not isinstance(text, str):
        raise TranslationError("Text content must be a string.", param)
    # Anthropic rejects empty text blocks, and clients often send content ""
    # alongside tool_calls.
    if not text:
        return []
    return [_with_cache_control({"type": "text", "text": text}, part)]


def _image_block(part: dict, param: str) -> dict:
    """Return the Anthropic image block for an OpenAI image_url part."""
    image = part.get("image_url")
    # Some clients send the URL directly instead of {"url": ...}.
    url = image.get("url") if isinstance(image, dict) else image
    url_param = f"{param}.image_url.url"
    if not isinstance(url, str) or not url:
        raise TranslationError("image_url.url must be a non-empty string.", url_param)
    if url[:5].lower() == "data:":
        media_type, data = _parse_base64_data_url(url, url_param)
        if media_type not in _ANTHROPIC_IMAGE_MEDIA_TYPES:
            raise TranslationError(
                f"Anthropic models accept JPEG, PNG, GIF and WebP images, not {media_type!r}.",
                url_param,
            )
        source = {"type": "base64", "media_type": media_type, "data": data}
    elif url.lower().startswith(("https://", "http://")):
        source = {"type": "url", "url": url}
    else:
        raise TranslationError("Image URLs must be http(s) URLs or base64 data: URLs.", url_param)
    # "detail" has no Anthropic counterpart and is dropped.
    return _with_cache_control({"type": "image", "source": source}, part)


def _document_block(part: dict, param: str) -> dict:
    """Return the Anthropic document block for an inline PDF file part."""
    file = part.get("file")
    if not isinstance(file, dict):
        raise TranslationError("A file part needs a 'file' object.", f"{param}.file")
    file_data = file.get("file_data")
    if not file_data:
        raise TranslationError(
            "Anthropic models cannot read OpenAI file ids; send the file inline as file_data.",
            f"{param}.file.file_id",
        )
    data_param = f"{param}.file.file_data"
    if not isinstance(file_data, str) or file_data[:5].lower() != "data:":
        raise TranslationError("file_data must be a base64 data: URL.", data_param)
    media_type, data = _parse_base64_data_url(file_data, data_param)
    if media_type != "application/pdf":
        raise TranslationError(f"Anthropic models accept PDF files only, not {media_type!r}.", data_param)
    block = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if file.get("filename"):
        block["title"] = file["filename"]
    return _with_cache_control(block, part)


def _parse_base64_data_url(url: str, param: str) -> tuple[str, str]:
    """Return the media type and base64 payload of a data: URL."""
    header, separator, data = url[5:].partition(",")
    attributes = header.split(";")
    if not separator or not data or "base64" not in attributes[1:]:
        raise TranslationError("Only base64-encoded data: URLs are supported.", param)
    media_type = attributes[0].strip().lower()
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    return media_type, data


def _with_cache_control(block: dict, part: dict) -> dict:
    """Copy the cache_control marker a client put on an OpenAI part onto its block."""
    if part.get("cache_control"):
        block["cache_control"] = dict(part["cache_control"])
    return block


def _apply_message_cache_control(message: dict, blocks: list[dict]) -> None:
    """Put a message-level cache_control marker on the message's last block."""
    # Some clients mark a whole message rather than one of its parts; a
    # breakpoint on the last block caches the same prefix.
    if message.get("cache_control") and blocks and "cache_control" not in blocks[-1]:
        blocks[-1]["cache_control"] = dict(message["cache_control"])
