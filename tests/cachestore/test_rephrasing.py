"""Rephrasings decided by the embedding, the guards that keep near misses from them, and slips found pairwise."""

import json

import pytest

from cachestore.semantic.fingerprint import Fingerprint, fingerprint
from cachestore.semantic.rephrasing import REPHRASING_MARGIN, REPHRASING_MIN_COSINE
from cachestore.semantic.verifier import verify, verify_fingerprints

SECRET = b"rephrasing tests"
# A cosine every rephrasing below clears at the shipped threshold.
HIGH = 0.95


@pytest.mark.parametrize(
    "query, candidate",
    [
        ("What's the minimum age to rent a car in the US?", "How old do you have to be to rent a car in the US?"),
        ("How do you say 'good morning' in Spanish?", "Translate 'good morning' into Spanish."),
        ("¿Cómo restablezco mi contraseña?", "¿Cómo puedo restablecer mi contraseña?"),
    ],
)
def test_a_rephrasing_is_served_when_the_embedding_is_sure(query, candidate):
    verdict = verify(query, candidate, HIGH)

    assert verdict.accepted
    assert "rephrased" in verdict.reason


def test_a_rephrasing_needs_the_threshold_plus_the_margin_and_at_least_the_floor():
    query, candidate = "What's the minimum age to rent a car?", "How old do you have to be to rent a car?"
    below_floor = REPHRASING_MIN_COSINE - 0.01

    assert not verify(query, candidate, below_floor).accepted
    assert "rephrasing: cosine" in verify(query, candidate, below_floor).reason
    strict_workspace = 0.9
    query_print, candidate_print = fingerprint(query, secret=SECRET), fingerprint(candidate, secret=SECRET)
    just_under = strict_workspace + REPHRASING_MARGIN - 0.01
    assert not verify_fingerprints(query_print, candidate_print, just_under, threshold=strict_workspace).accepted
    assert verify_fingerprints(
        query_print, candidate_print, strict_workspace + REPHRASING_MARGIN, threshold=strict_workspace
    ).accepted


@pytest.mark.parametrize(
    "query, candidate, reason",
    [
        # one word for one other: the shape of a near miss, however high the cosine
        ("Give me arguments against a four-day week.", "Give me arguments for a four-day week.", "differs"),
        ("Argue in favor of school uniforms.", "Argue against school uniforms.", "differs"),
        ("What's the chemical symbol for silver?", "What's the chemical symbol for gold?", "differs"),
        # words added on one side add a requirement
        (
            "Give me the SQL to create a users table.",
            "Give me the SQL to create a users table, with a comment.",
            "only",
        ),
        # several words said otherwise, but one of them is the other's opposite or other number
        ("How do I select a column in pandas?", "How do I select many columns in pandas?", "singular and plural"),
        ("What are the upsides of renting a flat?", "What are the downsides of buying a flat?", "polarity"),
        # a direction reversed across "to"/"into", a polarity said otherwise (from review: real cosines 0.95, 0.86)
        ("how do I convert json to a python object", "how can I turn a python object into json", "direction reversed"),
        ("how do I increase the font size", "how do I make the font size smaller", "polarity"),
        ("how can i delete a duplicate row in pandas", "how do i delete duplicate rows in pandas quickly", "plural"),
        # a name on one side only
        ("What did Marie Curie win the Nobel Prize for?", "What did Einstein get the Nobel Prize for?", "name"),
        ("How do I get the current date in PostgreSQL?", "How can I fetch the current date in Oracle?", "name"),
    ],
)
def test_near_misses_are_refused_even_at_a_high_cosine(query, candidate, reason):
    verdict = verify(query, candidate, HIGH)

    assert not verdict.accepted
    assert reason in verdict.reason


def test_stored_fingerprints_never_rephrase():
    query = "What's the minimum age to rent a car in the US?"
    candidate = "How old do you have to be to rent a car in the US?"
    stored_query = Fingerprint.from_json(json.loads(json.dumps(fingerprint(query, secret=SECRET).to_json())))

    verdict = verify_fingerprints(stored_query, fingerprint(candidate, secret=SECRET), HIGH)

    assert not verdict.accepted


def test_the_words_behind_a_fingerprint_are_never_serialised():
    made = fingerprint("Where is my parcel CANARY-7731?", secret=SECRET)

    assert made.words and made.keyed
    serialised = json.dumps(made.to_json())
    assert "canary" not in serialised.lower() and "parcel" not in serialised
    assert "parcel" not in repr(made)


@pytest.mark.parametrize(
    "query, candidate",
    [
        # "strng" is "string" or "strong": ambiguous alone, one slip from the other side's word
        ("how to reverse a strng in python", "How to reverse a string in Python?"),
        ("sql query to selct all rows where email is null", "SQL query to select all rows where email is NULL"),
        # the slip on the stored side
        ("How many calories are in a banana?", "how many calroies are in a banana"),
    ],
)
def test_a_slip_the_fingerprint_could_not_correct_is_found_against_the_other_side(query, candidate):
    verdict = verify(query, candidate, HIGH)

    assert verdict.accepted
    assert "typo" in verdict.reason


@pytest.mark.parametrize(
    "query, candidate",
    [
        ("How long does a dose take to work?", "How long does a does take to work?"),  # both real words
        ("How do I install Perl on Windows?", "How do I install Pearl on Windows?"),  # names are spelt on purpose
        ("How do I rename a file in Linux?", "How do I rename a files in Linux?"),  # a suffix, not a slip
    ],
)
def test_real_words_names_and_suffixes_are_not_slips(query, candidate):
    assert not verify(query, candidate, HIGH).accepted


@pytest.mark.parametrize(
    "query, candidate",
    [
        ("今天不去学校", "今天去学校"),  # one character is a word: not a slip
        ("как покрасить столб", "как покрасить стол"),  # "pillar" / "table"
    ],
)
def test_words_outside_english_spelling_are_never_slips(query, candidate):
    assert not verify(query, candidate, HIGH).accepted


def test_entries_stored_before_names_were_marked_are_compared_word_for_word():
    query = "What's the minimum age to rent a car in the US?"
    candidate = "How old do you have to be to rent a car in the US?"
    stored = fingerprint(candidate, secret=SECRET).to_json() | {"version": 1}

    verdict = verify_fingerprints(fingerprint(query, secret=SECRET), Fingerprint.from_json(stored), HIGH)

    assert not verdict.accepted
