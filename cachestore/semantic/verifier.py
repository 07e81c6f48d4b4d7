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

from cachestore.semantic import typos
from cachestore.semantic.fingerprint import Fingerprint, Kind, Tense, fingerprint
from cachestore.semantic.rephrasing import REPHRASING_MARGIN, REPHRASING_MIN_COSINE, is_rephrasing, near_miss_reason

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
# How many unmatched words of the query are tried as slips of the candidate's words, each costing
# ~0.3 ms of hashing for an eight-letter word.
_MAX_SLIP_SEARCHES = 4
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
    # Several words said otherwise, decided by the embedding (rephrasing.py) at the threshold plus
    # REPHRASING_MARGIN, once the guards against near misses have passed.
    rephrasing: bool = True


DEFAULT_SENSITIVITY = Sensitivity()
# Only case, punctuation, contractions and courtesy may differ.
STRICT_SENSITIVITY = Sensitivity(min_cosine=0.85, typos=False, synonyms=False, reorder=False, rephrasing=False)


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
    query: Fingerprint,
    candidate: Fingerprint,
    cosine: float,
    *,
    sensitivity: Sensitivity = DEFAULT_SENSITIVITY,
    threshold: float = 0.0,
) -> Verdict:
    """Return whether the cached answer of ``candidate``'s prompt may be served for ``query``'s.

    ``threshold`` is the similarity the workspace asks of a hit; a rephrasing must reach it plus
    REPHRASING_MARGIN, and at least REPHRASING_MIN_COSINE.
    """
    rejection, forgiven, rephrased = _compare(query, candidate, sensitivity)
    if rejection:
        return Verdict(accepted=False, score=0.0, reason=rejection)
    floor = max(sensitivity.min_cosine, threshold)
    if rephrased:
        floor = max(floor + REPHRASING_MARGIN, REPHRASING_MIN_COSINE)
    if cosine < floor:
        what = "rephrasing: cosine" if rephrased else "cosine"
        return Verdict(accepted=False, score=cosine, reason=f"{what} {cosine:.3f} below {floor:.2f}")
    reason = "same request" + (f" ({'; '.join(forgiven)})" if forgiven else "")
    return Verdict(accepted=True, score=cosine, reason=reason)


def _compare(query: Fingerprint, candidate: Fingerprint, sensitivity: Sensitivity) -> tuple[str, list[str], bool]:
    """Return (the rejection reason or "", the differences forgiven, whether the words were rephrased)."""
    if query.key_id != candidate.key_id:
        return "fingerprints made with different secrets", [], False
    if query.digest or candidate.digest:
        return ("", [], False) if query.digest == candidate.digest else ("long prompt differs", [], False)
    forgiving = sensitivity.typos and sensitivity.synonyms
    query_tokens = list(query.tokens if forgiving or query.literal is None else query.literal)
    candidate_tokens = list(candidate.tokens if forgiving or candidate.literal is None else candidate.literal)
    for kind, label in ((Kind.QUOTE, "quoted text"), (Kind.NUMBER, "number")):
        query_items = Counter(token for token, of in zip(query_tokens, query.kinds) if of == kind)
        candidate_items = Counter(token for token, of in zip(candidate_tokens, candidate.kinds) if of == kind)
        if query_items != candidate_items:
            return f"{label} differs", [], False
    if len(query.negations) != len(candidate.negations):
        return (
            f"negation differs: {len(query.negations)} in query, {len(candidate.negations)} in candidate",
            [],
            False,
        )
    if query.tense != candidate.tense:
        return f"tense differs: {_tense(query.tense)} vs {_tense(candidate.tense)}", [], False
    query_kinds, candidate_kinds = list(query.kinds), list(candidate.kinds)
    if forgiving:
        # Slips were corrected when the fingerprints were made; the compounds
        # are hashes of canonical words, so they only apply here.
        query_tokens, query_kinds, candidate_tokens, candidate_kinds = _merge_compounds(
            query, query_tokens, query_kinds, candidate, candidate_tokens, candidate_kinds
        )
    slips = 0
    if forgiving and Counter(query_tokens) != Counter(candidate_tokens):
        candidate_tokens, slips = _align_slips(
            query, query_tokens, candidate_tokens, candidate_kinds, candidate_version=candidate.version
        )
    if Counter(query_tokens) != Counter(candidate_tokens):
        difference = _word_difference(query_tokens, candidate_tokens)
        only_query = Counter(query_tokens) - Counter(candidate_tokens)
        only_candidate = Counter(candidate_tokens) - Counter(query_tokens)
        particles = {
            token
            for tokens, kinds in ((query_tokens, query_kinds), (candidate_tokens, candidate_kinds))
            for token, kind in zip(tokens, kinds)
            if kind == Kind.PREPOSITION
        }
        if not (
            forgiving
            and sensitivity.rephrasing
            and is_rephrasing(query, candidate, only_query, only_candidate, particles=particles)
        ):
            return difference, [], False
        names = {
            token
            for tokens, kinds in ((query_tokens, query_kinds), (candidate_tokens, candidate_kinds))
            for token, kind in zip(tokens, kinds)
            if kind == Kind.NAME
        }
        near_miss = near_miss_reason(
            query, query_tokens, candidate_tokens, only_query, only_candidate, names=names, particles=particles
        )
        if near_miss:
            return near_miss, [], False
        # Where the words differ, their positions do not line up; the negations were counted above.
        return "", [f"rephrased ({difference})"], True
    forgiven: list[str] = []
    if forgiving and query.typos + candidate.typos + slips:
        count = query.typos + candidate.typos + slips
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
            return "word order differs", [], False
        forgiven.append(f"moved {moved} word{'s' if moved > 1 else ''}")
    if not _negations_match(query.negations, candidate.negations, kinds=query_kinds):
        return "negation applies to a different word", [], False
    return "", forgiven, False


def _align_slips(
    query: Fingerprint,
    query_tokens: list[str],
    candidate_tokens: list[str],
    candidate_kinds: list[int],
    *,
    candidate_version: int,
) -> tuple[list[str], int]:
    """Return the candidate's tokens with each slip of a query word replaced by that word, and how many.

    A slip the fingerprints could not correct on their own (the intended word is not in the
    vocabulary, or a misspelling has several corrections: "strng" is "string" or "strong") is
    found pairwise: the query's unmatched words are misspelt in every way ``typos.is_typo``
    forgives, hashed under the entry's key, and looked for among the candidate's unmatched hashes.
    Works in both directions, as the misspelling of a word and the word are one edit apart either
    way. Names are spelt on purpose on either side ("Perl" is not "Pearl"). Only a fingerprint
    just made from a request carries its words; two stored ones are compared as they are.
    """
    if query.words is None or query.keyed is None or candidate_version < 2:
        return candidate_tokens, 0
    only_query = Counter(query_tokens) - Counter(candidate_tokens)
    only_candidate = Counter(candidate_tokens) - Counter(query_tokens)
    for token, kind in zip(candidate_tokens, candidate_kinds):
        if kind == Kind.NAME:
            only_candidate.pop(token, None)
    word_of_token = {
        token: word for token, word, kind in zip(query.tokens, query.words, query.kinds) if kind != Kind.NAME
    }
    replacements: dict[str, str] = {}
    searched = 0
    for token in only_query:
        word = word_of_token.get(token)
        # The slip rule knows English spellings only: in other scripts one letter is often another
        # word ("стол"/"столб"), and the vocabulary that vetoes two real words is ASCII.
        if (
            not only_candidate
            or word is None
            or not (word.isalpha() and word.isascii())
            or not typos.MIN_LENGTH - 1 <= len(word) <= typos.MAX_CORRECTABLE_LENGTH
        ):
            continue
        if searched == _MAX_SLIP_SEARCHES:
            break
        searched += 1
        found = {
            variant_hash
            for variant in typos.one_edit_spellings(word)
            if (variant_hash := query.keyed(variant)) in only_candidate and typos.is_typo(word, variant)
        }
        # Two of the candidate's words one slip from this one: which is meant cannot be told.
        if len(found) == 1:
            candidate_hash = found.pop()
            replacements[candidate_hash] = token
            del only_candidate[candidate_hash]
    if not replacements:
        return candidate_tokens, 0
    return [replacements.get(token, token) for token in candidate_tokens], len(replacements)


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
