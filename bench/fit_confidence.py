"""Fit the matcher's confidence model (policies/confidence.py) on the blind tune sets.

Run: python bench/fit_confidence.py [--c 1.0]

For every tune question the guards leave to the model (see `Matcher.guarded_band`), the signals of
the best entry are labelled 1 when that entry's answer contains what the question's writer required
and 0 otherwise (a wrong entry, or any entry for an out-of-scope question). The script prints:

* leave-one-set-out figures: each tune set answered by a model fitted on the others only, at several
  thresholds (how the model does on a writer it never saw; the validation set is never read);
* `FITTED = Model(...)`, fitted on all tune sets, to paste into policies/confidence.py.

The fit is L2-regularised logistic regression by Newton's method, in plain Python (17 signals, a
few thousand questions: well under a second per fit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faq import DEV_SET, correct, question_sets  # noqa: E402
from policies import confidence  # noqa: E402
from policies.loader import DEFAULT_DATA_DIR, load_policy_base  # noqa: E402
from policies.matcher import Matcher  # noqa: E402

THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)

Row = tuple[tuple[float, ...], int, bool]  # signals, label, answerable


def rows_of(matcher: Matcher) -> dict[str, list[Row]]:
    """The labelled signals of every tune question the guards leave to the model, by set."""
    out: dict[str, list[Row]] = {}
    for name, cases, day, listable in question_sets(DEV_SET):
        if not listable or not cases:  # validation sets are never read
            continue
        rows: list[Row] = []
        for case in cases:
            ranked = matcher._prefer_stated(case.question, matcher.scores(case.question))
            if matcher.guarded_band(case.question, ranked):
                continue
            best = matcher.entries[ranked[0][1]]
            label = 0
            if not case.abstain:
                answer = matcher.answer_entry(best.id, day or dt.date.today(), case.question)
                label = int(answer is not None and correct(case, answer.text))
            rows.append((matcher.signals(case.question, ranked).vector(), label, not case.abstain))
        out[name] = rows
    return out


def fit(rows: Sequence[Row], c: float, iterations: int = 25) -> confidence.Model:
    """Logistic regression, L2 penalty 1/(2c)·|w|² (not on the intercept), by Newton's method."""
    dims = len(rows[0][0]) + 1
    beta = [0.0] * dims
    for _ in range(iterations):
        grad = [0.0] * dims
        hess = [[0.0] * dims for _ in range(dims)]
        for vector, label, _ in rows:
            x = (1.0, *vector)
            p = confidence.probability(beta[1:], beta[0], vector)
            w = max(p * (1 - p), 1e-9)
            for a in range(dims):
                grad[a] += (p - label) * x[a]
                xa = w * x[a]
                row = hess[a]
                for b in range(a, dims):
                    row[b] += xa * x[b]
        for a in range(1, dims):
            grad[a] += beta[a] / c
            hess[a][a] += 1 / c
        for a in range(dims):
            for b in range(a):
                hess[a][b] = hess[b][a]
        step = _solve(hess, grad)
        beta = [b - s for b, s in zip(beta, step, strict=True)]
        if max(map(abs, step)) < 1e-8:
            break
    return confidence.Model(tuple(beta[1:]), beta[0])


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """matrix⁻¹·vector by Gaussian elimination with partial pivoting (the Hessian is small)."""
    n = len(vector)
    a = [[*row, v] for row, v in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for k in range(col, n + 1):
                a[r][k] -= factor * a[col][k]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (a[r][n] - sum(a[r][k] * out[k] for k in range(r + 1, n))) / a[r][r]
    return out


def tally(model: confidence.Model, rows: Sequence[Row], threshold: float) -> tuple[int, int, int]:
    """(right answered, wrong answered, out-of-scope answered) at `threshold`."""
    right = wrong = oos = 0
    for vector, label, answerable in rows:
        if model.probability(confidence.Signals(*vector)) < threshold:
            continue
        if not answerable:
            oos += 1
        elif label:
            right += 1
        else:
            wrong += 1
    return right, wrong, oos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength (as scikit-learn's C)")
    args = parser.parse_args(argv)
    matcher = Matcher(load_policy_base(DEFAULT_DATA_DIR))
    by_set = rows_of(matcher)
    names = [n for n, rows in by_set.items() if rows]
    print(f"{sum(len(by_set[n]) for n in names)} questions left to the model, from {len(names)} tune sets")
    print("leave-one-set-out: right / wrong / out-of-scope answered, per threshold")
    totals = {t: [0, 0, 0] for t in THRESHOLDS}
    for name in names:
        others = [row for n in names if n != name for row in by_set[n]]
        model = fit(others, args.c)
        cells = []
        for t in THRESHOLDS:
            r, w, o = tally(model, by_set[name], t)
            totals[t] = [totals[t][0] + r, totals[t][1] + w, totals[t][2] + o]
            cells.append(f"{r:4}/{w:3}/{o:3}")
        print(f"  {name:24} " + "  ".join(cells))
    print(f"  {'all':24} " + "  ".join(f"{r:4}/{w:3}/{o:3}" for r, w, o in totals.values()))
    print(f"  {'threshold':24} " + "  ".join(f"{t:>12}" for t in THRESHOLDS))
    model = fit([row for n in names for row in by_set[n]], args.c)
    names_of = list(confidence.Signals.__dataclass_fields__)
    print("\nFITTED = Model(\n    weights=(")
    for field, weight in zip(names_of, model.weights, strict=True):
        print(f"        {weight:.4f},  # {field}")
    print(f"    ),\n    intercept={model.intercept:.4f},\n)")
    return 0 if all(math.isfinite(w) for w in model.weights) else 1


if __name__ == "__main__":
    sys.exit(main())
