"""A bounded, time-limited in-process map: what a proxy process remembers between requests."""

import time

DEFAULT_MAX_ENTRIES = 10_000
MISSING = object()


class BoundedMemo:
    """Holds at most `max_entries` values, each for at most `ttl_seconds` (None: until evicted).

    When full it forgets everything at once: cheaper than tracking recency on the hot path, and
    every caller can recompute what it lost (from the database, Redis or the work itself).
    """

    def __init__(self, *, ttl_seconds=None, max_entries=DEFAULT_MAX_ENTRIES):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries = {}

    def get(self, key, default=None):
        """Return the live value for `key`, or `default` when there is none (or it expired)."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        value, expires_at = entry
        if expires_at is not None and expires_at <= time.monotonic():
            del self._entries[key]
            return default
        return value

    def put(self, key, value, *, ttl_seconds=MISSING):
        """Remember `value`; `ttl_seconds` overrides the memo's own lifetime for this entry."""
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.clear()
        ttl = self.ttl_seconds if ttl_seconds is MISSING else ttl_seconds
        self._entries[key] = (value, None if ttl is None else time.monotonic() + ttl)

    def pop(self, key):
        self._entries.pop(key, None)

    def __contains__(self, key):
        return self.get(key, MISSING) is not MISSING

    def __len__(self):
        return len(self._entries)
