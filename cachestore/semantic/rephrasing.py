"""When the words differ beyond what the rules forgive: may the embedding call it one request?

The verifier serves a candidate when both prompts ask for the same thing word for word after
normalisation. A rephrasing ("What's the minimum age to rent a car in the US?" / "How old do you
have to be to rent a car in the United States?") differs in several words on both sides, which no
rule can prove equivalent; the embedding can, at a similarity well above the workspace threshold.
Near misses score as high as paraphrases (0.9 and more), so the embedding only decides once every
guard that catches them has passed: the verifier's own (numbers, quoted text, how many negations,
tense) and the shape of the difference checked here:

- both sides have words the other lacks, and one side at least two, prepositions not counted.
  One word swapped for one other is what a near miss looks like ("advantages"/"disadvantages", "clothing"/"electronics",
  "Rome"/"Milan", "ascending"/"descending"), so it stays a rule's decision (a typo, a synonym);
  words added on one side only add a requirement ("..., with a comment", "in detail").
- no name (a word capitalised inside a sentence) is on one side only: "Marie Curie" / "Einstein",
  "PostgreSQL" / "SQL Server".
- none of the query's unmatched words has, among the candidate's, its opposite
  (lexicon.CONTRAST_PAIRS) or its other grammatical number ("column"/"columns").

Only a fingerprint just made from a request carries its words (the guards hash variants of them
under the entry's key); two stored fingerprints never rephrase.
"""

from collections import Counter

from cachestore.semantic import lexicon
from cachestore.semantic.fingerprint import Fingerprint

# The similarity a rephrasing needs: the workspace threshold plus a margin, and never less than a
# floor, so a workspace that lowers its threshold for typos and reordering does not loosen this.
# On the dev pairs (all-MiniLM-L6-v2, int8) the rephrasings that pass the guards score 0.68-0.95
# and the near misses that pass them at most 0.82; docs/benchmarks.md has the curve.
REPHRASING_MARGIN = 0.05
REPHRASING_MIN_COSINE = 0.85
# A rephrasing longer than this many differing words is a different request more often than not.
_MAX_DIFFERING_WORDS = 12


def is_rephrasing(query: Fingerprint, only_query: Counter, only_candidate: Counter, *, particles: set) -> bool:
    """Return whether the words differ the way a rephrasing does (see the module docstring).

    ``only_query`` and ``only_candidate`` count the hashed tokens each side has and the other lacks;
    ``particles`` holds the hashes of prepositions, which do not count as words said otherwise
    ("in favour of" / "against" is one word swapped, not a rephrasing).
    """
    if query.words is None or query.keyed is None:
        return False
    query_count = sum(count for token, count in only_query.items() if token not in particles)
    candidate_count = sum(count for token, count in only_candidate.items() if token not in particles)
    return (
        query_count > 0
        and candidate_count > 0
        and max(query_count, candidate_count) >= 2
        and query_count + candidate_count <= _MAX_DIFFERING_WORDS
    )


def near_miss_reason(query: Fingerprint, only_query: Counter, only_candidate: Counter, *, names: set) -> str:
    """Return why a rephrasing is a near miss after all, or "" if nothing says so.

    ``names`` holds the hashes of words capitalised inside a sentence on either side.
    """
    if names.intersection(only_query) or names.intersection(only_candidate):
        return "a name differs"
    word_of_token = dict(zip(query.tokens, query.words or ()))
    for token in only_query:
        word = word_of_token.get(token)
        if word is None:
            continue
        if any(query.keyed(opposite) in only_candidate for opposite in _opposites(word)):
            return "a word is replaced by its opposite"
        if any(query.keyed(form) in only_candidate for form in _other_numbers(word)):
            return "singular and plural differ"
    return ""


def _opposites(word: str) -> list[str]:
    return [other for pair in lexicon.CONTRAST_PAIRS if word in pair for other in pair if other != word]


def _other_numbers(word: str) -> list[str]:
    """Return the plural of a singular noun and the singulars a plural may have, regular forms only."""
    if not word.isalpha() or len(word) < 4:  # "its" is not the plural of "it"
        return []
    forms = [word + "s", word + "es"]
    if word.endswith("y"):
        forms.append(word[:-1] + "ies")
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return forms
