"""The workspace options by name, validated in one place for the management API and the commands.

`validate_changes` checks typed values, as the API's schema delivers them ({"cache_ttl": 60});
`parse_assignments` first reads the commands' `--set KEY=VALUE` text into such values.
"""

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import AnthropicCacheTtl, CacheMode, ServiceTier, WorkspaceSettings


class InvalidOption(ValueError):
    """An unknown option name or a value it cannot take."""


# Checks of typed values: each returns the value to store or raises InvalidOption.


def _on_off(value):
    if not isinstance(value, bool):
        raise InvalidOption(f"{value!r} is not on/off")
    return value


def _integer(value):
    # bool is an int to Python, but `true` is no number of seconds.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOption(f"{value!r} is not a whole number")
    return value


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOption(f"{value!r} is not a number")
    # NaN and infinities pass float() and JSON parsers, and every comparison with a threshold gets them wrong.
    if not math.isfinite(value):
        raise InvalidOption(f"{value!r} is not a finite number")
    return float(value)


def _cache_mode(value):
    if value not in CacheMode.values:
        raise InvalidOption(f"{value!r} is not one of {', '.join(CacheMode.values)}")
    return value


def _service_tier(value):
    if value not in ServiceTier.values:
        raise InvalidOption(f"{value!r} is not one of {', '.join(ServiceTier.values)}")
    return value


def _anthropic_cache_ttl(value):
    if value not in AnthropicCacheTtl.values:
        raise InvalidOption(f"{value!r} is not one of {', '.join(AnthropicCacheTtl.values)}")
    return value


def _model_name(value):
    if not isinstance(value, str) or not value.strip() or len(value) > 100 or not value.isprintable():
        raise InvalidOption("a model name must be 1 to 100 printable characters")
    return value.strip()


def _model_map(value):
    """Check an object of model name to model name (aliases) or to a list of names (fallbacks)."""
    if not isinstance(value, dict):
        raise InvalidOption("expected a JSON object")
    for alias, target in value.items():
        names = target if isinstance(target, list) else [target]
        if not names or not all(isinstance(name, str) and name for name in names):
            raise InvalidOption("each value must be a model name or a list of model names")
        for name in (alias, *names):
            _model_name(name)
    return value


# Readers of `--set` text: each returns the value the API would have sent, unchecked.


def _on_off_from_text(raw):
    lowered = raw.strip().lower()
    if lowered in ("on", "true", "1", "yes"):
        return True
    if lowered in ("off", "false", "0", "no"):
        return False
    raise InvalidOption(f"{raw!r} is not on/off")


def _integer_from_text(raw):
    try:
        return int(raw)
    except ValueError:
        raise InvalidOption(f"{raw!r} is not a whole number") from None


def _number_from_text(raw):
    try:
        return float(raw)
    except ValueError:
        raise InvalidOption(f"{raw!r} is not a number") from None


def _json_from_text(raw):
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidOption(f"{raw!r} is not JSON") from None


def _text(raw):
    return raw


@dataclass(frozen=True)
class Kind:
    """What an option's value is: how it is checked, and how `--set` text is read into one."""

    check: Callable[[Any], Any]
    from_text: Callable[[str], Any]


ON_OFF = Kind(_on_off, _on_off_from_text)
WHOLE_NUMBER = Kind(_integer, _integer_from_text)
NUMBER = Kind(_number, _number_from_text)
CACHE_MODE = Kind(_cache_mode, _text)
SERVICE_TIER = Kind(_service_tier, _text)
ANTHROPIC_CACHE_TTL = Kind(_anthropic_cache_ttl, _text)
MODEL_NAME = Kind(_model_name, _text)
MODEL_MAP = Kind(_model_map, _json_from_text)


@dataclass(frozen=True)
class Option:
    name: str
    field: str
    kind: Kind
    help: str


OPTIONS = (
    Option("cache", "cache_mode", CACHE_MODE, "off | exact | semantic"),
    Option("cache_ttl", "cache_ttl_seconds", WHOLE_NUMBER, "seconds a cache entry lives"),
    Option("semantic_threshold", "semantic_threshold", NUMBER, "cosine similarity a semantic hit needs (0.5-1.0)"),
    Option(
        "verify_sample_rate",
        "verify_sample_rate",
        NUMBER,
        "share of semantic hits also asked upstream and compared (0-1; each sample is billed)",
    ),
    Option(
        "verify_disagreement_bound",
        "verify_disagreement_bound",
        NUMBER,
        "disagreement rate above which the semantic threshold rises (0-1)",
    ),
    Option("verify_min_samples", "verify_min_samples", WHOLE_NUMBER, "samples needed before the threshold may rise"),
    Option("routing", "routing_enabled", ON_OFF, "optera/auto, aliases and fallbacks"),
    Option("cheap_model", "cheap_model", MODEL_NAME, "cheap tier of optera/auto"),
    Option("strong_model", "strong_model", MODEL_NAME, "strong tier of optera/auto"),
    Option("aliases", "model_aliases", MODEL_MAP, 'JSON, e.g. {"fast": "gpt-4o-mini"}'),
    Option("fallbacks", "fallbacks", MODEL_MAP, 'JSON, e.g. {"gpt-4o": ["claude-sonnet-4-5"]}'),
    Option("compression", "compression_enabled", ON_OFF, "lossless system-prompt compression"),
    Option("summaries", "summaries_enabled", ON_OFF, "conversation summaries"),
    Option("repeated_code", "repeated_code_enabled", ON_OFF, "code pasted again sent as a pointer to its earlier copy"),
    Option("summary_trigger_tokens", "summary_trigger_tokens", WHOLE_NUMBER, "history size that triggers a summary"),
    Option("summary_keep_recent_turns", "summary_keep_recent_turns", WHOLE_NUMBER, "turns kept verbatim"),
    Option("provider_prompt_cache", "provider_prompt_cache", ON_OFF, "automatic provider prompt-cache markers"),
    Option(
        "anthropic_cache_ttl",
        "anthropic_cache_ttl",
        ANTHROPIC_CACHE_TTL,
        "auto | 5m | 1h: TTL of Anthropic prompt-cache markers (auto: by conversation cadence)",
    ),
    Option("tier", "tier", SERVICE_TIER, "standard | flex (OpenAI's half-price tier where the model has it)"),
    Option("operator_keys", "allow_operator_keys", ON_OFF, "may use the operator's provider keys"),
    Option("rate_limit_per_minute", "rate_limit_per_minute", WHOLE_NUMBER, "requests per minute, all keys together"),
    Option("max_active_keys", "max_active_keys", WHOLE_NUMBER, "API keys the workspace may hold at once"),
    Option("retention_days", "retention_days", WHOLE_NUMBER, "days request logs are kept"),
)


def option_named(name):
    for option in OPTIONS:
        if option.name == name:
            return option
    known = ", ".join(option.name for option in OPTIONS)
    raise InvalidOption(f"unknown option {name!r}; known options: {known}")


def validate_changes(changes: Mapping[str, Any], *, workspace=None) -> dict[str, Any]:
    """Return {model field: value} for {option name: value}, checked against each option and the model's rules.

    Raise InvalidOption naming the first option refused. Every option is accepted here: the API's
    input schema keeps the operator-only ones out before they get this far. With the `workspace`
    whose members ask, its plan's limits apply too (the operator's commands do not pass one).
    """
    validated = {}
    for name, value in changes.items():
        option = option_named(name)
        try:
            checked = option.kind.check(value)
            WorkspaceSettings._meta.get_field(option.field).run_validators(checked)
        except InvalidOption as error:
            raise InvalidOption(f"{option.name}: {error}") from None
        except ValidationError as error:
            raise InvalidOption(f"{option.name}: {' '.join(error.messages)}") from None
        validated[option.field] = checked
    if workspace is not None and "retention_days" in validated:
        longest = longest_retention_days(workspace)
        if validated["retention_days"] > longest:
            raise InvalidOption(f"retention_days: at most {longest} days on this workspace's plan")
    return validated


def longest_retention_days(workspace):
    """Return the longest log retention a workspace may choose: the default, or more where its plan allows."""
    from billing.selectors import plan_of

    plan = plan_of(workspace=workspace)
    return max(settings.OPTERA_LOG_RETENTION_DAYS, plan.max_retention_days if plan is not None else 0)


def parse_assignments(assignments):
    """Turn ["KEY=VALUE", ...] into {field: value}: each text read as a value, then `validate_changes`."""
    changes = {}
    for assignment in assignments:
        name, separator, raw = assignment.partition("=")
        if not separator:
            raise InvalidOption(f"{assignment!r} is not KEY=VALUE")
        option = option_named(name.strip())
        try:
            value = option.kind.from_text(raw)
        except InvalidOption as error:
            raise InvalidOption(f"{option.name}: {error}") from None
        # One at a time, so the first bad assignment on the command line is the one reported.
        changes.update(validate_changes({option.name: value}))
    return changes


def describe(workspace_settings):
    """Return {option name: current value} for printing."""
    return {option.name: getattr(workspace_settings, option.field) for option in OPTIONS}
