"""The cost model that picks Anthropic's prompt-cache TTL from a conversation's cadence, and its markers."""

import pytest

from proxy.providers.anthropic.cache_hints import add_anthropic_breakpoints
from proxy.providers.anthropic.cache_ttl import Cadence, choose_ttl, expected_cost, written_tokens

MINUTE = 60
PROMPT_TOKENS = 20_000
NEW_TAIL_TOKENS = 1_500


def steady(gap_minutes, *, turns=4, written=NEW_TAIL_TOKENS):
    return Cadence(
        gaps_seconds=tuple(gap_minutes * MINUTE for _ in range(turns)),
        prompt_tokens=PROMPT_TOKENS,
        written_tokens=written,
    )


@pytest.mark.parametrize(
    ("gap_minutes", "expected"),
    [(1, "5m"), (4, "5m"), (6, "1h"), (20, "1h"), (59, "1h"), (90, "none")],
)
def test_the_ttl_follows_the_gaps_between_turns(gap_minutes, expected):
    # Past an hour no entry is alive: each turn writes its whole prompt.
    written = PROMPT_TOKENS if gap_minutes > 60 else NEW_TAIL_TOKENS
    assert choose_ttl(steady(gap_minutes, written=written)) == expected


def test_a_first_turn_stays_at_five_minutes():
    assert choose_ttl(Cadence(prompt_tokens=PROMPT_TOKENS, written_tokens=PROMPT_TOKENS)) == "5m"


def test_one_twenty_minute_gap_is_enough_even_on_a_cold_write():
    # Turn 2 of a slow conversation: the 5-minute entry is gone, the whole prompt is written again.
    cold = Cadence(gaps_seconds=(20 * MINUTE,), prompt_tokens=PROMPT_TOKENS, written_tokens=PROMPT_TOKENS)
    assert choose_ttl(cold) == "1h"


def test_break_even_on_a_cold_write_is_about_two_medium_gaps_in_three():
    """S (1.15 p - 0.75 r) > 0.75 W with W = S: p > 0.652 when no gap passes an hour."""

    def cold(medium, short):
        gaps = (20 * MINUTE,) * medium + (1 * MINUTE,) * short
        return Cadence(gaps_seconds=gaps, prompt_tokens=PROMPT_TOKENS, written_tokens=PROMPT_TOKENS)

    assert choose_ttl(cold(medium=5, short=3)) == "5m"  # p = 0.625
    assert choose_ttl(cold(medium=6, short=2)) == "1h"  # p = 0.75


def test_hour_long_gaps_outweigh_medium_ones_below_the_ratio():
    # Warm writes: 1h pays when 1.15 p > 0.75 r (plus the small tail's premium).
    mixed = Cadence(
        gaps_seconds=(20 * MINUTE, 90 * MINUTE, 90 * MINUTE), prompt_tokens=PROMPT_TOKENS, written_tokens=100
    )
    assert choose_ttl(mixed) == "5m"
    mostly_medium = Cadence(
        gaps_seconds=(20 * MINUTE, 20 * MINUTE, 90 * MINUTE), prompt_tokens=PROMPT_TOKENS, written_tokens=100
    )
    assert choose_ttl(mostly_medium) == "1h"


def test_no_marker_only_when_most_gaps_pass_an_hour():
    # Cold writes every turn either way: a marker only adds its premium.
    hourly = Cadence(gaps_seconds=(90 * MINUTE,) * 3, prompt_tokens=PROMPT_TOKENS, written_tokens=PROMPT_TOKENS)
    assert choose_ttl(hourly) == "none"
    # One step alone would prefer no marker to a cold switch to the hour; the hour pays later.
    switching = Cadence(gaps_seconds=(20 * MINUTE,), prompt_tokens=PROMPT_TOKENS, written_tokens=PROMPT_TOKENS)
    assert choose_ttl(switching) == "1h"


def test_a_live_entry_keeps_its_marker_even_among_hour_long_gaps():
    # From review: the last gap was a minute, so the entry is alive and reading it beats sending all.
    alive = Cadence(
        gaps_seconds=(120 * MINUTE, 120 * MINUTE, 120 * MINUTE, 1 * MINUTE), prompt_tokens=12_000, written_tokens=2_000
    )
    assert choose_ttl(alive) == "5m"


def test_only_recent_gaps_count():
    quick_then_slow = Cadence(
        gaps_seconds=(1 * MINUTE,) * 20 + (20 * MINUTE,) * 8,
        prompt_tokens=PROMPT_TOKENS,
        written_tokens=NEW_TAIL_TOKENS,
    )
    assert choose_ttl(quick_then_slow) == "1h"


def test_expected_costs_match_the_prices_at_the_extremes():
    # Every gap short: both read at 0.1x, the write is the difference (1.25x vs 2x).
    quick = steady(1, written=1_000)
    assert expected_cost(quick, "5m") == pytest.approx(1.25 * 1_000 + 0.1 * PROMPT_TOKENS)
    assert expected_cost(quick, "1h") == pytest.approx(2.0 * 1_000 + 0.1 * PROMPT_TOKENS)
    # Every gap medium: 5m writes everything again, 1h reads it.
    slow = steady(20, written=1_000)
    assert expected_cost(slow, "5m") == pytest.approx(1.25 * 1_000 + 1.25 * PROMPT_TOKENS)
    assert expected_cost(slow, "1h") == pytest.approx(2.0 * 1_000 + 0.1 * PROMPT_TOKENS)


def test_only_the_new_tail_is_written_while_the_previous_entry_lives():
    assert (
        written_tokens(prompt_tokens=5_000, previous_prompt_tokens=4_000, previous_ttl="1h", gap_seconds=1200) == 1000
    )
    assert (
        written_tokens(prompt_tokens=5_000, previous_prompt_tokens=4_000, previous_ttl="5m", gap_seconds=1200) == 5000
    )
    assert written_tokens(prompt_tokens=5_000, previous_prompt_tokens=4_000, previous_ttl="5m", gap_seconds=60) == 1000


LONG_TEXT = "All work and no play makes a long prompt. " * 300


def estimate(text):
    return len(text) // 4


def test_every_marker_gets_the_chosen_ttl():
    body = {
        "system": [{"type": "text", "text": LONG_TEXT}],
        "messages": [
            {"role": "user", "content": "first " + LONG_TEXT},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "second"},
        ],
    }
    one_hour = add_anthropic_breakpoints(body, model="claude-sonnet-4-5", estimate_tokens=estimate, ttl="1h")
    markers = [one_hour["system"][-1]["cache_control"]] + [
        block["cache_control"]
        for message in one_hour["messages"]
        for block in message["content"]
        if isinstance(block, dict) and "cache_control" in block
    ]
    assert len(markers) >= 2
    assert all(marker == {"type": "ephemeral", "ttl": "1h"} for marker in markers)
    five_minutes = add_anthropic_breakpoints(body, model="claude-sonnet-4-5", estimate_tokens=estimate)
    assert five_minutes["system"][-1]["cache_control"] == {"type": "ephemeral"}


def test_a_clients_own_markers_are_left_alone_whatever_the_ttl():
    body = {
        "system": [{"type": "text", "text": LONG_TEXT}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
    }
    assert add_anthropic_breakpoints(body, model="claude-sonnet-4-5", estimate_tokens=estimate, ttl="1h") == body
