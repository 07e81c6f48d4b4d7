"""Fingerprints: no prompt text in what the cache stores, and the same verdicts from it."""

import json
import time

import pytest

from cachestore.semantic.fingerprint import MAX_ANALYSED_CHARACTERS, Fingerprint, fingerprint
from cachestore.semantic.verifier import verify, verify_fingerprints

SECRET = b"test workspace secret"
HIGH = 0.95
DISTINCTIVE = ("Zanzibar", "xylophone", "quokka", "pterodactyl", "Mozambique", "recieve", "'hush-hush'", "123456789")


def stored(text, secret=SECRET):
    """Return the fingerprint as the cache reads it back: through JSON."""
    return Fingerprint.from_json(json.loads(json.dumps(fingerprint(text, secret=secret).to_json())))


def test_the_stored_fingerprint_holds_no_word_of_the_prompt():
    text = (
        "Hi! Why doesn't my quokka recieve the xylophone from Zanzibar, "
        "unlike the pterodactyl in Mozambique? Reply 'hush-hush' by 123456789."
    )

    data = json.dumps(fingerprint(text, secret=SECRET).to_json()).lower()

    for word in DISTINCTIVE:
        letters = "".join(char for char in word.lower() if char.isalpha())
        for start in range(len(letters) - 3):
            assert letters[start : start + 4] not in data
    assert "123456789" not in data
    assert "hush" not in data


def test_a_long_prompt_is_stored_as_one_hash():
    text = "Summarise the quokka report. " * (MAX_ANALYSED_CHARACTERS // 20)

    data = json.dumps(fingerprint(text, secret=SECRET).to_json()).lower()

    assert "quokka" not in data and "summar" not in data
    assert verify_fingerprints(stored(text), stored(text.upper()), HIGH).accepted
    assert not verify_fingerprints(stored(text), stored(text + " Twice."), HIGH).accepted


def test_the_fingerprint_survives_json():
    text = "Why doesn't my script convert $100 to euros, in Python?"
    original = fingerprint(text, secret=SECRET)

    assert Fingerprint.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_another_version_is_refused():
    data = fingerprint("What is a mutex?", secret=SECRET).to_json()

    with pytest.raises(ValueError):
        Fingerprint.from_json({**data, "version": 0})


def test_the_hashes_depend_on_the_secret():
    first = fingerprint("What is a mutex?", secret=SECRET)
    second = fingerprint("What is a mutex?", secret=b"another workspace")

    assert set(first.tokens).isdisjoint(second.tokens)
    verdict = verify_fingerprints(first, second, HIGH)
    assert not verdict.accepted and verdict.reason == "fingerprints made with different secrets"


@pytest.mark.parametrize(
    "typo, word",
    [("recieve", "receive"), ("pyhton", "python"), ("adress", "address"), ("instal", "install")],
)
def test_an_unambiguous_slip_hashes_like_the_word(typo, word):
    assert fingerprint(typo, secret=SECRET).tokens == fingerprint(word, secret=SECRET).tokens


def test_a_capitalised_word_is_never_corrected():
    assert fingerprint("install Perl", secret=SECRET).tokens != fingerprint("install Pearl", secret=SECRET).tokens


@pytest.mark.parametrize(
    "query, candidate, expected",
    [
        ("Hi! Could you please tell me how to export a PDF? Thanks!", "How do I export a PDF?", True),
        ("In Go, how do I read a file?", "How do I read a file in Go?", True),
        ("what is the temprature of the sun", "What is the temperature of the Sun?", True),
        ("Convert 5 kilograms to pounds.", "Convert 5 kg to lb.", True),
        ("What is 15% of 90?", "What is 15% of 80?", False),
        ("Which birds can't fly?", "Which birds can fly?", False),
        ("Does Google own YouTube?", "Does YouTube own Google?", False),
        ("How do I encrypt a disk?", "How do I decrypt a disk?", False),
    ],
)
def test_stored_fingerprints_give_the_verdict_of_the_texts(query, candidate, expected):
    verdict = verify_fingerprints(stored(query), stored(candidate), HIGH)

    assert verdict.accepted is expected
    assert verdict == verify(query, candidate, HIGH)


@pytest.mark.parametrize(
    "query, candidate",
    [
        ("Translate 'see you soon' into Dutch.", "Translate 'see you later' into Dutch."),
        ("Convert 60 mph to km/h.", "Convert 60 km/h to mph."),
        ("What are the disadvantages of solar power?", "What are the advantages of solar power?"),
        ("What is the boiling point of methanol?", "What is the boiling point of ethanol?"),
        ("Which birds can't fly?", "Which birds can fly?"),
        ("Who is the CEO of Twitter?", "Who was the CEO of Twitter?"),
    ],
)
def test_a_rejection_names_no_word_of_either_prompt(query, candidate):
    verdict = verify(query, candidate, HIGH)

    assert not verdict.accepted
    words = {word.strip("?.'").lower() for word in f"{query} {candidate}".split()}
    assert not {word for word in words if len(word) >= 3} & set(verdict.reason.lower().replace(":", "").split())


def test_fingerprinting_and_comparing_are_fast():
    typical = "Hey, quick question: why doesn't my script convert $100 to euros? It used to work in Python 3.10."
    long = ("Please review this paragraph about the quarterly budget and list every risk you see. " * 24)[:2000]
    query, candidate = fingerprint(typical, secret=SECRET), fingerprint(typical.lower(), secret=SECRET)
    fingerprint(long, secret=SECRET)  # loads the vocabulary

    def per_call(function, repeat):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        return (time.perf_counter() - started) / repeat

    # Generous for a shared machine; the targets are 1 ms, 5 ms and 0.3 ms.
    assert per_call(lambda: fingerprint(typical, secret=SECRET), 200) < 0.002
    assert per_call(lambda: fingerprint(long, secret=SECRET), 20) < 0.010
    assert per_call(lambda: verify_fingerprints(query, candidate, HIGH), 1000) < 0.0006
