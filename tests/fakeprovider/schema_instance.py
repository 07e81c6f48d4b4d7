"""A value that satisfies a JSON Schema: what the fake model answers when a client asks for structure.

Clients' own tests (LangChain's standard suite, the AI SDK's structured output) call a tool with
arguments validated against its schema, or ask for JSON matching a `json_schema`; an echo would
fail them for the fake's sake, not Optera's. Strings carry the prompt's text so answers stay
traceable; a number is the first the prompt names (else the smallest allowed); arrays hold one item.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 12
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def instance_of(schema: Any, text: str, *, root: Any = None, depth: int = 0) -> Any:
    """Return a value valid under `schema` (a dict, or True/False), its strings filled with `text`."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return text
    if "$ref" in schema:
        return instance_of(_resolve(schema["$ref"], root), text, root=root, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(combinator) or () if option.get("type") != "null"]
        if options:
            return instance_of(options[0], text, root=root, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((name for name in kind if name != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        names = schema.get("required") or list(properties)
        return {name: instance_of(properties.get(name, {}), text, root=root, depth=depth + 1) for name in names}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [instance_of(schema.get("items", {}), text, root=root, depth=depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, text, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _bounded_text(schema, text)


def _number(schema: dict, text: str, *, integer: bool):
    """Return the first number in `text` that the schema allows, else the smallest it allows (at least 1)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    for match in NUMBER.findall(text):
        value = float(match)
        if integer and not value.is_integer():
            continue
        if (low is None or value > low or (value == low and "minimum" in schema)) and (
            high is None or value < high or (value == high and "maximum" in schema)
        ):
            return int(value) if integer else value
    smallest = 1 if low is None else int(low) + (1 if "exclusiveMinimum" in schema else 0)
    return smallest if integer else float(smallest)


def _bounded_text(schema: dict, text: str) -> str:
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    value = text if len(text) >= low else text + "x" * (low - len(text))
    return value[: int(high)] if high is not None else value


def _resolve(reference: str, root: Any) -> Any:
    """Return the part of `root` a local "#/..." reference names, or {} (any value) for another kind."""
    if not reference.startswith("#"):
        return {}
    node = root
    for part in reference.lstrip("#/").split("/"):
        if not part:
            continue
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return node
