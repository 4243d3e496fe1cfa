"""The confidence model that decides between answering and suggesting (policies/confidence.py)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bench.fit_confidence import fit, tally
from policies import confidence
from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.matcher import Matcher


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_policy_base(DEFAULT_DATA_DIR))


def test_the_shipped_model_has_one_weight_per_signal() -> None:
    assert len(confidence.FITTED.weights) == len(dataclasses.fields(confidence.Signals))
    assert any(confidence.FITTED.weights), "the model was never fitted (bench/fit_confidence.py)"


def test_bm25_agreement_signals() -> None:
    assert confidence.bm25_signals([0.6, 0.2, 0.4]) == (1.0, 0.0, 0.6, pytest.approx(0.2))
    first, rank, share, margin = confidence.bm25_signals([0.2, 0.6, 0.4])
    assert (first, rank, share) == (0.0, 2 / confidence.RANKS, 0.2) and margin == pytest.approx(-0.4)
    assert confidence.bm25_signals([]) == (0.0, 1.0, 0.0, 0.0)


def test_a_question_in_the_entrys_words_is_more_likely_right_than_a_vague_one(matcher: Matcher) -> None:
    def likelihood(question: str) -> float:
        return matcher.confidence_of(question, matcher.scores(question))

    assert likelihood("秘书处的咨询电话是多少") > confidence.CONFIDENT_AT
    assert likelihood("我想问一下关于那个事情的情况") < confidence.CONFIDENT_AT


def test_the_fitter_learns_which_signal_tells_right_from_wrong() -> None:
    """A toy problem: right exactly when the score is high; the lead is noise."""
    rng = random.Random(3)
    width = len(dataclasses.fields(confidence.Signals))
    rows = []
    for _ in range(400):
        vector = [rng.random() for _ in range(width)]
        rows.append((tuple(vector), int(vector[0] > 0.5), True))
    model = fit(rows, c=10.0)
    assert model.weights[0] > 5 and abs(model.weights[1]) < 1
    right, wrong, _ = tally(model, rows, 0.5)
    positives = sum(label for _, label, _ in rows)
    assert right >= 0.95 * positives and wrong <= 5
