"""The one validation of workspace options, shared by the management API and the commands."""

import math

import pytest

from accounts.workspace_options import OPTIONS, InvalidOption, parse_assignments, validate_changes


def test_typed_values_become_model_fields():
    changes = validate_changes(
        {
            "cache": "exact",
            "cache_ttl": 60,
            "semantic_threshold": 1,
            "summaries": True,
            "cheap_model": " gpt-4o-mini ",
            "fallbacks": {"gpt-4o": ["claude-sonnet-4-5"]},
            "operator_keys": True,
        }
    )

    assert changes == {
        "cache_mode": "exact",
        "cache_ttl_seconds": 60,
        "semantic_threshold": 1.0,
        "summaries_enabled": True,
        "cheap_model": "gpt-4o-mini",
        "fallbacks": {"gpt-4o": ["claude-sonnet-4-5"]},
        "allow_operator_keys": True,
    }
    assert isinstance(changes["semantic_threshold"], float)


@pytest.mark.parametrize(
    "changes, message",
    [
        # Text is read only from the command line: a typed caller's "on" or "60" is refused, not re-read.
        ({"summaries": "on"}, "summaries: 'on' is not on/off"),
        ({"cache_ttl": "60"}, "cache_ttl: '60' is not a whole number"),
        ({"cache_ttl": True}, "cache_ttl: True is not a whole number"),
        ({"cache_ttl": 60.5}, "cache_ttl: 60.5 is not a whole number"),
        ({"semantic_threshold": "0.9"}, "semantic_threshold: '0.9' is not a number"),
        ({"semantic_threshold": math.inf}, "semantic_threshold: inf is not a finite number"),
        ({"semantic_threshold": math.nan}, "semantic_threshold: nan is not a finite number"),
        ({"aliases": '{"fast": "gpt-4o-mini"}'}, "aliases: expected a JSON object"),
        ({"cheap_model": 4}, "cheap_model: a model name must be 1 to 100 printable characters"),
        ({"cache": "everything"}, "cache: 'everything' is not one of off, exact, semantic"),
        ({"tier": "cheapest"}, "tier: 'cheapest' is not one of standard, flex"),
        ({"anthropic_cache_ttl": "2h"}, "anthropic_cache_ttl: '2h' is not one of auto, 5m, 1h"),
        ({"retention_days": 0}, "retention_days: Ensure this value is greater than or equal to 1."),
        ({"colour": "blue"}, "unknown option 'colour'"),
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_refused_by_name(changes, message):
    with pytest.raises(InvalidOption) as refused:
        validate_changes(changes)
    assert str(refused.value).startswith(message)


def test_the_command_line_reads_text_into_the_same_values():
    assert parse_assignments(["summaries=yes", "cache_ttl=60", "semantic_threshold=1", 'aliases={"fast": "m"}']) == (
        validate_changes({"summaries": True, "cache_ttl": 60, "semantic_threshold": 1.0, "aliases": {"fast": "m"}})
    )


def test_the_first_bad_assignment_on_the_command_line_is_the_one_reported():
    with pytest.raises(InvalidOption, match="^cache_ttl: "):
        parse_assignments(["cache_ttl=0", "summaries=maybe"])


def test_every_option_reads_its_own_text_form():
    """Each option's `--set` text reader yields a value its own check accepts."""
    samples = {
        "cache": "exact",
        "anthropic_cache_ttl": "1h",
        "cache_ttl": "60",
        "semantic_threshold": "0.9",
        "verify_sample_rate": "0.1",
        "verify_disagreement_bound": "0.01",
        "verify_min_samples": "20",
        "cheap_model": "gpt-4o-mini",
        "strong_model": "gpt-4o",
        "aliases": '{"fast": "gpt-4o-mini"}',
        "fallbacks": '{"gpt-4o": ["gpt-4o-mini"]}',
        "summary_trigger_tokens": "4000",
        "summary_keep_recent_turns": "4",
        "rate_limit_per_minute": "60",
        "max_active_keys": "20",
        "retention_days": "30",
        "tier": "flex",
    }
    for option in OPTIONS:
        text = samples.get(option.name, "on")
        assert parse_assignments([f"{option.name}={text}"]), option.name
