"""Does a fresh answer agree with the cached answer a semantic hit served in its place?

A cheap check, run on the two texts in memory and never stored (only the verdict is counted):

1. Normalise both (Unicode NFKC, case, punctuation, whitespace). Identical: they agree.
2. The numbers they contain ("1,250.50" and "1250.5" are one number) must be the same set:
   a number in one and not in the other is a disagreement ("15 %" served for "20 %").
3. Every name one contains (a capitalised word not opening a sentence: "Paris", "Python") must
   appear in the other, anywhere: a cached answer about another entity disagrees.
4. Their content words (the normalised words less a short list of function words) must overlap
   by at least `MIN_CONTENT_SIMILARITY`, as a multiset Jaccard (shared counts over all counts).

What it can tell: a served answer about a different entity, number, date or quantity, or about
a different subject altogether, when the model answers a question the same way each time (short
factual answers, extraction, classification, FAQ bots at temperature 0).

What it cannot tell: which of the two answers is right; whether two differently worded answers
mean the same (a model sampling at temperature > 0, or a long free-form answer, differs from
itself run to run, and the check reports that as a disagreement); word order ("convert a list to
a dict" against "a dict to a list" agrees); a negation that leaves the content words alike beyond
the bound. Disagreement is therefore an upper bound on wrong serves for deterministic answers,
and noise for free-form ones: sample only workspaces whose answers are short and repeatable.
"""

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

# Below this multiset Jaccard of content words, two answers say different things. A one-word
# swap in a four-content-word answer scores 0.6 and disagrees; one changed word in twenty
# (a rephrased aside) scores 0.9 and agrees. Chosen on those two cases, not tuned on a data set.
MIN_CONTENT_SIMILARITY = 0.8
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")
THOUSANDS = re.compile(r",(?=\d{3}\b)")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)([A-Z][\w'-]*)")
FUNCTION_WORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from as into about than that this these those
    is are was were be been being am do does did has have had it its it's i you he she we they them their our
    your my me us his her what which who whom whose when where why how there here can could would should will
    shall may might must just also very""".split()
)


@dataclass(frozen=True)
class Agreement:
    """The verdict, and which rule decided it (a rule's name, never a word of either answer)."""

    agrees: bool
    rule: str  # "identical", "numbers", "names", "similar" or "different"
    similarity: float


def compare_answers(served, fresh):
    """Return whether the fresh answer agrees with the served one (see the module's docstring)."""
    served_normal, fresh_normal = _normalised(served), _normalised(fresh)
    if served_normal == fresh_normal:
        return Agreement(True, "identical", 1.0)
    if _numbers(served) != _numbers(fresh):
        return Agreement(False, "numbers", 0.0)
    if not _names(served) <= set(fresh_normal.split()) or not _names(fresh) <= set(served_normal.split()):
        return Agreement(False, "names", 0.0)
    similarity = _content_similarity(served_normal, fresh_normal)
    if similarity >= MIN_CONTENT_SIMILARITY:
        return Agreement(True, "similar", similarity)
    return Agreement(False, "different", similarity)


def _normalised(text):
    return " ".join(WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _numbers(text):
    numbers = set()
    for match in NUMBER.findall(unicodedata.normalize("NFKC", text)):
        digits = THOUSANDS.sub("", match).lstrip("+")
        if "." in digits:
            digits = digits.rstrip("0").rstrip(".")
        numbers.add(digits)
    return numbers


def _names(text):
    text = unicodedata.normalize("NFKC", text)
    openers = {match.start(1) for match in SENTENCE_START.finditer(text)}
    return {
        match.group(1).casefold()
        for match in re.finditer(r"\b([A-Z][\w'-]*)", text)
        if match.start(1) not in openers and match.group(1).casefold() not in FUNCTION_WORDS
    }


def _content_similarity(served_normal, fresh_normal):
    # Numbers were compared whole above; split at their commas and points they are not words.
    served_words = Counter(word for word in served_normal.split() if word not in FUNCTION_WORDS and not word.isdigit())
    fresh_words = Counter(word for word in fresh_normal.split() if word not in FUNCTION_WORDS and not word.isdigit())
    if not served_words and not fresh_words:
        served_words, fresh_words = Counter(served_normal.split()), Counter(fresh_normal.split())
    union = sum((served_words | fresh_words).values())
    return sum((served_words & fresh_words).values()) / union if union else 1.0
