"""Which Anthropic prompt-cache TTL a conversation's next write should use: a pure cost model.

Anthropic keeps a prefix marked `{"type": "ephemeral"}` for 5 minutes and one marked
`{"type": "ephemeral", "ttl": "1h"}` for an hour, each refreshed by every read. A 5-minute write
costs 1.25x the input price, a 1-hour write 2x, a read 0.1x either way. A conversation whose turns
come more than five minutes apart finds its 5-minute entry gone and writes its whole history again
at 1.25x every turn; with the 1-hour cache it writes once at 2x and then reads at 0.1x.

The rule. This turn writes W tokens to the cache (only its new tail when the previous turn's entry
was still alive, else the whole prompt) and leaves a prompt of S tokens for the next turn to read.
Of the conversation's recent gaps between turns, a share q was at most 5 minutes, p between 5 and
60 minutes and r longer than an hour. In units of the input price, and assuming a turn that finds
its entry gone writes again at the same TTL:

    cost(5m) = 1.25 W + S (0.1 q + 1.25 (p + r))
    cost(1h) = 2.00 W + S (0.1 (q + p) + 2.00 r)
    cost(5m) - cost(1h) = S (1.15 p - 0.75 r) - 0.75 W

so "1h" is chosen when S (1.15 p - 0.75 r) > 0.75 W, and "5m" otherwise (ties included).

Break-even: on a cold write (W = S) with no gap over an hour, 1h pays when p > 0.75 / 1.15, that is
when about two gaps in three fall between 5 and 60 minutes. On a warm write (W only the new tail,
much smaller than S) it pays as soon as medium gaps outnumber hour-long ones by 0.65 to 1. Gaps of a
minute (p = 0) keep 5m: 1h would only raise the price of each new tail. Gaps over an hour (r = 1)
keep 5m: neither TTL survives them, and 5m writes cost less. Without any observed gap (a first turn)
there is no evidence of a slow cadence, so the answer is 5m.

A third answer, "none": place no marker at all. When most recent gaps are over an hour (r >= 0.5)
neither cache survives to the next turn, and a marker only adds its write premium: this turn and
the next then cost 2 S at the input price, against 1.25 W + 0.1 (S - W) + S (0.1 q + 1.25 (p + r))
with 5-minute markers, 2.5 S when every gap passes the hour (the
workload's coding chats at 90-minute gaps cost 21.7 % more than sending them uncached). Only
chosen on that evidence: on a one-step view "none" also beats a cold switch to 1h (2 S against
2.1 S), but the hour then pays on every later turn, which one step does not see.
"""

from dataclasses import dataclass

FIVE_MINUTES = "5m"
ONE_HOUR = "1h"
NO_MARKERS = "none"
TTL_SECONDS = {FIVE_MINUTES: 5 * 60, ONE_HOUR: 60 * 60}
# Prices relative to the input price, from Anthropic's prompt-caching pricing.
WRITE_PRICE = {FIVE_MINUTES: 1.25, ONE_HOUR: 2.0}
READ_PRICE = 0.1
# The decision follows the conversation's recent rhythm; an old burst of quick turns should not
# outvote the last several slow ones.
RECENT_GAPS = 8


@dataclass(frozen=True)
class Cadence:
    """What a conversation's turns looked like, in seconds and estimated tokens; no prompt text."""

    gaps_seconds: tuple[float, ...] = ()  # oldest first
    prompt_tokens: int = 0  # S: what the next turn would read
    written_tokens: int = 0  # W: what this turn writes to the cache


def gap_shares(gaps_seconds):
    """Return (q, p, r): the shares of recent gaps up to 5 minutes, up to an hour, and longer."""
    recent = gaps_seconds[-RECENT_GAPS:]
    if not recent:
        return 0.0, 0.0, 0.0
    short = sum(1 for gap in recent if gap <= TTL_SECONDS[FIVE_MINUTES])
    long = sum(1 for gap in recent if gap > TTL_SECONDS[ONE_HOUR])
    medium = len(recent) - short - long
    return short / len(recent), medium / len(recent), long / len(recent)


def expected_cost(cadence, ttl):
    """Return the expected cost of this turn's write and the next turn's use of it, in input-price tokens."""
    short, medium, long = gap_shares(cadence.gaps_seconds)
    write_price = WRITE_PRICE[ttl]
    if ttl == ONE_HOUR:
        next_turn = READ_PRICE * (short + medium) + write_price * long
    else:
        next_turn = READ_PRICE * short + write_price * (medium + long)
    return write_price * cadence.written_tokens + cadence.prompt_tokens * next_turn


def choose_ttl(cadence):
    """Return "1h" or "5m", whichever the cost model expects to cost less, or "none" (module docstring)."""
    if not cadence.gaps_seconds:
        return FIVE_MINUTES
    chosen = ONE_HOUR if expected_cost(cadence, ONE_HOUR) < expected_cost(cadence, FIVE_MINUTES) else FIVE_MINUTES
    _, _, long = gap_shares(cadence.gaps_seconds)
    # Without a marker this turn pays its whole prompt, and so does the next; with one it also
    # reads the part of the prompt a live entry holds (the same for both TTLs, so left out above).
    uncached = 2 * cadence.prompt_tokens
    marked = expected_cost(cadence, chosen) + READ_PRICE * (cadence.prompt_tokens - cadence.written_tokens)
    if long >= 0.5 and uncached < marked:
        return NO_MARKERS
    return chosen


def written_tokens(*, prompt_tokens, previous_prompt_tokens, previous_ttl, gap_seconds):
    """Return how much of this prompt will be written: its new tail if the previous entry is alive, else all."""
    if previous_ttl in TTL_SECONDS and gap_seconds <= TTL_SECONDS[previous_ttl]:
        return max(prompt_tokens - previous_prompt_tokens, 0)
    return prompt_tokens
