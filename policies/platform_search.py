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
from collections.abc import Iterable
from dataclasses import dataclass

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
        self._postings = {g: tuple(b.items()) for g, b in postings.items()}
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

    def _variants(self, terms: str) -> list[str]:
        """The terms as written, then with each synonym in place of its key."""
        variants = [terms]
        for match in _SYN_RE.finditer(terms):
            for alt in SYNONYMS[match.group(0)]:
                variants.append(terms[: match.start()] + alt + terms[match.end() :])
        return variants[:8]

    def _score(self, terms: str, factor: float, best: dict[int, tuple[float, float]]) -> None:
        grams = tokens(terms)
        if not grams:
            return
        weights = {g: self._weight(g) for g in grams}
        total = sum(weights.values())
        if total <= 0:
            return
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        for gram, idf in weights.items():
            for i, field_weight in self._postings.get(gram, ()):
                scores[i] += idf * field_weight
                covered[i] += idf
        for i, score in scores.items():
            coverage = covered[i] / total * factor
            value = score * factor
            old = best.get(i)
            if old is None or (coverage, value) > (old[1], old[0]):
                best[i] = (max(value, old[0]) if old else value, coverage)

    def search(
        self,
        query: str,
        *,
        university: str | None = None,
        platform_type: str | None = None,
        min_coverage: float = MIN_COVERAGE,
    ) -> list[Hit]:
        """Platforms matching `query`, best first; an empty query lists every platform (filtered)."""
        terms = self.query_terms(query)
        allowed = [
            i
            for i, p in enumerate(self.platforms)
            if (university is None or p.university == university)
            and (platform_type is None or p.type == platform_type)
        ]
        if not terms.replace(" ", ""):
            return [Hit(self.platforms[i], 0.0, 1.0) for i in allowed]
        best: dict[int, tuple[float, float]] = {}
        for n, variant in enumerate(self._variants(terms)):
            self._score(variant, 1.0 if n == 0 else SYNONYM_WEIGHT, best)
        keep = set(allowed)
        ranked = sorted(
            ((score, cov, i) for i, (score, cov) in best.items() if i in keep and cov >= min_coverage),
            key=lambda t: (-(t[1] * 100 + t[0]), t[2]),
        )
        if len(ranked) > 1:  # near-ties: the name that reads closest to the query first
            compact = terms.replace(" ", "")
            top = ranked[0][1] * 100 + ranked[0][0]
            close = [r for r in ranked if top - (r[1] * 100 + r[0]) < 1.0]
            if len(close) > 1:
                close.sort(key=lambda t: -fuzz.partial_ratio(compact, self._names[t[2]]))
                ranked = close + ranked[len(close) :]
        return [Hit(self.platforms[i], score, cov) for score, cov, i in ranked]

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
