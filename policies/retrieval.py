"""Lexical retrieval channels for the FAQ matcher: char n-gram BM25 and a pinyin channel.

Why these: bench/retrieval.py measures them side by side on the blind question sets. BM25 over
character 1-3-grams finds an entry by any part of its questions, keywords or answer (a question
asking for one fact of a long passage), without a word segmenter (jieba costs ~1 s to load). The
pinyin channel scores toneless syllables, so a homophone typo (帖息, 清丹, 录演) still meets the
word it sounds like. Both are pure Python and indexed once when the matcher is built.
"""

from __future__ import annotations

import bisect
import importlib.util
import itertools
import json
import math
import re
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

# BM25 parameters (the usual defaults; short entries make length normalisation matter little).
K1 = 1.2
B = 0.75

_RUN_RE = re.compile(r"[a-z0-9]+|[^a-z0-9\s]+")
# Question words say what kind of answer is wanted, not which topic (same list as the matcher's).
_QUESTION_WORDS_RE = re.compile(
    "怎么样|怎么|怎样|什么|多少|哪里|哪儿|哪些|哪个|哪家|如何|是否|能否|是不是|能不能|有没有|可不可以|可以"
    "|行不行|算不算|要不要|用不用|好不好|对不对"
    "|啥|咋|吗|哪|几|的|了"
)


def cut_question_words(norm: str) -> str:
    """A normalised question with its question words blanked out."""
    return _QUESTION_WORDS_RE.sub(" ", norm)


def char_ngrams(norm: str, sizes: tuple[int, ...] = (1, 2, 3)) -> list[str]:
    """Character n-grams of each Chinese run (ASCII/digit runs stay whole) of a normalised text."""
    out: list[str] = []
    for run in _RUN_RE.findall(norm):
        if run.isascii():
            out.append(run)
            continue
        for n in sizes:
            out.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return out


class Bm25:
    """Okapi BM25 over pre-tokenised documents, with an inverted index (cost grows with postings)."""

    def __init__(self, docs: list[list[str]], k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        n = len(docs)
        avgdl = sum(len(d) for d in docs) / max(n, 1) or 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, d in enumerate(docs):
            norm = k1 * (1 - b + b * len(d) / avgdl)
            for t, tf in Counter(d).items():
                self.postings[t].append((i, self.idf[t] * tf * (k1 + 1) / (tf + norm)))

    def scores(self, query: list[str]) -> dict[int, float]:
        """Entry index -> BM25 score, for the entries sharing a term with `query`."""
        acc: dict[int, float] = defaultdict(float)
        for t in set(query):
            for i, w in self.postings.get(t, ()):
                acc[i] += w
        return acc

    def rank(self, query: list[str]) -> list[int]:
        acc = self.scores(query)
        return sorted(acc, key=acc.__getitem__, reverse=True)

    def ceiling(self, query: list[str]) -> float:
        """The most a document could score for `query` (every term, tf=1, average length):
        dividing by it puts scores on 0..~1 whatever the question's length."""
        return sum(self.idf.get(t, 0.0) for t in set(query)) or 1.0


# Tone marks to bare vowels ("tiē" -> "tie", "lǜ" -> "lv"): pinyin without tones.
_TONELESS = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")


class _PinyinTable:
    """Character -> toneless first reading, from pypinyin's data file, read without importing the
    package (whose import costs ~0.4 s); readings are worked out per character when first asked."""

    def __init__(self, raw: dict[str, str]) -> None:
        self._raw = raw
        self._cache: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self._raw)

    def get(self, ch: str) -> str | None:
        found = self._cache.get(ch)
        if found is None:
            readings = self._raw.get(str(ord(ch)))
            if readings is None:
                return None
            found = self._cache[ch] = readings.split(",", 1)[0].translate(_TONELESS)
        return found


@lru_cache(maxsize=1)
def _pinyin_table() -> _PinyinTable:
    """The table, or an empty one when pypinyin is not installed (typos then go uncorrected)."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        return _PinyinTable({})
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    try:
        raw: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _PinyinTable({})
    return _PinyinTable(raw)


# A word of the dictionary counted at least this often is a real word, not a typo to correct; rarer
# entries (counted 1-3 times) are mostly noise a typo happens to spell (积效, 骨感, 中新), while 加计
# (加计扣除, counted 4) is a tax term.
WORD_MIN_COUNT = 4
# The longest real word looked for around a character that would be corrected (营业执照, 初见成效).
MAX_WORD = 4


class WordList:
    """A set of short words kept as one sorted string per length, searched by bisection: 135,000
    words cost ~0.9 MB and unpickle at once, where a frozenset of str would take ~15 MB and 135,000
    objects to rebuild on every start."""

    def __init__(self, words: list[str]) -> None:
        words = sorted(set(words))
        words.sort(key=len)  # stable: sorted within each length
        self._runs: dict[int, str] = {}
        start = 0
        while start < len(words):
            n = len(words[start])
            end = bisect.bisect_right(words, n, start, key=len)
            self._runs[n] = "".join(words[start:end])
            start = end

    def __len__(self) -> int:
        return sum(len(run) // n for n, run in self._runs.items())

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        n = len(word)
        run = self._runs.get(n)
        if not run:
            return False
        at = bisect.bisect_left(range(len(run) // n), word, key=lambda i: run[i * n : i * n + n])
        return run[at * n : at * n + n] == word


def _jieba_dictionary() -> str:
    """jieba's dict.txt ("word count tag" lines, ~350,000 words), "" when jieba is not installed.
    Only the file is read: importing jieba sets up its tokenizer, and loading its dictionary takes
    ~1 s."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return ""
    path = Path(next(iter(spec.submodule_search_locations))) / "dict.txt"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return ""


@lru_cache(maxsize=1)
def real_words(min_count: int = WORD_MIN_COUNT, longest: int = MAX_WORD) -> WordList:
    """The words of two to `longest` characters that jieba's dictionary counts at least
    `min_count` (< 10) times; empty when jieba is not installed."""
    line = re.compile(rf"^([^ \n]{{2,{longest}}}) (?:[{min_count}-9]|\d\d)", re.MULTILINE)
    return WordList(line.findall(_jieba_dictionary()))


# jieba's part-of-speech tags of words that never name an organisation: verbs, adverbs, numerals,
# pronouns, prepositions, conjunctions, particles, measure, direction and time words, interjections.
_NOT_NAME_TAGS = "v|vd|d|ad|m|mq|r|p|c|u|y|q|f|o|e|t"


@lru_cache(maxsize=1)
def verb_like_words() -> WordList:
    """Two-character words jieba tags as verbs, adverbs, numerals, pronouns… (see _NOT_NAME_TAGS):
    before 科协 or 中心 they do not name one (了解科协, 听说一下科协), where 莱西 or 服务 would."""
    line = re.compile(rf"^([^ \n]{{2}}) \d+ (?:{_NOT_NAME_TAGS})$", re.MULTILINE)
    return WordList(line.findall(_jieba_dictionary()))


def pinyin_terms(norm: str) -> list[str]:
    """Toneless syllable unigrams and bigrams of a normalised text ('贴息' -> tie, xi, tie_xi)."""
    table = _pinyin_table()
    out: list[str] = []
    for run in _RUN_RE.findall(norm):
        if run.isascii():
            out.append(run)
            continue
        syllables = [table.get(ch) or ch for ch in run]
        out.extend(syllables)
        out.extend(f"{a}_{b}" for a, b in itertools.pairwise(syllables))
    return out


class Homophones:
    """Corrects homophone typos against the base's own words: a character bigram the base never
    uses whose toneless pinyin equals that of a bigram it does use, sharing one character, is
    replaced by it (清丹 -> 清单, 傍单 -> 榜单, 鲁科代 -> 鲁科贷). Only one character of a bigram may
    change, so a genuinely new word (校长, 传真) has nothing to turn into; and a bigram inside a real
    word (工资, 社保, 公积金: jieba's dictionary) is left alone unless the context says it is a typo
    (see `fix`)."""

    def __init__(self, phrasings: list[str], texts: list[str], skip: frozenset[str] = frozenset()) -> None:
        """`phrasings`: how the entries are asked (questions, topics, keywords) -- the words a typo
        may be corrected to; `texts`: everything else the base says (answers), which only counts as
        known; `skip`: function characters, never part of a correction (想了 is not a typo of 向了)."""
        table = _pinyin_table()
        self._table = table
        counts = _bigram_counts(phrasings)
        self.known = frozenset(counts) | frozenset(_bigram_counts(texts))
        # Three characters of a phrasing: a correction inside a real word must continue one.
        self.phrased = frozenset(_bigram_counts(phrasings, 3))
        by_sound: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for bigram, n in counts.items():
            if not skip.isdisjoint(bigram):
                continue
            a, b = table.get(bigram[0]), table.get(bigram[1])
            if a and b:
                by_sound[(a, b)].append((n, bigram))
        self._by_sound = {key: sorted(found, reverse=True) for key, found in by_sound.items()}
        self._skip = skip
        self.words = real_words() if table else WordList([])

    def fix(self, norm: str) -> str:
        """`norm` with homophone typos replaced by the base's words (unchanged when none). Inside a
        real word (经历, 社保, 营业执照) a bigram is corrected only when the changed character then
        continues a word the base is asked in (高效理事会 -> 高校理事会, 鲁科但是 -> 鲁科担是): else
        the word is the asker's, not a typo."""
        if not self._table:
            return norm
        chars = list(norm)
        changed = False
        for k in range(len(chars) - 1):
            bigram = chars[k] + chars[k + 1]
            if bigram in self.known or bigram.isascii() or not self._skip.isdisjoint(bigram):
                continue
            a, b = self._table.get(chars[k]), self._table.get(chars[k + 1])
            if not (a and b):
                continue
            found = self._by_sound.get((a, b), ())
            if not found:
                continue
            in_word: dict[int, bool] = {}  # position of the changed character -> inside a real word
            for _, known in found:
                confirmed = self._fits(chars, k, known)
                if confirmed is None:
                    continue
                at = k if known[1] == chars[k + 1] else k + 1
                if not confirmed:
                    if at not in in_word:
                        in_word[at] = self._in_word(chars, at)
                    if in_word[at]:
                        continue
                chars[k], chars[k + 1] = known[0], known[1]
                changed = True
                break
        return "".join(chars) if changed else norm

    def _in_word(self, chars: list[str], at: int) -> bool:
        """Whether chars[at] belongs to a real word of the question (two to MAX_WORD characters)."""
        words = self.words
        for start in range(max(0, at + 1 - MAX_WORD), at + 1):
            for end in range(max(at + 1, start + 2), min(len(chars), start + MAX_WORD) + 1):
                if "".join(chars[start:end]) in words:
                    return True
        return False

    def _fits(self, chars: list[str], k: int, known: str) -> bool | None:
        """Whether `known` may replace chars[k:k+2] (None: it may not): exactly one character
        changes, and the change breaks no bigram the base uses (协主 -> 些主 in "科协主席" would break
        科协: refused). True when the changed character then also forms a bigram the base is asked
        in with its other neighbour (the context confirms the correction), else False."""
        if known[0] == chars[k] and known[1] != chars[k + 1]:
            other = k + 2
            before, after = chars[k + 1 : k + 3], known[1] + chars[other] if other < len(chars) else ""
            longer = known + chars[other] if other < len(chars) else ""
        elif known[1] == chars[k + 1] and known[0] != chars[k]:
            other = k - 1
            before, after = chars[other : k + 1], chars[other] + known[0] if other >= 0 else ""
            longer = chars[other] + known if other >= 0 else ""
        else:
            return None
        if not 0 <= other < len(chars):
            return False
        if "".join(before) in self.known and after not in self.known:
            return None
        return longer in self.phrased


def _bigram_counts(texts: list[str], n: int = 2) -> Counter[str]:
    """Counts of the character n-grams (bigrams by default) of the Chinese runs of `texts`."""
    counts: Counter[str] = Counter()
    for text in texts:
        for run in _RUN_RE.findall(text):
            if not run.isascii():
                counts.update(run[i : i + n] for i in range(len(run) - n + 1))
    return counts
