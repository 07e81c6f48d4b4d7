"""The second stage of a semantic cache look-up: is the neighbour the same request?

Nearest-neighbour cosine alone serves near misses ("15% of 80" for "15% of
90", "JSON to object" for "object to JSON"). ``verify_fingerprints`` accepts
a candidate only when, after normalisation (case, punctuation, contractions,
greetings, politeness, typos, a few exact synonyms, a moved clause), both
prompts ask for the same thing word for word. It compares fingerprints, which
hold keyed hashes of the words and never the words (privacy invariant 1), so
an antonym, a different entity or a plural is simply a different hash. Every
rejection names the rule that fired, never a word of either prompt.

Precision comes before recall: a wrong cached answer costs more than a miss.
"""

from collections import Counter
from dataclasses import dataclass

from cachestore.semantic.fingerprint import Fingerprint, Kind, Tense, fingerprint

# The cosine a candidate must also reach. The rules, not the cosine, tell a
# paraphrase from a near miss (near misses score 0.9 and more); the floor only
# keeps the rules from ruling on unrelated text. all-MiniLM-L6-v2 is fragile
# to typos ("recomend ... habbits" scores 0.35), so a higher floor mostly
# loses typo'd paraphrases: on the dev pairs 0.75 serves 48 of the 90 same
# pairs with no error, 0.80 serves 47, 0.90 serves 41 (bench/semantic_curve.py).
DEFAULT_MIN_COSINE = 0.75
# How many nearest neighbours above the floor the look-up may verify, best
# first, serving the first accepted: a near-duplicate entry can outrank the
# exact one. One is enough on the dev pairs; each extra costs ~0.15 ms.
DEFAULT_CANDIDATES = 3
# How far "does my script not find" may put its "not" after the subject that
# "doesn't my script find" puts it before.
_INVERTED_NEGATION_REACH = 4
# Longer prompts that differ in order are refused rather than searched for a
# move, to keep the check well under a millisecond.
_MAX_REORDERED_WORDS = 200


@dataclass(frozen=True)
class Sensitivity:
    """Which differences the verifier forgives. Every other difference rejects."""

    min_cosine: float = DEFAULT_MIN_COSINE
    # Slips are corrected and synonyms canonicalised when the fingerprint is
    # made; turning either off compares the words as written (both off).
    typos: bool = True  # one-letter slips in long words ("pyhton")
    synonyms: bool = True  # lexicon.SYNONYMS ("largest"/"biggest")
    reorder: bool = True  # one clause or prepositional phrase moved


DEFAULT_SENSITIVITY = Sensitivity()
# Only case, punctuation, contractions and courtesy may differ.
STRICT_SENSITIVITY = Sensitivity(min_cosine=0.85, typos=False, synonyms=False, reorder=False)


@dataclass(frozen=True)
class Verdict:
    """Whether to serve the candidate, and the rule or the forgiven differences behind it."""

    accepted: bool
    score: float  # the cosine when no rule fired, else 0.0
    reason: str


# The secret of ``verify``, which fingerprints both texts within one call and
# stores nothing; the cache uses its own secret.
_TEXT_SECRET = b"optera semantic verifier"


def verify(query: str, candidate: str, cosine: float, *, sensitivity: Sensitivity = DEFAULT_SENSITIVITY) -> Verdict:
    """Return whether ``candidate``'s cached answer may be served for ``query``."""
    return verify_fingerprints(
        fingerprint(query, secret=_TEXT_SECRET),
        fingerprint(candidate, secret=_TEXT_SECRET),
        cosine,
        sensitivity=sensitivity,
    )


def verify_fingerprints(
    query: Fingerprint, candidate: Fingerprint, cosine: float, *, sensitivity: Sensitivity = DEFAULT_SENSITIVITY
) -> Verdict:
    """Return whether the cached answer of ``candidate``'s prompt may be served for ``query``'s."""
    rejection, forgiven = _compare(query, candidate, sensitivity)
    if rejection:
        return Verdict(accepted=False, score=0.0, reason=rejection)
    if cosine < sensitivity.min_cosine:
        return Verdict(
            accepted=False,
            score=cosine,
            reason=f"cosine {cosine:.3f} below {sensitivity.min_cosine:.2f}",
        )
    reason = "same request" + (f" ({'; '.join(forgiven)})" if forgiven else "")
    return Verdict(accepted=True, score=cosine, reason=reason)


def _compare(query: Fingerprint, candidate: Fingerprint, sensitivity: Sensitivity) -> tuple[str, list[str]]:
    """Return (the rejection reason or "", the differences forgiven)."""
    if query.key_id != candidate.key_id:
        return "fingerprints made with different secrets", []
    if query.digest or candidate.digest:
        return ("", []) if query.digest == candidate.digest else ("long prompt differs", [])
    forgiving = sensitivity.typos and sensitivity.synonyms
    query_tokens = list(query.tokens if forgiving or query.literal is None else query.literal)
    candidate_tokens = list(candidate.tokens if forgiving or candidate.literal is None else candidate.literal)
    for kind, label in ((Kind.QUOTE, "quoted text"), (Kind.NUMBER, "number")):
        query_items = Counter(token for token, of in zip(query_tokens, query.kinds) if of == kind)
        candidate_items = Counter(token for token, of in zip(candidate_tokens, candidate.kinds) if of == kind)
        if query_items != candidate_items:
            return f"{label} differs", []
    if len(query.negations) != len(candidate.negations):
        return (f"negation differs: {len(query.negations)} in query, {len(candidate.negations)} in candidate"), []
    if query.tense != candidate.tense:
        return f"tense differs: {_tense(query.tense)} vs {_tense(candidate.tense)}", []
    query_kinds, candidate_kinds = list(query.kinds), list(candidate.kinds)
    if forgiving:
        # Slips were corrected when the fingerprints were made; the compounds
        # are hashes of canonical words, so they only apply here.
        query_tokens, query_kinds, candidate_tokens, candidate_kinds = _merge_compounds(
            query, query_tokens, query_kinds, candidate, candidate_tokens, candidate_kinds
        )
    if Counter(query_tokens) != Counter(candidate_tokens):
        return _word_difference(query_tokens, candidate_tokens), []
    forgiven: list[str] = []
    if forgiving and query.typos + candidate.typos:
        count = query.typos + candidate.typos
        forgiven.append(f"{count} typo{'s' if count > 1 else ''} corrected")
    if query_tokens != candidate_tokens:
        moved = _moved_block(
            query_tokens,
            query_kinds,
            frozenset(query.clause_starts),
            candidate_tokens,
            candidate_kinds,
            frozenset(candidate.clause_starts),
        )
        if not sensitivity.reorder or moved is None:
            return "word order differs", []
        forgiven.append(f"moved {moved} word{'s' if moved > 1 else ''}")
    if not _negations_match(query.negations, candidate.negations, kinds=query_kinds):
        return "negation applies to a different word", []
    return "", forgiven


def _tense(tense: int) -> str:
    names = [name for bit, name in ((Tense.PAST, "past"), (Tense.FUTURE, "future")) if tense & bit]
    return "/".join(names) or "present"


def _merge_compounds(
    query: Fingerprint,
    query_tokens: list[str],
    query_kinds: list[int],
    candidate: Fingerprint,
    candidate_tokens: list[str],
    candidate_kinds: list[int],
) -> tuple[list[str], list[int], list[str], list[int]]:
    """Join "e mail" into "email" when the other side spells it as one word."""

    def merge(
        tokens: list[str], kinds: list[int], compounds: tuple[str | None, ...], other: set[str]
    ) -> tuple[list[str], list[int]]:
        if not any(compound in other for compound in compounds):
            return tokens, kinds
        own = set(tokens)
        merged: list[str] = []
        merged_kinds: list[int] = []
        previous_merged = False
        for index, (token, kind) in enumerate(zip(tokens, kinds)):
            compound = compounds[index - 1] if index else None
            # Only two words are glued: the hash of a longer run is not stored.
            if compound is not None and not previous_merged and compound in other and compound not in own:
                merged[-1] = compound
                merged_kinds[-1] = Kind.WORD
                previous_merged = True
            else:
                merged.append(token)
                merged_kinds.append(kind)
                previous_merged = False
        return merged, merged_kinds

    merged_query, merged_query_kinds = merge(query_tokens, query_kinds, query.compounds, set(candidate_tokens))
    merged_candidate, merged_candidate_kinds = merge(
        candidate_tokens, candidate_kinds, candidate.compounds, set(query_tokens)
    )
    return merged_query, merged_query_kinds, merged_candidate, merged_candidate_kinds


def _moved_block(
    query: list[str],
    query_kinds: list[int],
    query_starts: frozenset[int],
    candidate: list[str],
    candidate_kinds: list[int],
    candidate_starts: frozenset[int],
) -> int | None:
    """Return the length of the block whose move turns one token list into the other, or None.

    Two moves keep who does what to whom: a clause or prepositional phrase
    taken from the end to the front or back ("In Python, how do I..." / "how
    do I... in Python?"), and two neighbouring prepositional phrases swapped
    ("from Monday to Friday" / "to Friday from Monday"). Swapping two nouns
    ("from London to New York" / "from New York to London") is neither.
    """
    if len(query) != len(candidate) or len(query) > _MAX_REORDERED_WORDS:
        return None
    for words, kinds, starts, other in (
        (query, query_kinds, query_starts, candidate),
        (candidate, candidate_kinds, candidate_starts, query),
    ):
        clauses, phrases = _blocks(kinds, starts)
        for start, end in clauses + phrases:
            block, rest = words[start:end], words[:start] + words[end:]
            if (start == 0 and rest + block == other) or (end == len(words) and block + rest == other):
                return end - start
        for (start, middle), (next_start, end) in zip(phrases, phrases[1:]):
            swapped = words[:start] + words[middle:end] + words[start:middle] + words[end:]
            if middle == next_start and swapped == other:
                return middle - start
    return None


def _blocks(kinds: list[int], starts: frozenset[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return the (start, end) spans of the clauses and of the prepositional phrases."""
    boundaries = sorted(starts | {len(kinds)})
    clauses = [(start, end) for start, end in zip(boundaries, boundaries[1:]) if end - start < len(kinds)]
    phrases = []
    for index, kind in enumerate(kinds):
        if kind == Kind.PREPOSITION:
            end = index + 1
            while end < len(kinds) and end not in starts and kinds[end] != Kind.PREPOSITION:
                end += 1
            phrases.append((index, end))
    return clauses, phrases


def _negations_match(
    query: tuple[tuple[int, bool], ...], candidate: tuple[tuple[int, bool], ...], *, kinds: list[int]
) -> bool:
    """Check each negation sits before the same word on both sides.

    An inverted "doesn't" may sit up to a short subject earlier than the
    "not" of the other side. Word positions are only compared when the
    sentences are in the same order, which holds here except after a moved
    block; there a negation must then also have moved with it, so the check
    stays conservative.
    """
    for (query_index, query_inverted), (candidate_index, candidate_inverted) in zip(sorted(query), sorted(candidate)):
        if query_index == candidate_index:
            continue
        earlier, later = sorted((query_index, candidate_index))
        inverted_first = query_inverted if query_index < candidate_index else candidate_inverted
        inverted_later = candidate_inverted if query_index < candidate_index else query_inverted
        # The skipped words must be a subject ("my script"), not an
        # infinitive or a phrase: "don't I need to sign" is not "do I need to not sign".
        skipped = kinds[earlier:later]
        if (
            inverted_first
            and not inverted_later
            and later - earlier <= _INVERTED_NEGATION_REACH
            and Kind.PREPOSITION not in skipped
        ):
            continue
        return False
    return True


def _word_difference(query: list[str], candidate: list[str]) -> str:
    """Say how the words differ, counting them and naming none."""
    only_query = sum((Counter(query) - Counter(candidate)).values())
    only_candidate = sum((Counter(candidate) - Counter(query)).values())
    if only_query and only_candidate:
        return f"content word differs: {only_query} in query, {only_candidate} in candidate"
    if only_query:
        return f"{only_query} word{'s' if only_query > 1 else ''} only in query"
    return f"{only_candidate} word{'s' if only_candidate > 1 else ''} only in candidate"
