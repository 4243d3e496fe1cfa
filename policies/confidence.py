"""How likely the matcher's best entry is the right answer: a logistic model over its ranking signals.

One score with one threshold cannot tell a right answer to a question in everyday words (it scores
low against every entry, but far ahead of the next one, and a second, independent ranking agrees)
from a near miss (it scores the same, level with the next entry). The signals below are what the
matcher already knows about its ranking; `bench/fit_confidence.py` fits the weights on the blind
tune sets (leave-one-set-out figures, then one fit on all of them) and prints `FITTED` to paste here.
The model never sees the validation sets; the guards of `Matcher.guarded_band` (an office, a fact kind,
a year, a class of near miss or a subject the entry lacks; a low score) still decide before it is asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass

# A best entry at this probability or above is answered; below, it is suggested or declined.
CONFIDENT_AT = 0.8
# Signals are scaled to about 0..1 so the fitted weights can be compared.
_LENGTH_SCALE = 40  # content characters
RANKS = 5  # the top entries re-ranked by BM25


@dataclass(frozen=True)
class Signals:
    """What the matcher knows about its best entry for one question (see `Matcher.signals`)."""

    score: float  # the best entry's score / 100
    lead: float  # its lead over the runner-up / 100
    gap: float  # the runner-up's lead over the third / 100
    missing: float  # share of the question's content the entry never uses
    mostly_missing: float  # 1.0 when that share is half or more (an off-topic question's mark)
    qcov: float  # Features of the whole question against the best entry
    pcov: float
    acov: float
    ratio: float
    keyword: float  # 1.0 when one of the entry's keywords occurs in the question
    length: float  # content characters, capped at _LENGTH_SCALE, / _LENGTH_SCALE
    short: float  # 1.0 for a short question (below SHORT_MIN_SCORE it never reaches the model)
    same_source: float  # 1.0 when the runner-up cites the same document
    bm25_first: float  # 1.0 when BM25 over the top entries also puts the best entry first
    bm25_rank: float  # its BM25 rank among them / RANKS
    bm25_share: float  # its BM25 score / the sum of the question's token weights (about 0..2)
    bm25_margin: float  # its BM25 share minus the best other entry's

    def vector(self) -> tuple[float, ...]:
        return astuple(self)


@dataclass(frozen=True)
class Model:
    """A logistic model: probability = 1 / (1 + exp(-(intercept + weights · signals)))."""

    weights: tuple[float, ...]
    intercept: float

    def probability(self, signals: Signals) -> float:
        return probability(self.weights, self.intercept, signals.vector())


def probability(weights: Sequence[float], intercept: float, vector: Sequence[float]) -> float:
    z = intercept + sum(w * x for w, x in zip(weights, vector, strict=True))
    if z < -30:  # exp overflow guard; the probability is 0 to any precision that matters
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def scaled_length(content_chars: int) -> float:
    return min(content_chars, _LENGTH_SCALE) / _LENGTH_SCALE


def bm25_signals(shares: Sequence[float]) -> tuple[float, float, float, float]:
    """(first, rank, share, margin) of the best entry (index 0) among the BM25 `shares` of the top
    entries (each a BM25 score divided by the sum of the question's token weights)."""
    if not shares:
        return 0.0, 1.0, 0.0, 0.0
    mine = shares[0]
    rank = sum(1 for s in shares[1:] if s > mine)
    best_other = max(shares[1:], default=0.0)
    return float(rank == 0), rank / RANKS, mine, mine - best_other


# Fitted by bench/fit_confidence.py (see its output for the figures behind these numbers).
FITTED = Model(
    weights=(
        0.1179,  # score
        1.1306,  # lead
        -0.5482,  # gap
        -1.1599,  # missing
        -2.0433,  # mostly_missing
        0.1592,  # qcov
        -0.5553,  # pcov
        0.2215,  # acov
        0.6437,  # ratio
        0.9512,  # keyword
        0.8673,  # length
        -0.1991,  # short
        0.3693,  # same_source
        0.5156,  # bm25_first
        -1.3981,  # bm25_rank
        0.1059,  # bm25_share
        1.1087,  # bm25_margin
    ),
    intercept=2.2712,
)
