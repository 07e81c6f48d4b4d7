"""Token estimates and prompt-cache billing that behave like the real providers' caches."""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from dataclasses import dataclass

CHARS_PER_TOKEN = 4
# Entries per cache before the least recently used are forgotten; keeps long benchmarks bounded.
MAX_CACHE_ENTRIES = 200_000
# How long Anthropic keeps a prompt-cache entry after its last write or read, by the marker's ttl.
ANTHROPIC_TTL_SECONDS = {"5m": 5 * 60, "1h": 60 * 60}


class AdvanceableClock:
    """Monotonic seconds that a test or a benchmark can move forward (POST /_fake/advance)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


def estimate_tokens(text: str) -> int:
    """Return a deterministic token estimate for one piece of prompt text."""
    return len(text) // CHARS_PER_TOKEN + 1


class _BoundedKeySet:
    """A set of recently used keys that forgets the least recently used past a size limit."""

    def __init__(self, max_entries: int) -> None:
        self._keys: collections.OrderedDict[tuple[str, bytes], None] = collections.OrderedDict()
        self._max_entries = max_entries

    def __contains__(self, key: tuple[str, bytes]) -> bool:
        return key in self._keys

    def touch(self, key: tuple[str, bytes]) -> None:
        """Add the key, or mark it as just used."""
        self._keys[key] = None
        self._keys.move_to_end(key)
        if len(self._keys) > self._max_entries:
            self._keys.popitem(last=False)

    def clear(self) -> None:
        self._keys.clear()


@dataclass(frozen=True)
class PromptSegment:
    """One cacheable unit of an Anthropic prompt: a tool, a system block or a content block."""

    fingerprint: bytes  # the block serialised without its cache_control marker
    tokens: int
    cache_ttl: str | None  # "5m" or "1h" when the block carries cache_control, else None


@dataclass(frozen=True)
class CacheBilling:
    """How the input tokens of one Anthropic request split across price classes."""

    input_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0


class AnthropicPromptCache:
    """Explicit prompt caching: prefixes ending at cache_control markers are written and read.

    An entry lives 5 minutes, or an hour for a marker with `"ttl": "1h"`, from its last write or
    read, on `clock` (which tests and benchmarks advance instead of waiting). Like the real API, a
    read may hit any block boundary up to 20 blocks before a marker, which is what lets a
    conversation that moves its marker forward still read the previous turn's prefix.
    """

    LOOKBACK_BLOCKS = 20

    def __init__(self, *, min_tokens: int, clock=time.monotonic, max_entries: int = MAX_CACHE_ENTRIES) -> None:
        self.min_tokens = min_tokens
        self._clock = clock
        self._prefixes = _BoundedKeySet(max_entries)
        # key -> (seconds on the clock when it expires, its TTL in seconds): a read refreshes it.
        self._expiry: dict[tuple[str, bytes], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._prefixes.clear()
            self._expiry.clear()

    def _alive(self, key: tuple[str, bytes], now: float) -> bool:
        return key in self._prefixes and self._expiry.get(key, (0.0, 0))[0] > now

    def _keep(self, key: tuple[str, bytes], now: float, ttl_seconds: int) -> None:
        self._prefixes.touch(key)
        self._expiry[key] = (now + ttl_seconds, ttl_seconds)
        if len(self._expiry) > 2 * MAX_CACHE_ENTRIES:  # forget the expiries of keys the LRU set dropped
            self._expiry = {known: value for known, value in self._expiry.items() if known in self._prefixes}

    def bill(self, *, api_key: str, segments: list[PromptSegment], min_tokens: int | None = None) -> CacheBilling:
        """Return the token split for a prompt, and cache its marked prefixes (none shorter than `min_tokens`)."""
        min_tokens = self.min_tokens if min_tokens is None else min_tokens
        total_tokens = sum(segment.tokens for segment in segments)
        marker_positions = [index for index, segment in enumerate(segments) if segment.cache_ttl]
        if not marker_positions:
            return CacheBilling(input_tokens=total_tokens)

        prefix_digests: list[bytes] = []
        prefix_tokens: list[int] = []
        hasher = hashlib.blake2b(digest_size=16)
        running_tokens = 0
        for segment in segments[: marker_positions[-1] + 1]:
            # Length-prefixing keeps ["ab", "c"] and ["a", "bc"] apart.
            hasher.update(len(segment.fingerprint).to_bytes(8, "little"))
            hasher.update(segment.fingerprint)
            prefix_digests.append(hasher.copy().digest())
            running_tokens += segment.tokens
            prefix_tokens.append(running_tokens)

        with self._lock:
            now = self._clock()
            read_position = -1
            for marker in marker_positions:
                for position in range(marker, max(-1, marker - self.LOOKBACK_BLOCKS), -1):
                    if position <= read_position:
                        break
                    if self._alive((api_key, prefix_digests[position]), now):
                        read_position = position
                        break
            read_tokens = prefix_tokens[read_position] if read_position >= 0 else 0
            if read_position >= 0:
                read_key = (api_key, prefix_digests[read_position])
                self._keep(read_key, now, self._expiry[read_key][1])  # a read refreshes the entry's own TTL

            written_up_to = read_tokens
            write_tokens = {"5m": 0, "1h": 0}
            for marker in marker_positions:
                if marker <= read_position or prefix_tokens[marker] < min_tokens:
                    continue
                ttl = "1h" if segments[marker].cache_ttl == "1h" else "5m"
                write_tokens[ttl] += prefix_tokens[marker] - written_up_to
                written_up_to = prefix_tokens[marker]
                self._keep((api_key, prefix_digests[marker]), now, ANTHROPIC_TTL_SECONDS[ttl])

        return CacheBilling(
            input_tokens=total_tokens - written_up_to,
            cache_read_tokens=read_tokens,
            cache_write_tokens=write_tokens["5m"],
            cache_write_1h_tokens=write_tokens["1h"],
        )


class OpenAIPrefixCache:
    """Automatic prefix caching: a prompt sharing >= min_tokens with an earlier one reads them.

    Prompts are compared in 128-token blocks of their serialised form, as OpenAI bills them.
    """

    BLOCK_TOKENS = 128

    def __init__(self, *, min_tokens: int, max_entries: int = MAX_CACHE_ENTRIES) -> None:
        self.min_tokens = min_tokens
        self._prefixes = _BoundedKeySet(max_entries)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._prefixes.clear()

    def cached_tokens(self, *, api_key: str, prompt: bytes, prompt_tokens: int) -> int:
        """Return how many prompt tokens are served from cache, and cache this prompt's blocks."""
        block_bytes = self.BLOCK_TOKENS * CHARS_PER_TOKEN
        if len(prompt) < max(self.min_tokens * CHARS_PER_TOKEN, block_bytes):
            return 0  # Too short to share a cacheable prefix with anything: skip the hashing.
        hasher = hashlib.blake2b(digest_size=16)
        block_digests = []
        for start in range(0, len(prompt) - block_bytes + 1, block_bytes):
            hasher.update(prompt[start : start + block_bytes])
            block_digests.append(hasher.copy().digest())

        with self._lock:
            matched_blocks = 0
            for digest in block_digests:
                if (api_key, digest) not in self._prefixes:
                    break  # Digests are chained, so the first miss ends the shared prefix.
                matched_blocks += 1
            for digest in block_digests:
                self._prefixes.touch((api_key, digest))

        cached = matched_blocks * self.BLOCK_TOKENS
        return min(cached, prompt_tokens) if cached >= self.min_tokens else 0
