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
- the two sides do not each say a different word of direction or polarity (lexicon.POLAR_WORDS:
  "increase" / "smaller", "pros" / "benefits"), and none of the query's unmatched words has its
  other grammatical number among the candidate's ("row"/"rows").
- no two shared words swap places across a particle of direction on both sides: "convert JSON to
  a Python object" / "turn a Python object into JSON" (the embedding scores it 0.95; it is the
  opposite request). Other reorderings are rephrasings ("a 404 HTTP error" / "HTTP status 404").

Only a fingerprint just made from a request carries its words (the guards hash variants of them
under the entry's key); two stored fingerprints never rephrase, nor does an entry stored before
fingerprints marked names (version 1), whose side of the name guard would be blind.
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


def is_rephrasing(
    query: Fingerprint, candidate: Fingerprint, only_query: Counter, only_candidate: Counter, *, particles: set
) -> bool:
    """Return whether the words differ the way a rephrasing does (see the module docstring).

    ``only_query`` and ``only_candidate`` count the hashed tokens each side has and the other lacks;
    ``particles`` holds the hashes of prepositions, which do not count as words said otherwise
    ("in favour of" / "against" is one word swapped, not a rephrasing).
    """
    if query.words is None or query.keyed is None or candidate.version < 2:
        return False
    query_count = sum(count for token, count in only_query.items() if token not in particles)
    candidate_count = sum(count for token, count in only_candidate.items() if token not in particles)
    return (
        query_count > 0
        and candidate_count > 0
        and max(query_count, candidate_count) >= 2
        and query_count + candidate_count <= _MAX_DIFFERING_WORDS
    )


def near_miss_reason(
    query: Fingerprint,
    query_tokens: list[str],
    candidate_tokens: list[str],
    only_query: Counter,
    only_candidate: Counter,
    *,
    names: set,
    particles: set,
) -> str:
    """Return why a rephrasing is a near miss after all, or "" if nothing says so.

    ``names`` holds the hashes of words capitalised inside a sentence on either side, ``particles``
    those of prepositions.
    """
    if names.intersection(only_query) or names.intersection(only_candidate):
        return "a name differs"
    word_of_token = dict(zip(query.tokens, query.words or ()))
    # The query's words are at hand: only when one of them is polar are the polar words hashed
    # (~150 keyed hashes) to look for one on the candidate's side.
    query_polar = any(word_of_token.get(token) in lexicon.POLAR_WORDS for token in only_query)
    if query_polar and {query.keyed(word) for word in lexicon.POLAR_WORDS}.intersection(only_candidate):
        return "a word of direction or polarity differs"
    for token in only_query:
        word = word_of_token.get(token)
        if word is not None and any(query.keyed(form) in only_candidate for form in _other_numbers(word)):
            return "singular and plural differ"
    directions = {query.keyed(word) for word in lexicon.DIRECTION_PARTICLES}
    if _reversed_across_a_direction(query_tokens, candidate_tokens, particles, directions):
        return "direction reversed"
    return ""


def _reversed_across_a_direction(
    query_tokens: list[str], candidate_tokens: list[str], particles: set, directions: set
) -> bool:
    """Return whether two words found once on each side swap places with a direction particle between them on both."""
    query_counts, candidate_counts = Counter(query_tokens), Counter(candidate_tokens)
    shared = [
        token
        for token in query_tokens
        if query_counts[token] == 1 and candidate_counts[token] == 1 and token not in particles
    ]
    query_position = {token: query_tokens.index(token) for token in shared}
    candidate_position = {token: candidate_tokens.index(token) for token in shared}

    def direction_between(tokens, first, second):
        return any(token in directions for token in tokens[min(first, second) + 1 : max(first, second)])

    for index, first in enumerate(shared):
        for second in shared[index + 1 :]:
            if (
                candidate_position[first] > candidate_position[second]
                and direction_between(query_tokens, query_position[first], query_position[second])
                and direction_between(candidate_tokens, candidate_position[first], candidate_position[second])
            ):
                return True
    return False


def _other_numbers(word: str) -> list[str]:
    """Return the plural of a singular noun and the singulars a plural may have, regular forms only."""
    if not word.isalpha() or len(word) < 3:
        return []
    forms = [word + "s", word + "es"]
    if len(word) == 3:  # "row"/"rows", but "its" is not the plural of "it"
        return forms
    if word.endswith("y"):
        forms.append(word[:-1] + "ies")
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return forms
