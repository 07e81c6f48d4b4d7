"""A prompt's comparable features with every word replaced by a keyed hash.

A cache entry may not keep its prompt's text (privacy invariant 1), so the
verifier compares fingerprints: the analysis of features.py (normalisation,
contractions, courtesy, units, synonyms), unambiguous typos corrected to the
vocabulary word, then every word, number and quoted string replaced by an
HMAC-SHA256 under the workspace's hash key (accounts.keys.workspace_hash_key:
its secret keyed again with the server's), truncated to 8 bytes. What is kept
besides the hashes is structure, never text: which tokens are numbers, quotes
or prepositions, where clauses begin, where negations sit, the tense.

Without the key a hash cannot be matched against a guessed word, and a database
dump does not hold the key; with it, only by guessing. Two fingerprints compare only under the same secret.
"""

import functools
import hashlib
import hmac
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from cachestore.semantic import lexicon
from cachestore.semantic.features import analyse
from cachestore.semantic.typos import correctable_words, correction

# 2 marks names (Kind.NAME); version 1 entries are still read, but only compared word for word.
VERSION = 2
READABLE_VERSIONS = (1, 2)
# Past this length a prompt is compared whole (one hash of its normalised
# text): the analysis grows with the text, and a long prompt is rarely
# re-asked in other words.
MAX_ANALYSED_CHARACTERS = 2500
# A long prompt full of identifiers would otherwise spend milliseconds
# looking for slips; past this many unknown words, the rest are hashed as
# written, which can only cost a miss.
_MAX_CORRECTIONS = 16
_HASH_BYTES = 8


class Kind:
    """What a hashed token is; the verifier's rules need the kind, not the word."""

    WORD = 0
    NUMBER = 1
    QUOTE = 2
    PREPOSITION = 3
    NAME = 4  # capitalised inside a sentence: spelt on purpose, never a slip or a rephrasing


class Tense:
    PRESENT = 0
    PAST = 1
    FUTURE = 2  # a bit mask: 3 is both


@dataclass(frozen=True)
class Fingerprint:
    """A prompt's features with no word of its text; see the module docstring."""

    key_id: str  # which secret made the hashes
    tokens: tuple[str, ...]  # typos corrected and synonyms canonicalised, in order
    # The same tokens before typo correction and synonyms (strict comparisons),
    # or None when they are the same.
    literal: tuple[str, ...] | None
    kinds: tuple[int, ...]
    clause_starts: tuple[int, ...]
    negations: tuple[tuple[int, bool], ...]  # (index into tokens, inverted auxiliary?)
    tense: int
    # The hash of each word glued to the next one, so "e mail" can match
    # "email"; None where either is not a plain word.
    compounds: tuple[str | None, ...]
    typos: int  # how many slips were corrected
    digest: str | None = None  # a prompt too long to analyse: the hash of all of it
    version: int = VERSION
    # Only on a fingerprint just made from a request, never stored or shown: the canonical words
    # behind ``tokens`` and the keyed hash that made them, so the verifier can hash this side's
    # misspellings of a word and look for them among the other side's hashes.
    words: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    keyed: Callable[[str], str] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        """Return the fingerprint as JSON-serialisable data."""
        return {
            "version": self.version,
            "key_id": self.key_id,
            "tokens": list(self.tokens),
            "literal": None if self.literal is None else list(self.literal),
            "kinds": list(self.kinds),
            "clause_starts": list(self.clause_starts),
            "negations": [[index, int(inverted)] for index, inverted in self.negations],
            "tense": self.tense,
            "compounds": list(self.compounds),
            "typos": self.typos,
            "digest": self.digest,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Fingerprint":
        """Rebuild a fingerprint from ``to_json`` data; refuse another version."""
        if data.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"unsupported fingerprint version {data.get('version')!r}")
        return cls(
            key_id=data["key_id"],
            tokens=tuple(data["tokens"]),
            literal=None if data["literal"] is None else tuple(data["literal"]),
            kinds=tuple(data["kinds"]),
            clause_starts=tuple(data["clause_starts"]),
            negations=tuple((index, bool(inverted)) for index, inverted in data["negations"]),
            tense=data["tense"],
            compounds=tuple(data["compounds"]),
            typos=data["typos"],
            digest=data["digest"],
            version=data["version"],
        )


def fingerprint(text: str, *, secret: bytes) -> Fingerprint:
    """Return the fingerprint of one prompt under ``secret``."""
    keyed = _keyed_hash(secret)
    if len(text) > MAX_ANALYSED_CHARACTERS:
        return _whole(text, keyed, key_id=_key_id(secret))
    features = analyse(text, synonyms=False)
    hashes: dict[str, str] = {}  # local: a repeated word is hashed once per call

    def token_hash(token: str) -> str:
        if token not in hashes:
            hashes[token] = keyed(token)
        return hashes[token]

    literal = features.words
    known = correctable_words()
    canonical: list[str] = []
    typos = attempts = 0
    for word in literal:
        corrected = word
        # A capitalised word is spelt on purpose ("Perl" is not "Pearl").
        if attempts < _MAX_CORRECTIONS and word.isalpha() and word not in known and word not in features.names:
            attempts += 1
            corrected = correction(word)
            if corrected != word:
                typos += 1
                corrected = lexicon.UNITS.get(corrected, corrected)
                if corrected in lexicon.ORDINALS:
                    corrected = f"#{lexicon.ORDINALS[corrected]}"
        canonical.append(lexicon.SYNONYMS.get(corrected, corrected))
    kinds = tuple(_kind(word, names=features.names) for word in canonical)
    tokens = tuple(token_hash(word) for word in canonical)
    literal_tokens = tuple(token_hash(word) for word in literal) if canonical != list(literal) else None
    compounds = tuple(
        token_hash(first + second) if first.isalpha() and second.isalpha() else None
        for first, second in zip(canonical, canonical[1:])
    )
    return Fingerprint(
        key_id=_key_id(secret),
        tokens=tokens,
        literal=literal_tokens,
        kinds=kinds,
        clause_starts=tuple(sorted(features.clause_starts)),
        negations=features.negations,
        tense=(Tense.PAST if "past" in features.tense else 0) | (Tense.FUTURE if "future" in features.tense else 0),
        compounds=compounds,
        typos=typos,
        words=tuple(canonical),
        keyed=keyed,
    )


def _kind(word: str, *, names: frozenset[str]) -> int:
    if word in names:
        return Kind.NAME
    if word.startswith("#") and len(word) > 1:
        return Kind.NUMBER
    if word.startswith("'"):
        return Kind.QUOTE
    if word in lexicon.PREPOSITIONS:
        return Kind.PREPOSITION
    return Kind.WORD


def _whole(text: str, keyed, *, key_id: str) -> Fingerprint:
    """Fingerprint a long prompt as one hash of its case- and space-normalised text."""
    normalised = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return Fingerprint(
        key_id=key_id,
        tokens=(),
        literal=None,
        kinds=(),
        clause_starts=(),
        negations=(),
        tense=Tense.PRESENT,
        compounds=(),
        typos=0,
        digest=keyed(normalised),
    )


@functools.cache
def _keyed_hash(secret: bytes):
    """Return a function hashing a token with HMAC-SHA256 under ``secret``.

    The keyed state is built once per secret and copied per token, which
    halves the cost of each hash.
    """
    base = hmac.new(secret, digestmod=hashlib.sha256)

    def keyed(token: str) -> str:
        state = base.copy()
        state.update(token.encode("utf-8"))
        return state.digest()[:_HASH_BYTES].hex()

    return keyed


@functools.cache
def _key_id(secret: bytes) -> str:
    return hmac.new(secret, b"optera fingerprint key id", hashlib.sha256).digest()[:4].hex()
