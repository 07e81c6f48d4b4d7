"""The text the semantic cache embeds: unambiguous slips corrected, everything else as written."""

import pytest

from cachestore.semantic.embedder import local_embedder
from cachestore.semantic.typos import with_slips_corrected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("recomend a good book about habbits", "recommend a good book about habits"),
        ("Explian it simply.", "explain it simply."),
        ("How do I reset my password?", "How do I reset my password?"),
        # A capitalised word inside a sentence is a name, spelt on purpose.
        ("Ask Jhon about the invoice", "Ask Jhon about the invoice"),
        # Acronyms too, wherever they stand.
        ("Explain CORS and JSON", "Explain CORS and JSON"),
        ("JSON to YAML", "JSON to YAML"),
        # Real words are never "corrected" into other real words.
        ("Convert methanol to ethanol", "Convert methanol to ethanol"),
        ("decrypt this with the key", "decrypt this with the key"),
        # "strng" could be "string" or "strong": left alone.
        ("reverse a strng", "reverse a strng"),
        ("", ""),
    ],
)
def test_only_unambiguous_slips_change(text, expected):
    assert with_slips_corrected(text) == expected


def test_a_long_text_is_left_as_written():
    text = "recomend " * 400
    assert with_slips_corrected(text) == text


def test_a_typo_costs_no_similarity():
    embedder = local_embedder()
    right, slipped = "Recommend a good book about habits.", "recomend a good book about habbits"
    as_written = embedder.embed([right, slipped])
    corrected = embedder.embed([with_slips_corrected(right), with_slips_corrected(slipped)])
    assert float(as_written[0] @ as_written[1]) < 0.75
    assert float(corrected[0] @ corrected[1]) > 0.95
