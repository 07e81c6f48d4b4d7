"""Does a conversation summary pay? The expected saving over the next turns against its costs (pure).

Replacing the older turns (R tokens) by a summary (S tokens) saves on every later turn what those
turns would have cost, but it has three costs: the summariser's call (R in, S out, at the cheap
model's prices), and, because the prompt's prefix changes, the provider's cache of this
conversation is lost once: the first request with the summary writes it and the kept recent turns
(K tokens) again, at the cache-write price, where it would have read them.

What a token of history costs per turn depends on the provider's cache:
- Anthropic with Optera's breakpoints, cache warm: a read, 0.1x the input price; write 1.25x (5
  minutes) or 2x (1 hour). Summaries almost never pay here: saving 0.1x per token and turn
  against re-writing the kept turns at 1.25x (measured in docs/benchmarks.md).
- Anthropic, cache gone cold (the turns are further apart than the cache lives): every turn
  writes the whole history again at the write price, so removing R tokens saves 1.25x R a turn.
- OpenAI: cached reads at the model's cached price (0.5x or less) when warm, full price when
  cold; no write premium, so the re-write costs the input price.
- No provider cache: the input price every turn.

How many turns are left is not known. A conversation that has gone on for n turns is assumed to
go on for n/2 more (at least one): conservative next to the usual "as long again" estimate,
because a summary that does not pay costs money. A summary is also only used until the next one
replaces it (a new prefix, so the provider's cache is lost again): no more turns than the
conversation takes to grow by half the summary budget, the point where the engine summarises
again. Without that bound, summaries of 10-turn gpt-4o coding chats that re-paste a file each turn
were made every other turn and cost 3 % more than sending everything (bench/workload.py).
"""

from dataclasses import dataclass

# Turns still to come, as a share of the turns so far (see the module docstring).
EXPECTED_REMAINING_SHARE = 0.5


@dataclass(frozen=True)
class HistoryPrices:
    """USD per million tokens of the conversation's model, and of the summariser."""

    history: float  # one token of history on one turn, as the provider will bill it (see above)
    rewrite: float  # one token of the new prefix on the first turn after the summary
    summariser_input: float
    summariser_output: float


@dataclass(frozen=True)
class SummaryOutlook:
    pays: bool
    saving_usd: float  # what the summary saves over the expected turns, net of the cache re-write
    cost_usd: float  # the summariser's call
    expected_turns: int


def history_prices(
    *,
    provider: str,
    input_price: float,
    cached_input_price: float,
    cache_write_price: float,
    provider_cache: bool,
    cache_warm: bool,
    summariser_input: float,
    summariser_output: float,
) -> HistoryPrices:
    """Return what history costs per turn for this provider and cache state (module docstring)."""
    if provider == "anthropic" and provider_cache:
        history = cached_input_price if cache_warm else cache_write_price
        rewrite = cache_write_price
    elif provider == "openai" and provider_cache:
        history = cached_input_price if cache_warm else input_price
        rewrite = input_price
    else:
        history = rewrite = input_price
    return HistoryPrices(
        history=history, rewrite=rewrite, summariser_input=summariser_input, summariser_output=summariser_output
    )


def summary_outlook(
    *,
    replaced_tokens: int,
    kept_tokens: int,
    summary_tokens: int,
    turns_so_far: int,
    turns_until_resummary: int,
    prices: HistoryPrices,
) -> SummaryOutlook:
    """Return whether summarising ``replaced_tokens`` of history into ``summary_tokens`` pays.

    ``kept_tokens`` are the recent turns sent verbatim after the summary. The first turn with the
    summary pays the re-write of summary and kept turns instead of the history price of
    everything; each later turn saves the history price of the replaced tokens net of the summary.
    """
    expected_turns = max(1, min(int(turns_so_far * EXPECTED_REMAINING_SHARE), turns_until_resummary))
    before = prices.history * (replaced_tokens + kept_tokens) + (expected_turns - 1) * prices.history * replaced_tokens
    after = prices.rewrite * (summary_tokens + kept_tokens) + (expected_turns - 1) * prices.history * summary_tokens
    summariser = prices.summariser_input * replaced_tokens + prices.summariser_output * summary_tokens
    saving = (before - after) / 1_000_000
    cost = summariser / 1_000_000
    return SummaryOutlook(pays=saving > cost, saving_usd=saving, cost_usd=cost, expected_turns=expected_turns)
