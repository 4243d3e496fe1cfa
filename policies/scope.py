"""Questions just outside the documents' scope, by class, that the score alone would answer.

The documents are Qingdao's (西海岸新区, 莱西) and Shandong province's. A question can share most of
its words with an entry and still ask what the entry does not say:

* another place: 深圳市创新联合体的组建条件 is not answered by Qingdao's rules (a Shandong city such as
  济南 is under the provincial plan and is not another place, except against an entry about another
  Shandong city: 济南的创新联合体 vs Qingdao's guide, 平度有多少高企 vs 莱西's figures);
* an achieved figure: 新区2024年技术合同成交额实际做到了多少 is not answered by a target (到2028年突破…);
* a sub-group of a count: 53个平台里中国海洋大学有几个 (or, the other way round, 53个平台里有多少个是
  省级的) is not answered by the count of all 53;
* a count of something else than the entry counts: 大学城有多少在校生 vs an entry listing universities;
* a ranking within a counted set: 这批平台里哪所高校的最多 is not answered by the count of all of them
  (an entry that itself says 最高/最多 answers 哪类项目资助最高);
* the name of a party the entry leaves unnamed: 评估委托给了哪家第三方机构 is not answered by "委托第三方
  评估机构实施" (an entry naming it, "第三方机构为…", would answer);
* a date for something the entry gives no date for: 科教园哪年建成 is not answered by a plan stating no
  year, month, week or quarter (an entry with 2025年3月18日 answers 哪天完成);
* another province's own rules where the entry only names it as a reference: 江苏的具体政策条款 is not
  answered by "借鉴江苏省…经验" (借鉴了哪个省的经验 is);
* a roster of members already filed, paired or named by a collective label (已经备案的联合体有哪几家,
  九校一所具体是哪几所, 已经认定了哪些平台) where the entry names no institution;
* a count of a thing the entry mentions but never counts: 镇街建了多少个服务站 is not answered by an
  entry saying it built 服务站 in every 镇街 and counting volunteers (24000余人); an entry with a number
  next to the thing (53个高能级科创平台, 高校院所不少于2家) answers;
* how often something recurs where the entry states no cycle: 绩效评价多久评一次 is not answered by
  "适时开展绩效评价" (定期 and 常态化 give no period either; 每季度, 一个季度公布一次 answer);
* the phone of an office the entry names with no number in that sentence: 功能区和镇街的咨询电话 is not
  answered by "秘书处13210876217；也可咨询所在功能区/镇街" (秘书处的电话 is);
* a named person (王处长的手机号): the documents name no official;
* the conditions of something the entry never mentions: 外地人才申请人才公寓需要什么条件 is not
  answered by the conditions of leading a union because both ask 条件 (牵头单位要满足什么条件 is);
* a task for the bot rather than a question (帮我写一份…, 帮我翻译…), and small talk (你好, 在吗,
  你是谁): a greeting shares a word or two with some entry by chance and asks nothing of it.

`Matcher.band` declines when `out_of_scope` names a class for the best entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from policies.facts import PHONE_NUMBER_RE

# Provinces and large cities outside Shandong. Names that occur inside other words of the documents'
# domain (莱西安家 holds 西安, 完成都 holds 成都, 黄海南 holds 海南) need their suffix or a guard.
_PLACES = (
    "北京|天津|(?<!加)上海|重庆|河北|内蒙古|辽宁|黑龙江|江苏|浙江|安徽|福建|河南|湖北|湖南|广东|广西"
    "|四川|贵州|云南|西藏|陕西|甘肃|宁夏|新疆|台湾|澳门"
    "|深圳|广州|杭州|南京|苏州|无锡|宁波|厦门|武汉|长沙|郑州|合肥|沈阳|大连|哈尔滨|石家庄|太原"
    "|南昌|福州|昆明|贵阳|南宁|兰州|乌鲁木齐|呼和浩特|东莞|佛山|珠海|常州|徐州|温州|绍兴|嘉兴|南通"
    "|(?<![东西黄渤])海南|(?<![长浙])江西|(?<![崂泰华])山西|青海(?!洋)|吉林(?!大学)"
    "|西安市|成都市|长春市|银川市|西宁市|拉萨市"
)
# A place as part of an institution's name (北京大学, 上海技术交易所) names no other place's rules.
_INSTITUTION = r"(?:大学|交通大学|理工|师范|工业大学|科技大学|医科|财经|农业大学|海洋大学|技术交易所|研究院)"
_FOREIGN_RE = re.compile(rf"(?:{_PLACES})(?!{_INSTITUTION})")

# An achieved figure: "实际做到了多少", "目前已经备案了多少个", "现在有几家" …
_ACHIEVED_RE = re.compile(
    r"(?:实际|真实|已经|已|目前|现在|至今|迄今|截至目前|截止目前|到目前为止|去年|上一?年)"
    r"[\u4e00-\u9fff\d]{0,12}?(?:多少|几|哪几)"
    r"|(?:做到|完成|达到|实现)了(?:多少|几)"
)
# An entry that states only targets: a goal for a future year, nothing reported as done.
_TARGET_RE = re.compile(r"到20\d\d年|力争|争取|目标|将达到")
_DONE_RE = re.compile(r"已|累计|截至|截止到|共有|现有|完成了")

# A sub-group of a counted set: "53个平台里，中国海洋大学有几个", "这些企业当中青岛的有多少家" (the
# set is counted or pointed at; "区里", "省里" name no set).
_SUBGROUP_RE = re.compile(
    r"(?:\d+|[一二三四五六七八九十百]+|这些|那些)(?:个|家|所|名|项|位|条)?[\u4e00-\u9fff]{0,6}?"
    r"(?:里|里面|当中|之中|中)([\u4e00-\u9fff]{2,12}?)的?(?:一共|共|能|占|有|是)*(?:几|多少)"
    r"(?:家|个|所|名|人|项|位|条|张)?$"
)
# The same asked the other way round: "53个平台里有多少个是国家级的", "这些企业中有几家是外地的".
_SUBGROUP_IS_RE = re.compile(
    r"(?:\d+|[一二三四五六七八九十百]+|这些|那些)(?:个|家|所|名|项|位|条)?[\u4e00-\u9fff]{0,8}?"
    r"(?:里|里面|当中|之中|中)有?(?:多少|几)(?:个|家|所|名|项|位|条)?(?:是|属于)([\u4e00-\u9fff]{2,8}?)的?$"
)
# The thing counted when it follows "有多少" with no measure word ("大学城有多少在校生"); an amount
# of money (有多少补贴) is the amount guard's.
_COUNTED_RE = re.compile(r"(?<!哪)有(?:多少|几)(?:个|名|位)?([\u4e00-\u9fff]{2,4})$")
_MONEY_RE = re.compile(r"钱|金|费|补|奖|贴|资|款|额|薪|酬|率|例")
# Counted words that say nothing of what is counted.
_VAGUE = frozenset("人 个 家 年 天 次 钱 万元 元 亿元 亿 万 岁 号 月 周 期 批 轮 种 类 条 项 点 步".split())


# Places of one level: a question naming one of them is about another place than an entry that names
# only others of the same level (and not about a place the entry leaves open).
_SIBLINGS = (
    # Shandong's cities.
    (
        "济南",
        "青岛",
        "淄博",
        "枣庄",
        "东营",
        "烟台",
        "潍坊",
        "济宁",
        "泰安",
        "威海",
        "日照",
        "临沂",
        "德州",
        "聊城",
        "滨州",
        "菏泽",
    ),
    # Qingdao's districts and county-level cities (西海岸新区 is 黄岛区).
    ("市南", "市北", "李沧", "崂山", "城阳", "即墨", "胶州", "平度", "莱西", ("西海岸", "黄岛")),
)


def sibling_place(asked: str, text: str) -> str:
    """A place of one level (a Shandong city, a Qingdao district) the question names and the entry
    does not, where the entry names another of that level; "" if none."""
    for level in _SIBLINGS:
        names = [(p,) if isinstance(p, str) else p for p in level]
        named = [p for p in names if any(n in asked for n in p)]
        in_entry = [p for p in names if any(n in text for n in p)]
        for place in named:
            if place not in in_entry and any(p not in named for p in in_entry):
                return place[0]
    return ""


def foreign_places(asked: str) -> list[str]:
    """Places outside Shandong a cleaned question names (not as part of a university's name)."""
    return [m.group(0).removesuffix("市") for m in _FOREIGN_RE.finditer(asked)]


def asks_achieved(asked: str) -> bool:
    """Whether a cleaned question asks a figure actually reached (not a target)."""
    return bool(_ACHIEVED_RE.search(asked))


def target_only(answer: str) -> bool:
    """Whether a passage states targets and reports nothing as achieved."""
    return bool(_TARGET_RE.search(answer)) and not _DONE_RE.search(answer)


def subgroup(asked: str) -> str:
    """The sub-group a count question narrows to ('中国海洋大学' of '53个平台里中国海洋大学有几个',
    '国家级' of '53个平台里有多少个是国家级的')."""
    m = _SUBGROUP_RE.search(asked) or _SUBGROUP_IS_RE.search(asked)
    return m.group(1) if m else ""


def counted(norm: str) -> str:
    """What a count question counts when named after the number ('在校生' of '有多少在校生')."""
    m = _COUNTED_RE.search(norm)
    if not m or m.group(1) in _VAGUE or _MONEY_RE.search(m.group(1)):
        return ""
    return m.group(1)


# A ranking within a set: "哪所高校的最多", "哪家排第一" (the superlative the entry would have to state).
_RANKING_RE = re.compile(
    r"哪[个所家位项类种一]?[\u4e00-\u9fff]{0,10}?(最多|最少|最高|最低|最大|最小|最强|最好|最快|排第一|第一名)"
    r"|(排名|排第)"
)
_RANKED_RE = re.compile(r"最|第一|排名|名列|位居|榜首")

# A party the documents name generically ("委托第三方评估机构", "组织专家"), asked by name.
_PARTY = r"第三方(?:评估|服务)?(?:机构)?|中介机构|评估机构|评审专家"
_PARTY_NAME_RE = re.compile(
    rf"({_PARTY})[\u4e00-\u9fff]{{0,3}}?(?:是|为)?(?:哪家|哪一家|哪个|哪些|哪几家|谁|叫什么|什么名字|名字|名称|名单)"
    rf"|(?:哪家|哪一家|哪个|哪些|哪几家)[\u4e00-\u9fff]{{0,2}}?({_PARTY})"
)

# A date asked for something's completion or start, and the dates an entry can state.
_WHEN_DONE_RE = re.compile(
    r"(?:哪年|哪一年|几几年|什么时候|什么时间|啥时候|何时|哪天|哪一天|几月|哪个月)[\u4e00-\u9fff]{0,6}?"
    r"(?:建成|建好|落成|投用|投入使用|竣工|完工|开通|启用|开工|动工|建起来|运营|开园|挂牌|成立|完成|实现|出台)"
    r"|(?:建成|建好|落成|投用|竣工|完工|开通|启用|开园|挂牌|成立)[\u4e00-\u9fff]{0,2}?(?:哪年|哪一年|什么时候|何时|哪天)"
)
_DATE_RE = re.compile(
    r"\d{4}|\d+月|\d+日|[一二三四五六七八九十\d]+(?:年|周|个月|季度)|年底|年内|年初|年末|今年|明年|月底|月初"
    r"|上半年|下半年|每年|每季度|周"
)
# A document number's year (青西新发〔2024〕10号) dates the document, not what it plans.
_DOC_NUMBER_RE = re.compile(r"[〔\[（(]\d{4}[〕\]）)]\d+号")

# A place named by the entry only as a reference (借鉴江苏省…), and a question asking its own rules.
_REFERENCE_RE = "(?:借鉴|参考|学习|对标|参照)[了]?"
_OWN_RULES_RE = re.compile(r"具体|条款|细则|原文|全文|规定|办法|申报|申请|补贴|奖励|比例|条件|怎么办")
_ABOUT_REFERENCE_RE = re.compile(r"借鉴|参考|学习|对标|参照|经验|哪个省|外省")

# A roster: the members of a set already filed or paired, or behind a collective label.
_ROSTER_RE = re.compile(
    r"哪几家|哪几所|哪所|哪家|哪些(?:企业|高校|学校|单位|公司|大学|联合体|创新联合体|平台|科创平台|机构|院所)"
    r"|名单[\u4e00-\u9fff]{0,2}?(?:有哪|是什么|发|给|看|查|在哪)"
)
_MEMBERSHIP_RE = re.compile(
    r"(?:已经|已|首批|第一批|目前|现在)[\u4e00-\u9fff]{0,8}?(?:备案|结对|入选|认定|获批|签约)"
    r"|(?:备案|结对|入选|认定|获批|签约)(?:的|了)|具体是哪|分别是哪"
)
_INSTITUTION_NAME_RE = re.compile(r"[\u4e00-\u9fff]{2,12}(?:大学|学院|研究所|研究院|公司|集团|有限)")

# A named official: a surname and a title (张处长, 李主任).
_PERSON_RE = re.compile(
    "[张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程苏魏吕丁"
    "沈姚卢姜崔钟谭陆汪范廖贾夏韦邹孟熊秦邱尹薛闫段雷侯史陶黎贺顾毛郝龚邵覃戴莫孔汤]"
    "(?:处长|科长|局长|主任|厅长|部长|书记|经理|院长|校长|教授|主席|秘书长)"
)

# The thing a count question counts, named before the count ("服务站一共建了多少个") or after it
# ("一共建了多少个服务站", "有多少家省级以上高新区"), and a count an answer states next to it.
_COUNT_WORDS = r"(?:一共|总共|共|总计|累计|目前)?(?:建了|建成了|建起了|建设了|设了|设立了|办了|有|建|设)?"
_COUNT_BEFORE_RE = re.compile(
    rf"([\u4e00-\u9fff]{{2,14}}?){_COUNT_WORDS}(?<!哪)(?:多少|几)(?:个|家|所|座|处)$"
)
_COUNT_AFTER_RE = re.compile(r"(?<!哪)(?:多少|几)(?:个|家|所|座|处)([\u4e00-\u9fff]{2,10})$")
_COUNT_NEAR_RE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:余|多)?(?:万)?(?:个|家|所|名|人|项|张|位|座|处|条)"
    r"|[一二两三四五六七八九十百]+(?:个|家|所|座|处|大)"
)
_COUNT_AFTER_NEAR_RE = re.compile(r"\d|[一二两三四五六七八九十百]+(?:个|家|所|名|项)")
_BOUND_RE = re.compile(r"(?:最少|至少|最多|至多|大概|大约|要求|总共|一共|要|能|会|可以|打算|计划|准备)+$")
_CLAUSE_END_RE = re.compile(r"[。；，,;]")

# The party whose phone is asked ("功能区和镇街那边的咨询电话"), and a phone number in an answer.
_PHONE_OF_RE = re.compile(
    r"([\u4e00-\u9fff]{2,12}?)(?:那边|那里|这边|方面)?的?(?:咨询|联系|办公|服务)?(?:电话|热线|手机号|联系方式)"
)
_SENTENCE_END_RE = re.compile(r"[。；;]")
# A party with a phone is an office or a place's administration (功能区, 镇街, 科技局), not a topic
# (创新联合体的咨询电话 asks the programme's phone).
_OFFICE_RE = re.compile(r"(?:区|街|镇|局|厅|处|委|办|中心|部门|单位|科协|协会|政府|秘书处|管委会|服务站)$")

# How often something recurs ("多长时间评一次", "多久更新一回", "一年搞几次"), and the cycles a passage
# can state ("每季度", "一个季度公布一次", "每年"); "适时", "定期" and "常态化" give no period.
_HOW_OFTEN_RE = re.compile(
    r"(?:多长时间|多久|多少天|几年|几个月|多长)[\u4e00-\u9fff]{0,3}?一?(?:次|回|轮)(?!性)"
    r"|每隔多久|隔多久|频次|频率"
    r"|(?:一年|每年|一个月|每月|一个季度|每季度)[\u4e00-\u9fff]{0,3}?(?:几|多少)(?:次|回|轮)"
)
_CYCLE_RE = re.compile(
    r"每(?:年|季度|季|月|周|半年|两年|三年|\d+年|个月|学期|届|期)|(?:一|每)个?季度|年度"
    r"|周期|[一二两三\d]年一(?:次|评|届)"
)

# Small talk: a greeting or a question about the bot itself, with nothing asked of the documents.
_CHAT_RE = re.compile(
    r"^(?:(?:你好|您好|哈喽|嗨|在吗|在不在|有人吗|有人在吗|你是谁|您是谁|你是什么|你叫什么|你叫啥"
    r"|你是机器人吗|你是真人吗|你是人工智能吗)[啊呀吗呢哈]*)+$"
)

# What a condition question is about ("外地人在青岛落户需要什么条件"): the words before the asking ones.
_CONDITION_OF_RE = re.compile(
    r"([\u4e00-\u9fff]{2,14}?)(?:需要|需|要|得|应该|应|须)?(?:满足|具备|符合|达到)?"
    r"(?:什么|哪些|啥|哪几个|哪几项|哪几条)(?:样的)?(?:条件|资格|门槛)$"
)

# A task for the bot: writing, translating or booking something.
_TASK_RE = re.compile(r"^(?:请|麻烦)?你?帮(?:我|忙)(?:写|起草|拟|编|翻译|翻成|生成|订|预订|做一)")


def asks_ranking(asked: str, answer: str) -> bool:
    """Whether a question ranks within a set ("哪所高校的最多") the answer states no ranking of."""
    return bool(_RANKING_RE.search(asked)) and not _RANKED_RE.search(answer)


def unnamed_party(asked: str, answer: str) -> str:
    """The generic party (第三方机构…) a question asks the name of where the answer names none."""
    m = _PARTY_NAME_RE.search(asked)
    if not m:
        return ""
    party = m.group(1) or m.group(2)
    stem = party[:3]
    if stem not in answer or re.search(rf"{stem}[\u4e00-\u9fff]{{0,4}}?(?:为|是|：|“|（)", answer):
        return ""
    return party


def undated(asked: str, answer: str) -> bool:
    """Whether a question asks when something is done and the answer states no date at all."""
    return bool(_WHEN_DONE_RE.search(asked)) and not _DATE_RE.search(_DOC_NUMBER_RE.sub("", answer))


def referenced_place(asked: str, text: str) -> str:
    """A place outside Shandong the entry names only as a reference (借鉴江苏省…) while the question
    asks that place's own rules (江苏的具体政策条款); "" if none."""
    if _ABOUT_REFERENCE_RE.search(asked) or not _OWN_RULES_RE.search(asked):
        return ""
    for place in foreign_places(asked):
        if place in text and re.search(rf"{_REFERENCE_RE}{place}", text):
            return place
    return ""


def count_subject(asked: str) -> tuple[str, ...]:
    """What a count question counts, as the parts to look for in an answer: the first and last
    characters of a thing named after the count ('科创' and '服务站' of '…一共建了多少个科创中国服务站'),
    the last characters of one named before it ('服务站' of '科创中国服务站一共建了多少个'; the words
    before the last 的/在/里, and a bound such as 至少, are dropped); () if none. A thing followed by
    a verb in 了 (走访了多少家) is the doer, not what is counted."""
    m = _COUNT_AFTER_RE.search(asked)
    if m and m.group(1) not in _VAGUE:
        return (m.group(1)[:2], m.group(1)[-3:])
    m = _COUNT_BEFORE_RE.search(asked)
    # "到2026年底要求至少几家": a date, not a thing.
    if not m or "了" in m.group(1) or asked[max(m.start(1) - 1, 0)].isdigit():
        return ()
    thing = _BOUND_RE.sub("", re.split(r"[的在里中]", m.group(1))[-1])
    return (thing[-3:],) if len(thing) >= 2 and thing not in _VAGUE else ()


def uncounted(parts: tuple[str, ...], answer: str) -> bool:
    """Whether an answer that mentions `thing` never gives a count of it: no number with a measure word
    in the same clause before its first or last characters, nor just after them (服务站 in "在各镇街建立
    “科创中国”服务站" vs "53个高能级科创平台", "科普信息员24000余人", "高校院所原则上不少于2家")."""
    found = False
    for part in parts:
        for m in re.finditer(re.escape(part), answer):
            found = True
            before, after = _beside(answer, m.start(), m.end(), (20, 12), _CLAUSE_END_RE)
            if _COUNT_NEAR_RE.search(before) or _COUNT_AFTER_NEAR_RE.search(after):
                return False
    return found


def _beside(
    text: str, start: int, end: int, reach: tuple[int, int], stop: re.Pattern[str]
) -> tuple[str, str]:
    """The text just before `start` and just after `end` (at most `reach` characters each way),
    cut where `stop` (a clause or sentence end) is met."""
    before = stop.split(text[max(start - reach[0], 0) : start])[-1]
    after = stop.split(text[end : end + reach[1]])[0]
    return before, after


def unphoned_party(asked: str, answer: str) -> str:
    """A party whose phone a question asks that the answer names with no phone number in the same
    sentence ("也可咨询所在功能区/镇街" after the secretariat's number); "" if none."""
    m = _PHONE_OF_RE.search(asked)
    if not m:
        return ""
    # The words next to the phone name the party: "高新区和高校联动方案服务热线" is a plan's hotline.
    parts = re.split(r"[和或与及]", m.group(1).split("的")[-1])
    if not _OFFICE_RE.search(parts[-1]):
        return ""
    parties = [p for p in parts if len(p) >= 2 and _OFFICE_RE.search(p)]
    named = False
    for party in parties:
        for spot in re.finditer(re.escape(party), answer):
            named = True
            before, after = _beside(answer, spot.start(), spot.end(), (30, 30), _SENTENCE_END_RE)
            if PHONE_NUMBER_RE.search(before) or PHONE_NUMBER_RE.search(after):
                return ""
    return parties[0] if named else ""


def unstated_frequency(asked: str, answer: str) -> bool:
    """Whether a question asks how often something recurs and the answer states no cycle."""
    return bool(_HOW_OFTEN_RE.search(asked)) and not _CYCLE_RE.search(answer)


def asked_about(pattern: re.Pattern[str], asked: str) -> str:
    """The last words (at most four characters, after the last 的 or 在) of what a question asks a
    condition of ('青岛落户' of '外地人在青岛落户需要什么条件'); "" if none."""
    m = pattern.search(asked)
    if not m:
        return ""
    thing = re.split(r"[的在]", m.group(1))[-1][-4:]
    return thing if len(thing) >= 2 else ""


def asks_roster(asked: str, answer: str) -> bool:
    """Whether a question asks the members of a filed, paired or labelled set and the answer names
    no institution."""
    return (
        bool(_ROSTER_RE.search(asked))
        and bool(_MEMBERSHIP_RE.search(asked))
        and not _INSTITUTION_NAME_RE.search(answer)
    )


def out_of_scope(asked: str, norm: str, text: str, answer: str, uses: Callable[[str], bool]) -> str:
    """The class of question the entry does not answer ("" if none): `asked` is the cleaned question,
    `norm` the question in the documents' terms, `text` all the entry says, `answer` its passage and
    `uses(phrase)` whether the entry uses most of a phrase's words."""
    if _TASK_RE.search(asked):
        return "task"
    if _CHAT_RE.match(asked):
        return "chat"
    if _PERSON_RE.search(asked):
        return "person"
    if any(place not in text for place in foreign_places(asked)) or sibling_place(asked, text):
        return "place"
    if referenced_place(asked, text):
        return "place"
    if asks_achieved(asked) and target_only(answer):
        return "achieved"
    group = subgroup(asked)
    if group and group not in text:
        return "subgroup"
    thing = counted(norm)
    if thing and not uses(thing):
        return "counted"
    parts = count_subject(asked)
    if parts and uncounted(parts, answer):
        return "uncounted"
    if asks_ranking(asked, answer):
        return "ranking"
    if unnamed_party(asked, answer):
        return "party"
    if undated(asked, answer):
        return "date"
    if asks_roster(asked, answer):
        return "roster"
    if unphoned_party(asked, answer):
        return "phone"
    if unstated_frequency(asked, answer):
        return "frequency"
    thing = asked_about(_CONDITION_OF_RE, asked)
    if thing and not uses(thing):
        return "conditions"
    return ""
