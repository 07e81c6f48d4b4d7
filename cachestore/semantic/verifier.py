"""The second stage of a semantic cache look-up: is the neighbour the same request?

Nearest-neighbour cosine alone serves near misses ("15% of 80" for "15% of
90", "JSON to object" for "object to JSON"). ``verify`` accepts a candidate
only when, after normalisation (case, punctuation, contractions, greetings,
politeness, typos, a few exact synonyms, a moved clause), both prompts ask for
the same thing word for word. Every rejection names the rule that fired.

Precision comes before recall: a wrong cached answer costs more than a miss.
"""

from collections import Counter
from dataclasses import dataclass

from cachestore.semantic import lexicon
from cachestore.semantic.features import Features, analyse
from cachestore.semantic.typos import is_typo

# The cosine a candidate must also reach. The rules, not the cosine, tell a
# paraphrase from a near miss (near misses score 0.9 and more); the floor only
# keeps the rules from ruling on unrelated text. all-MiniLM-L6-v2 is fragile
# to typos ("recomend ... habbits" scores 0.35), so a higher floor mostly
# loses typo'd paraphrases: on the dev pairs 0.75 serves 51 of the 90 same
# pairs with no error, 0.80 serves 50, 0.90 serves 42 (bench/semantic_curve.py).
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


def verify(
    query: str, candidate: str, cosine: float, *, sensitivity: Sensitivity = DEFAULT_SENSITIVITY
) -> Verdict:
    """Return whether ``candidate``'s cached answer may be served for ``query``."""
    query_features = analyse(query, synonyms=sensitivity.synonyms)
    candidate_features = analyse(candidate, synonyms=sensitivity.synonyms)
    rejection, forgiven = _compare(query_features, candidate_features, sensitivity)
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


def _compare(query: Features, candidate: Features, sensitivity: Sensitivity) -> tuple[str, list[str]]:
    """Return (the rejection reason or "", the differences forgiven)."""
    if query.quotes != candidate.quotes:
        return _difference("quoted text differs", query.quotes, candidate.quotes), []
    if query.numbers != candidate.numbers:
        return _difference("number differs", query.numbers, candidate.numbers), []
    if len(query.negations) != len(candidate.negations):
        return (
            f"negation differs: {len(query.negations)} in query, "
            f"{len(candidate.negations)} in candidate"
        ), []
    if query.tense != candidate.tense:
        return f"tense differs: {_tense(query)} vs {_tense(candidate)}", []
    query_words, candidate_words = _merge_compounds(list(query.words), list(candidate.words))
    spelling, forgiven = _align(
        query_words, candidate_words, sensitivity, names=(query.names, candidate.names)
    )
    if spelling is None:
        return _word_difference(query_words, candidate_words), []
    candidate_words = [spelling.get(word, word) for word in candidate_words]
    if query_words != candidate_words:
        moved = _moved_block(query_words, query.clause_starts, candidate_words, candidate.clause_starts)
        if not sensitivity.reorder or moved is None:
            return (
                f"word order differs: '{' '.join(query_words)}' vs '{' '.join(candidate_words)}'"
            ), []
        forgiven.append(f"moved '{' '.join(moved)}'")
    if not _negations_match(query.negations, candidate.negations, words=query_words):
        return "negation applies to a different word", []
    return "", forgiven


def _difference(label: str, query_items: tuple[str, ...], candidate_items: tuple[str, ...]) -> str:
    only_query = list((Counter(query_items) - Counter(candidate_items)).elements())
    only_candidate = list((Counter(candidate_items) - Counter(query_items)).elements())
    return f"{label}: {', '.join(only_query) or '(none)'} vs {', '.join(only_candidate) or '(none)'}"


def _tense(features: Features) -> str:
    return "/".join(sorted(features.tense)) or "present"


def _merge_compounds(query: list[str], candidate: list[str]) -> tuple[list[str], list[str]]:
    """Join "e mail" into "email" when the other side spells it as one word."""

    def merge(words: list[str], vocabulary: set[str]) -> list[str]:
        merged: list[str] = []
        for word in words:
            if merged and merged[-1] + word in vocabulary and merged[-1] + word not in words:
                merged[-1] += word
            else:
                merged.append(word)
        return merged

    return merge(query, set(candidate)), merge(candidate, set(query))


def _align(
    query: list[str],
    candidate: list[str],
    sensitivity: Sensitivity,
    *,
    names: tuple[frozenset[str], frozenset[str]],
) -> tuple[dict[str, str] | None, list[str]]:
    """Map each unmatched candidate word to a query word it misspells.

    Return (the map, the typos forgiven), or (None, []) when a word is left
    over on either side. Two words both capitalised on purpose are names,
    never typos of each other.
    """
    only_query = list((Counter(query) - Counter(candidate)).elements())
    only_candidate = list((Counter(candidate) - Counter(query)).elements())
    if not only_query and not only_candidate:
        return {}, []
    if len(only_query) != len(only_candidate) or not sensitivity.typos:
        return None, []
    spelling: dict[str, str] = {}
    forgiven: list[str] = []
    for candidate_word in only_candidate:
        match = next(
            (
                word
                for word in only_query
                if not (word in names[0] and candidate_word in names[1]) and is_typo(word, candidate_word)
            ),
            None,
        )
        if match is None:
            return None, []
        only_query.remove(match)
        spelling[candidate_word] = match
        forgiven.append(f"typo '{candidate_word}'~'{match}'")
    return spelling, forgiven


def _moved_block(
    query: list[str], query_starts: frozenset[int], candidate: list[str], candidate_starts: frozenset[int]
) -> list[str] | None:
    """Return the block whose move turns one word list into the other, or None.

    Two moves keep who does what to whom: a clause or prepositional phrase
    taken from the end to the front or back ("In Python, how do I..." / "how
    do I... in Python?"), and two neighbouring prepositional phrases swapped
    ("from Monday to Friday" / "to Friday from Monday"). Swapping two nouns
    ("from London to New York" / "from New York to London") is neither.
    """
    if len(query) != len(candidate) or len(query) > _MAX_REORDERED_WORDS:
        return None
    for words, starts, other in ((query, query_starts, candidate), (candidate, candidate_starts, query)):
        clauses, phrases = _blocks(words, starts)
        for start, end in clauses + phrases:
            block, rest = words[start:end], words[:start] + words[end:]
            if (start == 0 and rest + block == other) or (end == len(words) and block + rest == other):
                return block
        for (start, middle), (next_start, end) in zip(phrases, phrases[1:]):
            swapped = words[:start] + words[middle:end] + words[start:middle] + words[end:]
            if middle == next_start and swapped == other:
                return words[start:middle]
    return None


def _blocks(words: list[str], starts: frozenset[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return the (start, end) spans of the clauses and of the prepositional phrases."""
    boundaries = sorted(starts | {len(words)})
    clauses = [(start, end) for start, end in zip(boundaries, boundaries[1:]) if end - start < len(words)]
    phrases = []
    for index, word in enumerate(words):
        if word in lexicon.PREPOSITIONS:
            end = index + 1
            while end < len(words) and end not in starts and words[end] not in lexicon.PREPOSITIONS:
                end += 1
            phrases.append((index, end))
    return clauses, phrases


def _negations_match(
    query: tuple[tuple[int, bool], ...], candidate: tuple[tuple[int, bool], ...], *, words: list[str]
) -> bool:
    """Check each negation sits before the same word on both sides.

    An inverted "doesn't" may sit up to a short subject earlier than the
    "not" of the other side. Word positions are only compared when the
    sentences are in the same order, which holds here except after a moved
    block; there a negation must then also have moved with it, so the check
    stays conservative.
    """
    for (query_index, query_inverted), (candidate_index, candidate_inverted) in zip(
        sorted(query), sorted(candidate)
    ):
        if query_index == candidate_index:
            continue
        earlier, later = sorted((query_index, candidate_index))
        inverted_first = query_inverted if query_index < candidate_index else candidate_inverted
        inverted_later = candidate_inverted if query_index < candidate_index else query_inverted
        # The skipped words must be a subject ("my script"), not an
        # infinitive or a phrase: "don't I need to sign" is not "do I need to not sign".
        skipped = words[earlier:later]
        if (
            inverted_first
            and not inverted_later
            and later - earlier <= _INVERTED_NEGATION_REACH
            and not any(word in lexicon.PREPOSITIONS for word in skipped)
        ):
            continue
        return False
    return True


def _word_difference(query: list[str], candidate: list[str]) -> str:
    """Explain the first content-word difference."""
    only_query = list((Counter(query) - Counter(candidate)).elements())
    only_candidate = list((Counter(candidate) - Counter(query)).elements())
    for query_word in only_query:
        for candidate_word in only_candidate:
            kind = _contrast_kind(query_word, candidate_word)
            if kind:
                return f"{kind}: {query_word} vs {candidate_word}"
    if only_query and only_candidate:
        return f"word differs: {' '.join(only_query)} vs {' '.join(only_candidate)}"
    if only_query:
        return f"only in query: {' '.join(only_query)}"
    return f"only in candidate: {' '.join(only_candidate)}"


def _contrast_kind(first: str, second: str) -> str:
    if frozenset((first, second)) in lexicon.CONTRAST_PAIRS:
        return "opposite meaning"
    if first in _PRONOUNS and second in _PRONOUNS:
        return "person differs"
    shorter, longer = sorted((first, second), key=len)
    prefix = longer[: len(longer) - len(shorter)]
    if len(shorter) >= 3 and longer.endswith(shorter) and prefix in lexicon.NEGATING_PREFIXES:
        return "negating prefix"
    common = 0
    while common < len(shorter) and first[-1 - common] == second[-1 - common]:
        common += 1
    if (
        common >= 4
        and first[: len(first) - common] in lexicon.OPPOSING_PREFIXES
        and second[: len(second) - common] in lexicon.OPPOSING_PREFIXES
    ):
        return "opposite prefix"
    if longer.startswith(shorter) and longer[len(shorter) :] in ("s", "es"):
        return "singular vs plural"
    return ""


_PRONOUNS = frozenset(
    "i me my mine myself you your yours yourself he him his himself she her hers herself "
    "it its we us our ours they them their theirs".split()
)
