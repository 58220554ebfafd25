"""scripts/bench_recognizer.py --sweep: which value leaving one engine out chooses.

A sweep's values often score the same on a corpus; the choice must then say
so, not fall to whichever value was listed first."""

from __future__ import annotations

from scripts.bench_recognizer import best


def test_the_value_that_scores_highest_is_chosen():
    assert best([6, 10, 14], {6: 0.8, 10: 0.9, 14: 0.7}.get) == [10]


def test_values_that_tie_are_all_chosen_whatever_their_order():
    scores = {6: 0.9, 10: 0.9, 14: 0.7}.get
    assert best([6, 10, 14], scores) == [6, 10]
    assert best([14, 10, 6], scores) == [10, 6]
