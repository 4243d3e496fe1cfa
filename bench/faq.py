"""FAQ matcher figures: dev-set accuracy, decline accuracy, latency on a 500-entry base, start-up time.

Run: python bench/faq.py [--dev PATH] [--data DIR] [--today YYYY-MM-DD] [--failures]

Goals: >= 95% of answerable dev questions answered with the required strings, 100% of
out-of-scope questions declined, p99 answer latency < 5 ms over 500 entries and < 10 ms over
10,000, start-up of `bot.py ask` (fresh interpreter: import, load YAML, build matcher, answer)
< 0.5 s. Issue 10's goals on unseen questions (>= 95% right, >= 90% out-of-scope declined,
<= 3% confident errors) are read on the VALIDATION halves of blind sets 3 and 4 and on blind sets 15, 16
(all validation; sets 6, 8, 10, 12, 13 and 14 were validation until newer writers' sets replaced them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from policies import confidence  # noqa: E402
from policies.loader import DEFAULT_DATA_DIR, load_policy_base  # noqa: E402
from policies.matcher import Matcher  # noqa: E402
from policies.models import FaqEntry, PolicyBase  # noqa: E402

DEV_SET = ROOT.parent / "shared" / "faq_dev.yaml"
# Written from the seed documents only; even positions tune, odd positions validate (never read).
BLIND_SET = ROOT / "tests" / "policies" / "blind_questions.yaml"
# Written after the matcher of sets 1 and 2 had been tuned on them (set 2 is no longer unseen).
BLIND_SET_2 = ROOT / "tests" / "policies" / "blind_questions_2.yaml"
# Issue 10's set: split by hash (`split_of`); only the tune half is ever looked at question by question.
BLIND_SET_3 = ROOT / "tests" / "policies" / "blind_questions_3.yaml"
# Written from the seeds before the policy YAML or earlier sets were opened; split like set 3.
BLIND_SET_4 = ROOT / "tests" / "policies" / "blind_questions_4.yaml"
# Written from the seeds only by two writers who never saw the YAML, the matcher or each other's set:
# set 5 is tuned on in full; set 6 was validation in full (never read question by question) until set 8.
# Set 7 (a third writer) was measured once as unseen (round 1), then tuned on in round 2.
BLIND_SET_5 = ROOT / "tests" / "policies" / "blind_questions_5.yaml"
BLIND_SET_6 = ROOT / "tests" / "policies" / "blind_questions_6.yaml"
BLIND_SET_7 = ROOT / "tests" / "policies" / "blind_questions_7.yaml"
# Set 8 (a fourth writer, seeds only) replaced set 6 as validation: never read question by question, never
# tuned on. Set 6 became a tune set once set 8 existed (it had only ever been measured in aggregate).
BLIND_SET_8 = ROOT / "tests" / "policies" / "blind_questions_8.yaml"
# Set 9 (a fifth writer, seeds only, same recipe) was written as tune material from the start.
BLIND_SET_9 = ROOT / "tests" / "policies" / "blind_questions_9.yaml"
# Set 10 (a sixth writer, seeds only, same recipe) replaced set 8 as validation in round 5: never read
# question by question, never tuned on. Set 8 became a tune set then (only its aggregates had been seen).
# Set 11 (a seventh writer, same recipe) was written as tune material.
BLIND_SET_10 = ROOT / "tests" / "policies" / "blind_questions_10.yaml"
BLIND_SET_11 = ROOT / "tests" / "policies" / "blind_questions_11.yaml"
# Set 12 (an eighth writer, same recipe) was written at the end of round 5 as a second validation set,
# measured once on the matcher before the round and once after: never read, never tuned on.
BLIND_SET_12 = ROOT / "tests" / "policies" / "blind_questions_12.yaml"
# Round 6: sets 10 and 12 (only ever measured in aggregate) became tune sets; sets 13 and 14 (a ninth and
# a tenth writer, same recipe) are the validation sets: never read question by question, never tuned on.
BLIND_SET_13 = ROOT / "tests" / "policies" / "blind_questions_13.yaml"
BLIND_SET_14 = ROOT / "tests" / "policies" / "blind_questions_14.yaml"
# Round 7: sets 13 and 14 became tune sets; sets 15 and 16 (an eleventh and a twelfth writer) validate.
BLIND_SET_15 = ROOT / "tests" / "policies" / "blind_questions_15.yaml"
BLIND_SET_16 = ROOT / "tests" / "policies" / "blind_questions_16.yaml"
# WRatio cut-off of the plain-rapidfuzz baseline (a newcomer's round number).
BASELINE_CUTOFF = 70.0
GOAL_ANSWERED = 0.95
GOAL_P99_MS = 5.0
GOAL_STARTUP_S = 0.5  # `bot.py ask QUESTION`, from the shell prompt to the answer
BENCH_SIZES = (500, 10_000)
GOAL_P99_MS_BY_SIZE = {500: 5.0, 10_000: 10.0}


@dataclass(frozen=True)
class Case:
    question: str
    must: tuple[tuple[str, ...], ...] = ()
    abstain: bool = False


def squash(text: str) -> str:
    """How the dev set compares answers: NFKC, then no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def load_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Case(
            str(item["q"]),
            tuple(tuple(str(s) for s in group) for group in item.get("must", ())),
            bool(item.get("abstain", False)),
        )
        for item in raw
    ]


def passes(matcher: Matcher, case: Case, today: dt.date) -> bool:
    """Abstain cases must be declined; others matched with one string of every `must` group."""
    answer = matcher.answer(case.question, today)
    if case.abstain:
        return not answer.matched
    text = squash(answer.text)
    return answer.matched and all(any(squash(s) in text for s in group) for group in case.must)


@dataclass(frozen=True)
class Outcome:
    """What one answerer did with one question: its band and the text shown."""

    band: str  # "confident" | "suggest" | "decline"
    text: str


Answerer = Callable[[str, dt.date], Outcome]


def shipped(matcher: Matcher) -> Answerer:
    """The shipped matcher as an answerer."""

    def ask(question: str, today: dt.date) -> Outcome:
        a = matcher.answer(question, today)
        band = getattr(a, "band", "confident" if a.matched else "decline")
        return Outcome(band, a.text)

    return ask


def plain_rapidfuzz(matcher: Matcher, cutoff: float = BASELINE_CUTOFF) -> Answerer:
    """The baseline a newcomer would write: rapidfuzz `extractOne` (WRatio) over every phrasing."""
    choices: list[str] = []
    owners: list[FaqEntry] = []
    for entry in matcher.entries:
        for text in (*entry.questions, entry.topic):
            choices.append(text)
            owners.append(entry)

    def ask(question: str, today: dt.date) -> Outcome:
        found = process.extractOne(question, choices, scorer=fuzz.WRatio, score_cutoff=cutoff)
        if found is None:
            return Outcome("decline", "")
        entry = owners[found[2]]
        return Outcome("confident", matcher.render(entry, today, question))

    return ask


@dataclass(frozen=True)
class Rates:
    """Shares of one question set. right/declined/suggested are of the answerable questions;
    error (a wrong answer given as confident, or an out-of-scope one answered) of all questions;
    oos_declined of the out-of-scope ones (suggest counts as not declined)."""

    right: float
    suggested_right: float
    declined: float
    error: float
    oos_declined: float
    n_answerable: int
    n_oos: int
    failures: tuple[Case, ...]


def correct(case: Case, text: str) -> bool:
    squashed = squash(text)
    return all(any(squash(s) in squashed for s in group) for group in case.must)


def evaluate(ask: Answerer, cases: list[Case], today: dt.date) -> Rates:
    right = suggested = declined = errors = oos_declined = 0
    failures: list[Case] = []
    for case in cases:
        out = ask(case.question, today)
        if case.abstain:
            if out.band == "decline":
                oos_declined += 1
            else:
                failures.append(case)
                errors += out.band == "confident"
            continue
        ok = out.band != "decline" and correct(case, out.text)
        if out.band == "confident":
            right += ok
            errors += not ok
        elif out.band == "suggest":
            suggested += ok
        else:
            declined += 1
        if not (ok and out.band == "confident"):
            failures.append(case)
    n_ans = sum(not c.abstain for c in cases)
    n_oos = len(cases) - n_ans
    return Rates(
        right / max(n_ans, 1),
        suggested / max(n_ans, 1),
        declined / max(n_ans, 1),
        errors / max(len(cases), 1),
        oos_declined / max(n_oos, 1),
        n_ans,
        n_oos,
        tuple(failures),
    )


def format_rates(r: Rates) -> str:
    return (
        f"right {r.right:6.1%}  suggest-right {r.suggested_right:5.1%}  declined {r.declined:5.1%}  "
        f"conf-error {r.error:5.1%}  oos-declined {r.oos_declined:6.1%}  (n={r.n_answerable}+{r.n_oos})"
    )


_FILL = "企业高校平台项目清单科技创新成果转化合作申报补贴资金人才服务园区产业"


def enlarged(base: PolicyBase, size: int = BENCH_SIZES[0], seed: int = 7) -> PolicyBase:
    """`base` grown to `size` FAQ entries by perturbed copies (shuffled words, swapped characters)."""
    rng = random.Random(seed)
    faqs: list[FaqEntry] = list(base.faqs)
    originals = list(base.faqs)
    n = 0
    while len(faqs) < size:
        entry = originals[n % len(originals)]
        n += 1

        def perturb(text: str) -> str:
            chars = list(text)
            for _ in range(max(1, len(chars) // 4)):
                chars[rng.randrange(len(chars))] = rng.choice(_FILL)
            return "".join(chars)

        faqs.append(
            replace(
                entry,
                id=f"{entry.id}-x{n}",
                topic=perturb(entry.topic),
                questions=tuple(perturb(q) for q in entry.questions),
                keywords=tuple(perturb(k) for k in entry.keywords),
            )
        )
    return replace(base, faqs=tuple(faqs))


def latency(
    matcher: Matcher, questions: list[str], today: dt.date, rounds: int = 20
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((p50, p99) wall, (p50, p99) CPU) of Matcher.answer in milliseconds.

    CPU time (this thread only) leaves out preemption by other processes, which dominates the
    wall-clock tail on a busy 2-core machine; both are printed.
    """
    for q in questions:  # warm-up (OpenCC's lazy load, caches)
        matcher.answer(q, today)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for q in questions:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            matcher.answer(q, today)
            cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - started) / 1e6)
    return _percentiles(wall), _percentiles(cpu)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def startup(data: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of `python bot.py ask QUESTION` in a fresh interpreter: import,
    load the YAML, build the matcher, answer. CPU time (user + system of the child) is what the
    goal is checked on: on a shared 2-core machine the wall clock mostly measures other processes.
    As deployed, Python keeps its bytecode (PYTHONDONTWRITEBYTECODE is dropped; `main` warms up)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "ask", "清单什么时候截止"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "POLICY_DIR": str(data)},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def held_out_cases() -> tuple[list[Case], dt.date]:
    """Extra questions from the tests (not tuned on), with the date their expected strings assume."""
    try:
        from tests.policies.test_faq_dev import HELD_OUT, TODAY
    except ImportError:
        return [], dt.date.today()
    return [Case(q, tuple(tuple(g) for g in must), not must) for q, must in HELD_OUT], TODAY


def split_of(question: str) -> str:
    """The fixed tune / validation split of blind sets 3 and 4: the last hex digit of sha1(question)."""
    digit = int(hashlib.sha1(question.encode("utf-8")).hexdigest()[-1], 16)
    return "tune" if digit % 2 == 0 else "validation"


def question_sets(dev: Path) -> list[tuple[str, list[Case], dt.date | None, bool]]:
    """(name, cases, today or None for the run's date, may its failures be listed)."""
    held_out, held_out_today = held_out_cases()
    sets: list[tuple[str, list[Case], dt.date | None, bool]] = [
        ("dev", load_cases(dev) if dev.exists() else [], None, True),
        ("held-out", held_out, held_out_today, True),
    ]
    for n, path in ((1, BLIND_SET), (2, BLIND_SET_2)):
        cases = load_cases(path) if path.exists() else []
        sets.append((f"blind{n} even", cases[0::2], held_out_today, True))
        sets.append((f"blind{n} odd", cases[1::2], held_out_today, True))
    for n, path in ((3, BLIND_SET_3), (4, BLIND_SET_4)):
        cases = load_cases(path) if path.exists() else []
        tune = [c for c in cases if split_of(c.question) == "tune"]
        validation = [c for c in cases if split_of(c.question) == "validation"]
        sets.append((f"blind{n} tune", tune, held_out_today, True))
        sets.append((f"blind{n} VALIDATION", validation, held_out_today, False))
    if BLIND_SET_5.exists():
        sets.append(("blind5 tune (all)", load_cases(BLIND_SET_5), held_out_today, True))
    if BLIND_SET_7.exists():
        sets.append(("blind7 tune (all)", load_cases(BLIND_SET_7), held_out_today, True))
    if BLIND_SET_6.exists():
        sets.append(("blind6 tune (all)", load_cases(BLIND_SET_6), held_out_today, True))
    if BLIND_SET_9.exists():
        sets.append(("blind9 tune (all)", load_cases(BLIND_SET_9), held_out_today, True))
    if BLIND_SET_8.exists():
        sets.append(("blind8 tune (all)", load_cases(BLIND_SET_8), held_out_today, True))
    if BLIND_SET_11.exists():
        sets.append(("blind11 tune (all)", load_cases(BLIND_SET_11), held_out_today, True))
    for n, path in ((10, BLIND_SET_10), (12, BLIND_SET_12), (13, BLIND_SET_13), (14, BLIND_SET_14)):
        if path.exists():
            sets.append((f"blind{n} tune (all)", load_cases(path), held_out_today, True))
    for n, path in ((15, BLIND_SET_15), (16, BLIND_SET_16)):
        if path.exists():
            sets.append((f"blind{n} VALIDATION (all)", load_cases(path), held_out_today, False))
    return sets


def report(args: Any) -> bool:
    today = args.today
    base = load_policy_base(args.data)
    matcher = Matcher(base)
    ok = True
    print(f"policy base: {len(base.faqs)} FAQ entries, {len(base.documents)} documents; today={today}")
    print(
        f"confident from probability {confidence.CONFIDENT_AT} (policies/confidence.py), suggested from "
        f"score {matcher.suggest_threshold}; baseline: rapidfuzz extractOne WRatio >= {BASELINE_CUTOFF}"
    )
    answerers = (("shipped", shipped(matcher)), ("rapidfuzz", plain_rapidfuzz(matcher)))
    for name, cases, day, listable in question_sets(args.dev):
        if not cases:
            print(f"{name}: not available")
            continue
        if args.tune_only and not listable:
            continue
        for label, ask in answerers:
            rates = evaluate(ask, cases, day or today)
            print(f"{name:18} {label:9} {format_rates(rates)}")
            if name == "dev" and label == "shipped":
                goal = rates.right >= GOAL_ANSWERED and rates.oos_declined == 1.0
                ok = ok and goal
            if args.failures and listable and label == "shipped":  # validation is never listed
                for case in rates.failures:
                    a = matcher.answer(case.question, day or today)
                    top = a.entry.id if a.entry else (a.alternatives[0].id if a.alternatives else "-")
                    band = getattr(a, "band", "confident" if a.matched else "decline")
                    print(f"   FAIL {case.question!r} band={band} score={a.score:.1f} top={top}")
    if args.tune_only:
        return ok
    questions = [c.question for c in load_cases(args.dev)] if args.dev.exists() else []
    questions += [c.question for c in held_out_cases()[0]] or [e.questions[0] for e in base.faqs]
    for size in BENCH_SIZES:
        big = enlarged(base, size)
        started = time.perf_counter()
        big_matcher = Matcher(big)
        build_ms = (time.perf_counter() - started) * 1000
        rounds = 20 if size <= 1000 else 5
        (p50, p99), (cpu50, cpu99) = latency(big_matcher, questions, today, rounds)
        goal_ms = GOAL_P99_MS_BY_SIZE[size]
        lat_ok = cpu99 < goal_ms
        ok = ok and lat_ok
        print(
            f"latency over {len(big.faqs)} entries ({len(questions)} questions x {rounds}): "
            f"CPU p50 {cpu50:.2f} ms, p99 {cpu99:.2f} ms (goal < {goal_ms} ms) -> {_verdict(lat_ok)}; "
            f"wall p50 {p50:.2f} ms, p99 {p99:.2f} ms (load average {os.getloadavg()[0]:.1f}); "
            f"matcher build {build_ms:.0f} ms"
        )
    startup(args.data)  # warm-up: bytecode written, files in the page cache
    cpu, wall = min(startup(args.data) for _ in range(3))
    up_ok = cpu < GOAL_STARTUP_S
    ok = ok and up_ok
    print(
        f"start-up of 'bot.py ask' (fresh interpreter, best of 3): CPU {cpu:.2f} s "
        f"(goal < {GOAL_STARTUP_S} s) "
        f"-> {'OK' if up_ok else 'MISSED'}; wall {wall:.2f} s (load average {os.getloadavg()[0]:.1f})"
    )
    print("all goals met" if ok else "SOME GOALS MISSED")
    return ok


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--failures", action="store_true", help="list the questions that fail")
    parser.add_argument(
        "--tune-only",
        action="store_true",
        help="skip the validation sets and the timings (while tuning, not even their aggregates are seen)",
    )
    return 0 if report(parser.parse_args(argv)) else 1


if __name__ == "__main__":
    sys.exit(main())
