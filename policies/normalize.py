"""Text normalisation for matching questions: one canonical form for what users type.

Users write Simplified or Traditional Chinese, full-width or half-width characters, with
punctuation, emoji and polite filler ("请问…呢"). Matching works on the canonical form only:
NFKC, Traditional -> Simplified, lower-case, letters and digits only, filler removed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Raw input is cut to this many characters before any heavy work, so a 10 MB message costs
# the same as a long question. No real question is longer.
MAX_INPUT_CHARS = 200

# Polite or empty words that say nothing about the topic. Longest first so that "我想问一下"
# goes as a whole before "一下" is considered.
FILLERS: tuple[str, ...] = tuple(
    sorted(
        {
            "我想问一下",
            "我想咨询一下",
            "想咨询一下",
            "我想了解一下",
            "想了解一下",
            "我想知道",
            "想问一下",
            "我想问问",
            "想问问",
            "我想问",
            "问一下",
            "请问",
            "请教",
            "你好",
            "您好",
            "麻烦您",
            "麻烦你",
            "麻烦",
            "谢谢",
            "多谢",
            "一下",
            "呢",
            "啊",
            "吧",
            "呀",
            "哈",
            "嘛",
            "哦",
            "呗",
            "啦",
            "吗",
        },
        key=len,
        reverse=True,
    )
)
_FILLER_RE = re.compile("|".join(re.escape(f) for f in FILLERS))

# Runs of ASCII letters/digits, and single non-ASCII "word" characters (CJK).
_TOKEN_RE = re.compile(r"[a-z0-9]+|[^a-z0-9\s]+")


@lru_cache(maxsize=1)
def _converter() -> Any:
    """OpenCC t2s, built once on first use (about 10 ms; pure Python)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@dataclass(frozen=True)
class _T2S:
    """OpenCC's t2s tables, read once: `chars` (every character t2s changes), `table` (a character's one
    Simplified form, for str.translate), and `subtle` — characters with several Simplified forms and
    the phrases t2s converts as a whole, where only OpenCC's own converter picks right."""

    chars: frozenset[str]
    table: dict[int, str]
    subtle: re.Pattern[str]


@lru_cache(maxsize=1)
def _t2s() -> _T2S:
    import opencc

    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    table: dict[int, str] = {}
    subtle: list[str] = []
    with (folder / "TSCharacters.txt").open(encoding="utf-8") as fh:
        for line in fh:
            key, _, values = line.rstrip("\n").partition("\t")
            choices = values.split(" ")
            if len(key) == 1 and choices[0] != key:
                table[ord(key)] = choices[0]
                if len(choices) > 1:
                    subtle.append(key)
    with (folder / "TSPhrases.txt").open(encoding="utf-8") as fh:
        subtle += [line.partition("\t")[0] for line in fh if line.strip()]
    subtle.sort(key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, subtle)))
    return _T2S(frozenset(map(chr, table)), table, pattern)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (characters outside Chinese pass through).

    OpenCC is pure Python (~3 µs per character, most of building the matcher); so text with no
    Traditional character is returned as it is, text whose characters each have one Simplified form
    and no phrase of OpenCC's goes through str.translate (the same result, in C), and only the rest
    through OpenCC.
    """
    if not text or text.isascii():
        return text
    t2s = _t2s()
    if t2s.chars.isdisjoint(text):
        return text
    converted: str = _converter().convert(text) if t2s.subtle.search(text) else text.translate(t2s.table)
    # OpenCC turns "甚麼" into "甚么"; users mean "什么".
    return converted.replace("甚么", "什么")


# Everything but letters and digits (punctuation, symbols, emoji, spaces, control characters):
# `\w` is str.isalnum() (Unicode categories L* and N*) plus "_". One C-level substitution instead of
# a Python call per character (building the matcher cleans every answer).
_DROPPED_RE = re.compile(r"[\W_]+")


def clean(text: str, limit: int | None = MAX_INPUT_CHARS) -> str:
    """NFKC + Simplified + lower-case + letters/digits only, without removing filler words.

    `limit=None` is for trusted text (the policy data), which may be long.
    """
    if not text:
        return ""
    if limit is not None:
        text = unicodedata.normalize("NFKC", text[:limit])[:limit]
    else:
        text = unicodedata.normalize("NFKC", text)
    text = _DROPPED_RE.sub("", text)
    return to_simplified(text).lower()


# How people shorten or mistype the programme's terms, mapped to the documents' wording. Applied to
# questions and phrasings alike, so an entry is found whichever form either side uses.
DOMAIN_VARIANTS: tuple[tuple[str, str], ...] = (
    ("结队", "结对"),
    ("连合体", "联合体"),
    ("联和体", "联合体"),
    ("鲁科袋", "鲁科贷"),
    ("帖息", "贴息"),
    ("石大", "石油大学"),
    # Taiwan wording that OpenCC's character conversion keeps (資訊 -> 资讯, not 信息).
    ("资讯", "信息"),
    ("专案", "项目"),
    ("网路", "网络"),
    ("软体", "软件"),
    ("智慧财产", "知识产权"),
    ("山科大", "山东科技大学"),
)
_VARIANT_RE = re.compile("|".join(re.escape(a) for a, _ in DOMAIN_VARIANTS))
_VARIANTS = dict(DOMAIN_VARIANTS)


def normalize(text: str) -> str:
    """The canonical form used for matching: `clean`, domain variants unified, filler words removed.

    Keeps digits (they carry meaning: 2025, 53个, 40%) and never returns more than
    MAX_INPUT_CHARS characters.
    """
    cleaned = _VARIANT_RE.sub(lambda m: _VARIANTS[m.group(0)], clean(text))[:MAX_INPUT_CHARS]
    stripped = _FILLER_RE.sub("", cleaned)
    # A message made only of filler ("你好呀") keeps its words so it still says something.
    return stripped or cleaned


def tokens(normalized: str) -> list[str]:
    """Tokens of an already normalised string: ASCII/digit runs whole, Chinese as character bigrams.

    Whitespace separates runs (callers may blank out words before tokenising).
    A Chinese run of a single character yields that character, so "3家" still gives "家".
    Bigrams need no dictionary (jieba costs ~1 s to load) and survive typos: one wrong
    character spoils only the two bigrams that contain it.
    """
    out: list[str] = []
    for run in _TOKEN_RE.findall(normalized):
        if run.isascii():
            out.append(run)
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def tokenize(text: str) -> list[str]:
    """`tokens(normalize(text))`."""
    return tokens(normalize(text))
