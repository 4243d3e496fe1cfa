"""Search the platform catalogue the way an enterprise asks: “有没有做防腐涂层中试的平台”.

The text of each platform (name, keywords, services, intentions, introduction, type, university) is
normalised like the FAQ's (`policies.normalize`: NFKC, Traditional -> Simplified, the programme's
abbreviations) and cut into character bigrams; an inverted index maps each bigram to the platforms
using it, with the weight of the most telling field it appears in (a name hit counts more than one in
the introduction). A query loses its question words (有没有, 哪个平台, 能做), is tried as written and
with domain synonyms (防腐 ~ 腐蚀防护, 中试 ~ 中试验证), and each platform is scored by the IDF-weighted
bigrams it shares with the query. `coverage` (the share of the query's weight a platform explains) says
whether the query was about platforms at all; rapidfuzz breaks near-ties on the name (typos).

Pure and synchronous: the index is built once per catalogue version (`PlatformCatalogue`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import overload

from rapidfuzz import fuzz

from policies.normalize import clean, normalize, tokens
from policies.ports import PlatformStore
from policies.records import Platform

logger = logging.getLogger(__name__)

FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "keywords": 2.5,
    "services": 2.0,
    "intentions": 1.5,
    "type": 1.5,
    "introduction": 1.0,
    "university": 1.0,
}
# Share of the query's weight a platform must explain to be listed at all.
MIN_COVERAGE = 0.45
# ... and to answer free text from the catalogue instead of the FAQ when the wording asks for a platform.
CUE_COVERAGE = 0.5
# ... and without such wording, when the FAQ has no answer either.
BARE_COVERAGE = 0.75
TIE_BREAK = 30  # near-ties re-ordered by how the name reads against the query (the first page or so)
SYNONYM_WEIGHT = 0.85  # a synonym's hit counts a little less than the word itself
UNKNOWN_FUNCTION_WEIGHT = 0.2  # a bigram the catalogue never uses that holds a function character

# Words that say "I am looking for a platform", not what for. Longest first.
CUE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {
            "有没有", "有无", "哪个", "哪些", "哪家", "哪里", "哪儿", "什么", "能不能", "可不可以", "是否",
            "能做", "可以做", "能够做", "能提供", "可以提供", "提供", "能够", "可以", "我想找", "想找",
            "找一个", "找一家", "找个", "帮我找", "推荐", "平台", "科创平台", "单位", "机构", "地方",
            "我们", "企业", "公司", "需要", "合作", "结对", "共建", "做", "的", "吗", "呢", "搞", "个",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_CUE_RE = re.compile("|".join(re.escape(w) for w in CUE_WORDS))
# Wording that asks for a platform (routes free text to 找平台 before the FAQ sees it).
ASKS_FOR_PLATFORM = re.compile(
    r"(有没有|有无|哪个|哪些|哪家|什么|推荐|找).{0,16}(平台|实验室|中心|基地|单位|机构|地方)"
    r"|(哪个|哪些|哪家|谁|什么).{0,6}(平台|实验室|中心|单位|机构|高校|学校).{0,4}(能|可以|会)"
    r"|(能|可以)(做|提供|开展).{0,16}(的)?(平台|实验室|中心|单位|机构)"
    r"|找平台"
)
# Domain synonyms: each key is also searched as each of its values (and the other way round).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "防腐": ("腐蚀防护", "防护", "耐蚀"),
    "腐蚀": ("防腐", "耐蚀"),
    "中试": ("中试验证", "中试放大", "小批量试制"),
    "检测": ("测试", "检验", "试验"),
    "测试": ("检测",),
    "船": ("船舶",),
    "海工": ("海洋工程",),
    "水下": ("水下机器人", "潜航器"),
    "电池": ("动力电池",),
    "芯片": ("集成电路", "微电子"),
    "人工智能": ("智能", "算法"),
    "ai": ("人工智能", "算法"),
    "养殖": ("水产养殖",),
    "药": ("药物",),
    "涂料": ("涂层",),
    "涂层": ("涂料",),
    "实训": ("实习实训", "培训"),
    "培训": ("实训", "人才培养"),
}
_SYN_RE = re.compile("|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)))
FUNCTION_CHARS = frozenset(
    "的是在了我你他她它们这那个要去想该就也都还和与及或把被给让从向为以里么呢吧啊呀哈有没不得地着过会能可应请一做"
)


def asks_for_platform(text: str) -> bool:
    """Wording that asks which platform (有没有…平台, 哪个平台能…), after the FAQ's normalisation."""
    return ASKS_FOR_PLATFORM.search(normalize(text)) is not None


def _doc_text(platform: Platform, field_id: str) -> str:
    return clean(str(getattr(platform, field_id)), limit=None)


def _bigrams(norm: str) -> set[str]:
    return set(tokens(norm))


@dataclass(frozen=True)
class Hit:
    platform: Platform
    score: float
    coverage: float


class Results(Sequence[Hit]):
    """Search results, best first; a `Hit` is made only for what is read (a page, the top one)."""

    def __init__(self, index: PlatformIndex, ranked: list[tuple[float, int, float]]) -> None:
        self._index = index
        self._ranked = ranked

    def __len__(self) -> int:
        return len(self._ranked)

    @overload
    def __getitem__(self, item: int) -> Hit: ...
    @overload
    def __getitem__(self, item: slice) -> list[Hit]: ...
    def __getitem__(self, item: int | slice) -> Hit | list[Hit]:
        if isinstance(item, slice):
            return [self._hit(r) for r in self._ranked[item]]
        return self._hit(self._ranked[item])

    def _hit(self, ranked: tuple[float, int, float]) -> Hit:
        value, i, coverage = ranked
        return Hit(self._index.platforms[i], -value, coverage)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class PlatformIndex:
    """The catalogue's inverted bigram index. `search(query)` -> hits, best first."""

    def __init__(self, platforms: Iterable[Platform]) -> None:
        self.platforms: list[Platform] = list(platforms)
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        self._names: list[str] = []
        for i, platform in enumerate(self.platforms):
            self._names.append(_doc_text(platform, "name"))
            for field_id, weight in FIELD_WEIGHTS.items():
                for gram in _bigrams(_doc_text(platform, field_id)):
                    bucket = postings[gram]
                    if bucket.get(i, 0.0) < weight:
                        bucket[i] = weight
        n = max(len(self.platforms), 1)
        self._postings = dict(postings)
        self._idf = {g: math.log(1 + n / len(b)) for g, b in postings.items()}
        self._unknown_idf = math.log(1 + n)
        self.universities = sorted({p.university for p in self.platforms})
        self.types = sorted({p.type for p in self.platforms})

    def __len__(self) -> int:
        return len(self.platforms)

    def query_terms(self, query: str) -> str:
        """The query without its question and cue words (blanks keep bigrams from spanning a gap)."""
        return _CUE_RE.sub(" ", normalize(query)).strip()

    def _weight(self, gram: str) -> float:
        idf = self._idf.get(gram)
        if idf is not None:
            return idf
        if any(ch in FUNCTION_CHARS for ch in gram):
            return UNKNOWN_FUNCTION_WEIGHT
        return self._unknown_idf

    def _scores(self, terms: str, min_coverage: float) -> tuple[dict[int, tuple[float, float]], float]:
        """{platform: (score, covered weight)} of the platforms that can reach `min_coverage`, and the
        query's total weight.

        Candidates come from the rarest bigrams first, stopping once the bigrams left cannot reach the
        coverage floor on their own (a common bigram such as 海洋 is then only checked, not scanned). A
        synonym (防腐 ~ 腐蚀防护) credits the platforms using all of its bigrams with the weight of the
        word it stands for, when they lack that word."""
        weights = {g: self._weight(g) for g in tokens(terms)}
        total = sum(weights.values())
        floor = min_coverage * total
        known = sorted((g for g in weights if g in self._postings), key=lambda g: len(self._postings[g]))
        candidates: set[int] = set()
        remaining = sum(weights[g] for g in known)
        for gram in known:
            if remaining < floor:
                break
            candidates.update(self._postings[gram])
            remaining -= weights[gram]
        credit: dict[int, float] = {}
        for match in _SYN_RE.finditer(terms):
            key_postings = [
                (self._postings.get(g, {}), weights[g]) for g in tokens(match.group(0)) if g in weights
            ]
            credited: set[int] = set()
            for alt in SYNONYMS[match.group(0)]:
                postings = [self._postings.get(g) for g in tokens(alt)]
                if not postings or not all(postings):
                    continue
                found = set(postings[0] or ()).intersection(*(p or () for p in postings[1:])) - credited
                credited |= found
                for posting, weight in key_postings:
                    for i in found.difference(posting):
                        credit[i] = credit.get(i, 0.0) + weight * SYNONYM_WEIGHT
        candidates.update(i for i, c in credit.items() if c + remaining >= floor)
        getters = [(self._postings[g].get, weights[g]) for g in known]
        service_weight = FIELD_WEIGHTS["services"]
        credit_of = credit.get
        out: dict[int, tuple[float, float]] = {}
        for i in candidates:
            covered = credit_of(i, 0.0)
            score = covered * service_weight
            for get, weight in getters:
                field_weight = get(i)
                if field_weight is not None:
                    score += weight * field_weight
                    covered += weight
            if covered >= floor:
                out[i] = (score, covered)
        return out, total

    def search(
        self,
        query: str,
        *,
        university: str | None = None,
        platform_type: str | None = None,
        min_coverage: float = MIN_COVERAGE,
    ) -> Results:
        """Platforms matching `query`, best first; an empty query lists every platform (filtered)."""
        terms = self.query_terms(query)

        def allowed(i: int) -> bool:
            p = self.platforms[i]
            return (university is None or p.university == university) and (
                platform_type is None or p.type == platform_type
            )

        if not terms.replace(" ", ""):
            return Results(self, [(0.0, i, 1.0) for i in range(len(self.platforms)) if allowed(i)])
        scored, total = self._scores(terms, min_coverage)
        if total <= 0:
            return Results(self, [])
        filtered = university is not None or platform_type is not None
        ranked = [
            (-(covered / total * 100 + score), i, covered / total)
            for i, (score, covered) in scored.items()
            if not filtered or allowed(i)
        ]
        ranked.sort()
        if len(ranked) > 1 and ranked[1][0] - ranked[0][0] < 1.0:  # near-tie: the closest name first
            compact = terms.replace(" ", "")
            close = [r for r in ranked[:TIE_BREAK] if r[0] - ranked[0][0] < 1.0]
            close.sort(key=lambda t: -fuzz.partial_ratio(compact, self._names[t[1]]))
            ranked = close + ranked[len(close) :]
        return Results(self, ranked)

    def by_university(self, university: str) -> list[Platform]:
        return [p for p in self.platforms if p.university == university]

    def get(self, platform_id: int) -> Platform | None:
        return next((p for p in self.platforms if p.id == platform_id), None)


class PlatformCatalogue:
    """The current catalogue's index, rebuilt when the stored catalogue changes (an import by
    `bot.py platforms import` in another process is seen at the next search)."""

    def __init__(self, source: PlatformStore) -> None:
        self.source = source
        self._version: str | None = None
        self._index = PlatformIndex(())
        self._lock = asyncio.Lock()

    async def index(self) -> PlatformIndex:
        version = await self.source.platforms_version()
        if version == self._version:
            return self._index
        async with self._lock:
            if version != self._version:
                platforms = await self.source.current_platforms()
                self._index = await asyncio.to_thread(PlatformIndex, platforms)
                self._version = version
                logger.info("Platform index rebuilt: %d platforms", len(platforms))
        return self._index

    async def get(self, platform_id: int) -> Platform | None:
        return await self.source.get_platform(platform_id)
