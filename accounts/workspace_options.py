"""The workspace options an operator may set by name (`--set KEY=VALUE`), with their parsers."""

import json
import math
from dataclasses import dataclass
from typing import Callable

from django.core.exceptions import ValidationError

from accounts.models import CacheMode, WorkspaceSettings


class InvalidOption(ValueError):
    """An unknown option name or a value it cannot take."""


def _on_off(raw):
    lowered = raw.strip().lower()
    if lowered in ("on", "true", "1", "yes"):
        return True
    if lowered in ("off", "false", "0", "no"):
        return False
    raise InvalidOption(f"{raw!r} is not on/off")


def _integer(raw):
    try:
        return int(raw)
    except ValueError:
        raise InvalidOption(f"{raw!r} is not a whole number") from None


def _number(raw):
    try:
        number = float(raw)
    except ValueError:
        raise InvalidOption(f"{raw!r} is not a number") from None
    # float() reads "nan" and "inf", which every comparison with a threshold would get wrong.
    if not math.isfinite(number):
        raise InvalidOption(f"{raw!r} is not a finite number")
    return number


def _cache_mode(raw):
    if raw not in CacheMode.values:
        raise InvalidOption(f"{raw!r} is not one of {', '.join(CacheMode.values)}")
    return raw


def _model_name(raw):
    if not raw.strip() or len(raw) > 100 or not raw.isprintable():
        raise InvalidOption("a model name must be 1 to 100 printable characters")
    return raw.strip()


def _model_map(raw):
    """Parse a JSON object of model name to model name (aliases) or to a list of names (fallbacks)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidOption(f"{raw!r} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidOption("expected a JSON object")
    for alias, target in value.items():
        names = target if isinstance(target, list) else [target]
        if not names or not all(isinstance(name, str) and name for name in names):
            raise InvalidOption("each value must be a model name or a list of model names")
        for name in (alias, *names):
            _model_name(name)
    return value


@dataclass(frozen=True)
class Option:
    name: str
    field: str
    parse: Callable
    help: str


OPTIONS = (
    Option("cache", "cache_mode", _cache_mode, "off | exact | semantic"),
    Option("cache_ttl", "cache_ttl_seconds", _integer, "seconds a cache entry lives"),
    Option("semantic_threshold", "semantic_threshold", _number, "cosine similarity a semantic hit needs (0.5-1.0)"),
    Option("routing", "routing_enabled", _on_off, "optera/auto, aliases and fallbacks"),
    Option("cheap_model", "cheap_model", _model_name, "cheap tier of optera/auto"),
    Option("strong_model", "strong_model", _model_name, "strong tier of optera/auto"),
    Option("aliases", "model_aliases", _model_map, 'JSON, e.g. {"fast": "gpt-4o-mini"}'),
    Option("fallbacks", "fallbacks", _model_map, 'JSON, e.g. {"gpt-4o": ["claude-sonnet-4-5"]}'),
    Option("compression", "compression_enabled", _on_off, "lossless system-prompt compression"),
    Option("summaries", "summaries_enabled", _on_off, "conversation summaries"),
    Option("summary_trigger_tokens", "summary_trigger_tokens", _integer, "history size that triggers a summary"),
    Option("summary_keep_recent_turns", "summary_keep_recent_turns", _integer, "turns kept verbatim"),
    Option("provider_prompt_cache", "provider_prompt_cache", _on_off, "automatic provider prompt-cache markers"),
    Option("operator_keys", "allow_operator_keys", _on_off, "may use the operator's provider keys"),
    Option("rate_limit_per_minute", "rate_limit_per_minute", _integer, "requests per minute per key"),
    Option("retention_days", "retention_days", _integer, "days request logs are kept"),
)


def option_named(name):
    for option in OPTIONS:
        if option.name == name:
            return option
    known = ", ".join(option.name for option in OPTIONS)
    raise InvalidOption(f"unknown option {name!r}; known options: {known}")


def parse_assignments(assignments):
    """Turn ["KEY=VALUE", ...] into {field: value}, validated against the model's own rules."""
    changes = {}
    for assignment in assignments:
        name, separator, raw = assignment.partition("=")
        if not separator:
            raise InvalidOption(f"{assignment!r} is not KEY=VALUE")
        option = option_named(name.strip())
        try:
            value = option.parse(raw)
        except InvalidOption as error:
            raise InvalidOption(f"{option.name}: {error}") from None
        model_field = WorkspaceSettings._meta.get_field(option.field)
        try:
            model_field.run_validators(value)
        except ValidationError as error:
            raise InvalidOption(f"{option.name}: {' '.join(error.messages)}") from None
        changes[option.field] = value
    return changes


def describe(workspace_settings):
    """Return {option name: current value} for printing."""
    return {option.name: getattr(workspace_settings, option.field) for option in OPTIONS}
