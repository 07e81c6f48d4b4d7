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
