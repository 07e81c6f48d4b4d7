"""Decide whether two differing words are one word and a slip of the keyboard.

A slip is forgiven only where it cannot be a different real word: one edit
(a swap of neighbours, a letter dropped or added, a consonant replaced) in a
word of five letters or more, never in the first letter ("methanol" is not
"ethanol"), never a suffix ("column"/"columns", "Clark"/"Clarke"), never a
vowel change ("ethanol"/"ethanal", "capitol"/"capital"), and never between
two words both in the model's vocabulary ("dose"/"does", "angel"/"angle").
"""

import functools
import json
import re
from pathlib import Path

from cachestore.semantic import lexicon

# The embedder's tokenizer; read here as a word list only, without onnxruntime.
TOKENIZER_PATH = Path(__file__).parent / "model" / "tokenizer.json"

MIN_LENGTH = 5
_VOWELS = frozenset("aeiouy")
_SUFFIXES = frozenset("s es d ed r er e n an ian ly y ing al ic ism ist ment ness".split())


@functools.cache
def known_words() -> frozenset[str]:
    """Return the whole English words of the embedder's WordPiece vocabulary."""
    with open(TOKENIZER_PATH, encoding="utf-8") as handle:
        vocabulary = json.load(handle)["model"]["vocab"]
    return frozenset(word for word in vocabulary if word.isalpha() and word.isascii())


def is_typo(first: str, second: str) -> bool:
    """Return True when one word is a misspelling of the other."""
    if first == second:
        return True
    shorter, longer = sorted((first, second), key=len)
    if len(longer) < MIN_LENGTH or not (first.isalpha() and second.isalpha()):
        return False
    if first[0] != second[0] or frozenset((first, second)) in lexicon.CONTRAST_PAIRS:
        return False
    if longer.startswith(shorter) and longer[len(shorter) :] in _SUFFIXES:
        return False
    edit = _single_edit(first, second)
    if edit is None:
        return False
    known = known_words()
    both_known = first in known and second in known
    if both_known:
        return False
    kind, position, letters = edit
    if kind == "substitution":
        # Vowels carry meaning in endings and names; the last three letters
        # carry suffixes (-ide/-ine, -ate/-ite).
        return not (set(letters) & _VOWELS) and position < len(first) - 3
    return True


def _single_edit(first: str, second: str) -> tuple[str, int, str] | None:
    """Return (kind, position, letters) of the one edit between the words, or None."""
    if len(first) == len(second):
        differing = [index for index, (a, b) in enumerate(zip(first, second)) if a != b]
        if len(differing) == 1:
            index = differing[0]
            return "substitution", index, first[index] + second[index]
        if (
            len(differing) == 2
            and differing[1] == differing[0] + 1
            and first[differing[0]] == second[differing[1]]
            and first[differing[1]] == second[differing[0]]
        ):
            return "transposition", differing[0], first[differing[0]] + first[differing[1]]
        return None
    shorter, longer = sorted((first, second), key=len)
    if len(longer) - len(shorter) != 1:
        return None
    index = next((i for i, (a, b) in enumerate(zip(shorter, longer)) if a != b), len(shorter))
    if longer[:index] + longer[index + 1 :] == shorter:
        return "insertion", index, longer[index]
    return None


# Longer tokens are identifiers, hashes or glued words, not slips; leaving them
# alone also bounds the work on a long prompt.
MAX_CORRECTABLE_LENGTH = 20
# Bounds for with_slips_corrected, as for the fingerprint: a long text is embedded as written.
_MAX_CORRECTED_TEXT_CHARACTERS = 2500
_MAX_CORRECTED_WORDS = 16
# Known words are lower-case ASCII (see known_words), so slips are corrected within these letters.
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_WORD_RE = re.compile(r"[^\W\d_]+")
_SENTENCE_END_RE = re.compile(r"(?:^|[.!?:]\s*)$")


@functools.cache
def correctable_words() -> frozenset[str]:
    """Return the words a slip may be corrected to: the vocabulary and the lexicon's words.

    The lexicon adds the unit and synonym spellings WordPiece splits
    ("fahrenheit", "celsius"), so their slips canonicalise too.
    """
    lexicon_words = {
        *lexicon.SYNONYMS,
        *lexicon.UNITS,
        *lexicon.UNITS_AFTER_NUMBER_ONLY,
        *lexicon.UNITS_AFTER_NUMBER_ONLY.values(),
        *lexicon.ORDINALS,
        *lexicon.NUMBER_WORDS,
        *lexicon.NUMBER_SCALES,
        *lexicon.PREPOSITIONS,
    }
    return known_words() | frozenset(word for word in lexicon_words if word.isalpha() and word.isascii())


def correction(word: str) -> str:
    """Return the one known word ``word`` misspells, or ``word`` itself.

    A known word, or one with no or several possible corrections, is kept:
    both sides of a comparison only spell a slip alike when it is
    unambiguous. Swapped neighbours are the likeliest slip, so a swap that
    yields a word wins over a dropped, added or replaced letter ("recieve"
    is "receive", not "relieve"). Not memoised, to keep no prompt words in
    memory after the request.
    """
    known = correctable_words()
    if (
        word in known
        or not word.isalpha()
        or not word.isascii()
        or not MIN_LENGTH - 1 <= len(word) <= MAX_CORRECTABLE_LENGTH
    ):
        return word
    for candidates in _one_edit(word):
        found = {candidate for candidate in candidates if candidate in known and is_typo(word, candidate)}
        if found:
            return found.pop() if len(found) == 1 else word
    return word


def with_slips_corrected(text: str) -> str:
    """Return the text with every unambiguous slip replaced by the word it misspells.

    The embedder is fragile to typos ("recomend a good book about habbits" scores 0.35 against
    the same question spelt right), so the semantic cache embeds this form: a slip then costs no
    similarity, while the verifier still compares the words themselves. A word capitalised inside
    a sentence is a name and stays as written, as in the fingerprint.
    """
    if len(text) > _MAX_CORRECTED_TEXT_CHARACTERS:
        return text
    known = correctable_words()
    pieces = []
    written_up_to = attempts = 0
    for match in _WORD_RE.finditer(text):
        word = match.group()
        lowered = word.lower()
        if lowered in known:
            continue
        # Acronyms ("JSON", "CORS") and names are spelt on purpose; only a capital that starts a
        # sentence is not a sign of one.
        if word != lowered and (word.isupper() and len(word) > 1 or not _SENTENCE_END_RE.search(text[: match.start()])):
            continue
        attempts += 1
        if attempts > _MAX_CORRECTED_WORDS:
            break
        corrected = correction(lowered)
        if corrected != lowered:
            pieces += [text[written_up_to : match.start()], corrected]
            written_up_to = match.end()
    return "".join(pieces) + text[written_up_to:] if pieces else text


def one_edit_spellings(word: str):
    """Yield every spelling one edit away from ``word`` that keeps its first letter (unchecked)."""
    for candidates in _one_edit(word):
        yield from candidates


def _one_edit(word: str):
    """Yield, likeliest slip first, the spellings one edit away that keep the first letter.

    Generated rather than looked up in an index of the vocabulary's deletions: an unknown word is
    rare, and the index held ~28 MB in every process for a saving of ~50 us per such word.
    """
    yield [word[:index] + word[index + 1] + word[index] + word[index + 2 :] for index in range(1, len(word) - 1)]
    yield [
        # the slip added a letter
        *(word[:index] + word[index + 1 :] for index in range(1, len(word))),
        # the slip dropped a letter
        *(word[:index] + letter + word[index:] for index in range(1, len(word) + 1) for letter in _ALPHABET),
        # the slip replaced a letter
        *(
            word[:index] + letter + word[index + 1 :]
            for index in range(1, len(word))
            for letter in _ALPHABET
            if letter != word[index]
        ),
    ]
