"""Choosing a semantic hit among the nearest stored entries: similarity first, then the verifier."""

from cachestore.semantic.fingerprint import Fingerprint
from cachestore.semantic.verifier import verify_fingerprints


def best_match(query_fingerprint, candidates, *, threshold):
    """Return (entry, similarity) of the nearest candidate the verifier accepts at or above `threshold`, else None.

    `candidates` are (entry, similarity) pairs, nearest first; each entry carries the JSON of its
    fingerprint. Entries without one (stored while semantic caching was off) are never served.
    """
    for entry, similarity in candidates:
        if similarity < threshold or not entry.fingerprint:
            continue
        verdict = verify_fingerprints(
            query_fingerprint, Fingerprint.from_json(entry.fingerprint), similarity, threshold=threshold
        )
        if verdict.accepted:
            return entry, similarity
    return None
