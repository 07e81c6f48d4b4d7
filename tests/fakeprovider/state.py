"""State shared between the server thread and the test thread, behind one lock."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Callable, Mapping

from .caching import AdvanceableClock, AnthropicPromptCache, OpenAIPrefixCache
from .records import DisconnectRecord, Fault, Price, RequestRecord, UsageRecord, UsageTotals


@dataclasses.dataclass(frozen=True)
class ProviderSettings:
    """Knobs fixed when the provider is built."""

    anthropic_cache_min_tokens: int = 1024
    openai_cache_min_tokens: int = 1024
    default_chunk_delay: float = 0.0
    filler_words: int = 0
    record_requests: bool = True


class ProviderState:
    """Records, queued faults and prompt caches of one fake provider; every method is thread-safe."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._changed = threading.Condition(threading.Lock())
        self._faults: collections.deque[Fault] = collections.deque()
        self._requests: list[RequestRecord] = []
        self._disconnects: list[DisconnectRecord] = []
        self._usages: list[UsageRecord] = []
        # Per model and service tier, so flex answers are billed at flex prices.
        self._totals: dict[tuple[str, str], UsageTotals] = {}
        self.chunk_delay = settings.default_chunk_delay
        # Prompt text (the last user turn) -> the answer to give, so paraphrases can share an answer.
        self._answer_book: dict[str, str] = {}
        self._held_released = threading.Event()
        # Prompt-cache entries expire on this clock, which POST /_fake/advance moves forward.
        self.clock = AdvanceableClock()
        self.anthropic_cache = AnthropicPromptCache(min_tokens=settings.anthropic_cache_min_tokens, clock=self.clock)
        self.openai_cache = OpenAIPrefixCache(min_tokens=settings.openai_cache_min_tokens)

    def reset(self) -> None:
        """Forget records, queued faults and cached prompts; restore the default chunk delay."""
        with self._changed:
            self._faults.clear()
            self._requests.clear()
            self._disconnects.clear()
            self._usages.clear()
            self._totals.clear()
            self.chunk_delay = self.settings.default_chunk_delay
            self._answer_book.clear()
            # Nothing may stay held across tests; the next hold waits afresh.
            self._held_released.set()
            self._held_released = threading.Event()
            self.anthropic_cache.clear()
            self.openai_cache.clear()
            self.clock.reset()
            self._changed.notify_all()

    # Faults

    def enqueue(self, faults: tuple[Fault, ...]) -> None:
        """Queue faults for the next matching requests, in order."""
        with self._changed:
            self._faults.extend(faults)

    def take_fault(self, path: str, service_tier: str | None = None) -> Fault | None:
        """Return the first queued fault that applies to `path` (and `service_tier`), consuming one use of it."""
        if not self._faults:  # Lock-free fast path; a racing enqueue just lands on the next request.
            return None
        with self._changed:
            for position, fault in enumerate(self._faults):
                if fault.applies_to(path, service_tier):
                    if fault.times > 1:
                        self._faults[position] = dataclasses.replace(fault, times=fault.times - 1)
                    else:
                        del self._faults[position]
                    return fault
        return None

    @property
    def pending_faults(self) -> list[Fault]:
        with self._changed:
            return list(self._faults)

    # Answers from a table

    def add_answers(self, answers: Mapping[str, str]) -> None:
        """Answer each prompt text (the last user turn) with the given text instead of "Echo: ..."."""
        with self._changed:
            self._answer_book.update(answers)

    def answer_from_book(self, prompt_text: str) -> str | None:
        with self._changed:
            return self._answer_book.get(prompt_text)

    # Held requests

    def release_held(self) -> None:
        """Let every held request (and any later one drawing a hold fault) go on, until the next reset."""
        with self._changed:
            self._held_released.set()

    def held_gate(self) -> threading.Event:
        """Return the event a held request waits on."""
        with self._changed:
            return self._held_released

    # Records

    def record_request(self, record: RequestRecord) -> None:
        """Keep a received request, when recording is on."""
        if not self.settings.record_requests:
            return
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()

    def record_disconnect(self, record: DisconnectRecord) -> None:
        """Keep a client disconnect and wake anyone waiting for one."""
        with self._changed:
            self._disconnects.append(record)
            self._changed.notify_all()

    def record_usage(self, usage: UsageRecord) -> None:
        """Add an answer's usage to the per-model totals (and the list, when recording)."""
        with self._changed:
            if self.settings.record_requests:
                self._usages.append(usage)
            self._totals.setdefault((usage.model, usage.service_tier), UsageTotals()).add(usage)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._changed:
            return list(self._requests)

    @property
    def disconnects(self) -> list[DisconnectRecord]:
        with self._changed:
            return list(self._disconnects)

    @property
    def usages(self) -> list[UsageRecord]:
        with self._changed:
            return list(self._usages)

    def usage_totals(self, service_tier: str | None = None) -> dict[str, UsageTotals]:
        """Return a copy of the token totals per model, of every service tier or only of `service_tier`."""
        merged: dict[str, UsageTotals] = {}
        with self._changed:
            for (model, tier), totals in self._totals.items():
                if service_tier is None or tier == service_tier:
                    merged.setdefault(model, UsageTotals()).merge(totals)
        return merged

    def bill_usd(self, prices: Mapping[str, Price]) -> float:
        """Return the cost of every answer so far, flex ones at flex prices; "*" in `prices` covers unlisted models."""
        with self._changed:
            groups = {key: dataclasses.replace(totals) for key, totals in self._totals.items()}
        total = 0.0
        for (model, tier), totals in groups.items():
            price = prices.get(model) or prices.get("*")
            if price is None:
                raise KeyError(f"no price for model {model!r} (add it or a '*' entry)")
            total += price.cost_usd(totals, service_tier=tier)
        return total

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Block until `predicate()` holds (checked under the lock) or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake provider: timed out after {timeout} s waiting for {what}")
                self._changed.wait(remaining)

    def disconnect_count(self) -> int:
        """Return how many disconnects were recorded; call only inside wait_until."""
        return len(self._disconnects)

    def request_count(self) -> int:
        """Return how many requests were recorded; call only inside wait_until."""
        return len(self._requests)
