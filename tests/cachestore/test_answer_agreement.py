"""The comparison of a served semantic hit with a fresh answer: what it catches, and what it cannot tell."""

import pytest

from cachestore.semantic.agreement import compare_answers


@pytest.mark.parametrize(
    ("served", "fresh", "rule"),
    [
        ("The capital of France is Paris.", "the capital of france is  paris", "identical"),
        ("It costs $1,250.50 in total.", "In total it costs $1250.5.", "similar"),
        ("Paris is the capital of France.", "The capital of France is Paris.", "similar"),
        (
            "Python lists are ordered and mutable, while tuples are ordered and immutable; use a tuple for records.",
            "Sure! Python lists are ordered and mutable, while tuples are ordered and immutable, so use a tuple "
            "for records.",
            "similar",
        ),
    ],
)
def test_the_same_answer_in_other_words_or_form_agrees(served, fresh, rule):
    verdict = compare_answers(served, fresh)
    assert verdict.agrees and verdict.rule == rule


@pytest.mark.parametrize(
    ("served", "fresh", "rule"),
    [
        ("Shipping to Canada costs 15 dollars.", "Shipping to Canada costs 20 dollars.", "numbers"),
        ("The meeting is on 2026-03-14.", "The meeting is on 2026-03-15.", "numbers"),
        ("The capital of France is Paris.", "The capital of Germany is Berlin.", "names"),
        ("The drawbacks are higher costs over time.", "The benefits are lower monthly payments.", "different"),
        ("Yes.", "No.", "different"),
    ],
)
def test_an_answer_about_another_number_entity_or_subject_disagrees(served, fresh, rule):
    verdict = compare_answers(served, fresh)
    assert not verdict.agrees and verdict.rule == rule


def test_what_it_cannot_tell_word_order_is_not_read():
    # Documented limit: the same words in another order agree, though the meaning is reversed.
    assert compare_answers("Convert the list to a dict first.", "Convert the dict to a list first.").agrees
