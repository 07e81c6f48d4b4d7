"""Optera with its semantic matcher cut down to cosine alone: for bench/verify_sampling.py's second run only.

The shipped matcher serves a neighbour only when its fingerprint verifier accepts it, and on the
dev pairs it serves no wrong answer at any threshold, so a live check of precision has nothing
to find there. This entry point takes the verifier out (the nearest live entry at or above the
threshold is served, as a cosine-only semantic cache does) so that wrong serves happen and the
sampler can be seen finding them. Never serve traffic with it.
"""

from cachestore.semantic import matching


def nearest_above_threshold(query_fingerprint, candidates, *, threshold):
    """Return (entry, similarity) of the nearest candidate at or above `threshold`, unverified."""
    for entry, similarity in candidates:
        if similarity >= threshold:
            return entry, similarity
    return None


# proxy.lookup.semantic imports best_match from this module at each look-up, so it gets this one.
matching.best_match = nearest_above_threshold

from optera.asgi import application  # noqa: E402

__all__ = ["application"]
