"""Answer free-text policy questions from the curated FAQ, or decline honestly.

Every FaqEntry contributes phrasings (its questions, topic and keywords), normalised once at
construction. A question is scored against every entry by two signals:

* coverage: IDF-weighted character bigrams of the question found in the entry's phrasings
  (how much of the question the entry explains, and how much of its best phrasing was asked);
* fuzzy: rapidfuzz similarity of the normalised question to the entry's best phrasing, which
  tolerates typos and reordering;
* missing: the share of the question's words that the entry (phrasings, answer, citation) never
  uses, which pulls down an entry that only shares a generic tail with the question.

Everyday words are first rewritten to the documents' terms (`official_terms`). Guards decline first
(an office, a kind of fact, a year or a subject the best entry does not have). Then a confidence
model over the ranking's signals (`policies.confidence`) decides: likely enough, the answer is given;
otherwise, from `SUGGEST_THRESHOLD` up it is suggested ("您是不是想问：「…」", the answer and two
runners-up); below, the bot does not guess: it says it has no exact answer, offers the closest topics
and the secretariat's phone. Deadline and cycle-week entries are answered with dates computed for
`today` by `policies.cycle`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from policies import confidence, cycle, facts, retrieval, scope
from policies.models import FaqEntry, PolicyBase
from policies.normalize import MAX_INPUT_CHARS, clean, normalize, tokens

logger = logging.getLogger(__name__)

# A best entry the confidence model does not answer is suggested ("您是不是想问：「…」") with its
# answer and the runners-up as buttons from this score up; below it the bot declines.
SUGGEST_THRESHOLD = 32.0
RUNNERS_UP = 2
# A runner-up this close (score points) that states the kind of fact asked for beats a best entry
# that does not (see Matcher._prefer_stated).
FACT_MARGIN = 15.0
# A question of at most SHORT_QUESTION content characters (question words cut out) matches many
# entries by chance (专利申请流程, 你是谁): the confidence model knows it as a signal.
SHORT_QUESTION = 6
ALTERNATIVES = 3
# Below this score the best entry is declined whatever the confidence model says; below the second
# a short question's best entry is at most suggested (see Matcher.guarded_band).
MIN_SCORE = 25.0
SHORT_MIN_SCORE = 45.0
# Okapi BM25's usual constants (the second ranking of Matcher._bm25_shares).
BM25_K1 = 1.2
BM25_B = 0.75
REWRITES_KEPT = 4  # the questions being answered just now (Matcher._rewrite)
# A short fact question whose subject is more than this share unknown to the best entry is only
# suggested (see Matcher._off_subject).
SUBJECT_MISSING = 0.4
# Entries whose answers compute dates (the list's deadline, the cycle's weeks) for any quarter and year:
# a date, deadline or next-time question is theirs to answer, and a year they never mention is no sign
# of another subject.
COMPUTED_DATE_KINDS = frozenset({"deadline", "cycle_week"})
# Below this score a topic is not "close" to the question; a decline then offers the
# programme's everyday topics (deadline, cycle) instead of noise.
MIN_ALTERNATIVE_SCORE = 15.0

# Question words say what kind of answer is wanted, not which topic; they are cut out before
# bigrams are formed, so "怎么申请" does not yield the junk bigram "么申".
_QUESTION_WORDS_RE = re.compile(
    "怎么样|怎么|怎样|什么|多少|哪里|哪儿|哪些|哪个|哪家|如何|是否|能否|是不是|能不能|有没有|可不可以|可以"
    "|行不行|算不算|要不要|用不用|好不好|对不对"
    "|啥|咋|吗|哪|几|的|了"
)
# Bigrams too common in this domain to tell topics apart.
GENERIC_TOKENS = frozenset("企业 公司 我们 一个 需要 要求 规定 政策 办理 这个".split())
GENERIC_WEIGHT = 0.25
# Function characters ("是", "们", "要", ...): a bigram unknown to the whole base that contains one
# is almost always a word-boundary artefact ("们是", "候要" of "我们是", "时候要"), not a topic the
# base lacks; it weighs like a generic token so long chatty questions are not diluted by it.
FUNCTION_CHARS = frozenset(
    "的是在了我你他她它们这那个要去想该就也都还和与及或把被给让从向为以里么呢吧啊呀哈有没不得地着过会能可应请一"
)

# Weights of the signals in `combine` (sum to 1), calibrated with bench/faq.py: the question's
# coverage and the character-level similarity carry most; keyword hits add a fixed bonus.
W_QCOV = 0.4
W_PCOV = 0.1
W_ACOV = 0.1
W_RATIO = 0.4
KEYWORD_BONUS = 10.0
# Penalty (score points) for a question whose content lies wholly outside the entry: the share of
# its content characters in runs of two or more that no bigram of the entry covers ("专利" of
# "专利申请流程" against an innovation-consortium procedure: the fuzzy ratio alone would pass it).
# Single characters are mostly typos ("结队") and are not counted.
MISSING_PENALTY = 25.0
# The same for a clause of a long question scored alone, per share of the whole question the entry
# leaves out beyond the entry that leaves out least (see Matcher.scores).
CONTEXT_PENALTY = 40.0
SHORTLIST = 20
# Over more phrasings than this, the typo scan covers only the phrasings of the PREFILTER entries
# that share the most token weight with the question (p99 < 10 ms at 10,000 entries).
PREFILTER_ABOVE = 2000
PREFILTER = 200
COMMON_POSTINGS = 500
# Floor of a question's total token weight, in units of an unknown token's weight.
MIN_QUESTION_WEIGHT = 1.5
# Bonus (score points) for an entry of the kind the question's wording asks for.
INTENT_BONUS = 12.0
INTENT_MAX_MISSING = 0.25

_DEADLINE_RE = re.compile(
    r"截止|截至|最晚|最迟|期限|延期|延长|补交|ddl|deadline|几号|哪天交|什么时候交|前提交|之前交"
)
_WEEK_RE = re.compile(r"第几周|哪周|哪一周|什么时候|何时|几月|哪天|日期|时间")
_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CJK_RUN_RE = re.compile(r"[^a-z0-9\s]+")
_WEEK_NUM_RE = re.compile(r"第([1-6一二三四五六])周")
# "2025年第二季度", "今年三季度", "2025q2"; not the "一季度" of "每一季度".
_QUARTER_RE = re.compile(r"(?:(\d{4})年?|(今年|明年|去年))?(?<!每)第?([1-4一二三四])季度|(\d{4})q([1-4])")
_RELATIVE_QUARTER = (
    ("下个季度", 1),
    ("下一季度", 1),
    ("下季度", 1),
    ("上个季度", -1),
    ("上一季度", -1),
    ("上季度", -1),
)


# An office the question names ("人社局", "税务局", "科技厅"): two characters before the suffix are
# enough to tell offices apart ("社局" vs "技局") and survive prefixes such as 市/区/省.
_OFFICE_RE = re.compile(r"([\u4e00-\u9fff]{2})(局|厅|科协|协会|商会|银行|法院|医院|派出所|中心|管委|政府)")
# How-to questions about operating a website or an app (怎么注册/下载/找回…): the documents describe
# none of these steps, so an entry that never names the action does not answer them.
_ACTION_RE = re.compile(
    r"(?:怎么|如何|怎样|咋|能|能不能|可以|可不可以)(注册|下载|登录|登陆|找回|缴费|付款|报销|开票|安装|打印|修改|注销|绑定|报名)"
)
# A question asking what something is ("什么是人工智能", "莱创汇是干啥的"): only an entry that is
# about that thing answers it, not one that merely names it in a list (人工智能 among a college's
# fields). Group 1 or 2 is the thing asked about.
_DEFINE_RE = re.compile(
    r"^(?:请问)?(?:什么是|啥是|何为|何谓|什么叫|啥叫)(.{2,16}?)(?:啊|呀|呢|吗)?$"
    r"|^(?:请问)?(.{2,16}?)(?:到底)?(?:是什么|是啥|指什么|指的是什么|是什么意思|什么意思|啥意思|是干什么的|是干啥的"
    r"|是干嘛的|是怎么回事)(?:啊|呀|呢)?$"
)
_YEAR_RE = re.compile(r"(?<!\d)20\d\d(?!\d)")
_QUOTED_RE = re.compile(r"[“《]([^”》]{2,30})[”》]")
# How close (rapidfuzz partial ratio) the thing asked about must be to what the entry is about.
DEFINE_MATCH = 75.0
# A character right before an office suffix that makes it no name: a question word or pronoun ("哪个厅",
# "什么局", "各局": asking which office), a particle, or a verb or preposition of going to one (去银行,
# 找银行, 向银行, 上法院: a bank or a court in general).
_NOT_A_NAME = frozenset("哪个啥么几各该本此这那每某是的们去到找向跟在给从上")
_PLACE_SUFFIXES = frozenset("市区县省镇乡")


# Everyday words for what the documents say in official terms, and common homophone typos: the
# question is rewritten to the documents' words before it is scored (the entries are not).
_SYNONYMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), official)
    for pattern, official in (
        # Vocational schools: the documents say 职业院校 (before 学校 becomes 高校).
        (r"职业(?:学校|院校|高校)|职校|技校", "职业院校"),
        (r"大学(?!城|生|科技园)|学校|高等院校", "高校"),
        (r"工厂|我们厂|厂里|单位里", "企业"),
        (r"高企", "高新技术企业"),
        (r"联和体|连合体", "联合体"),
        (r"帖息|补利息|利息能补", "贴息"),
        (r"青单|清淡", "清单"),
        (r"连动", "联动"),
        (r"散伙|解散掉", "解散"),
        (r"麻烦事|难题|困难|卡住", "痛点难点"),
        (r"一块儿?建|一起建|合建", "共建"),
        (r"合成一[张个份]|汇总成一[张个份]|并成一[张个份]", "合并"),
        (r"(?:一张|张|份)表格?|表格", "清单"),
        (r"几号文|发文字号", "文号"),
        (r"网站|网页|链接", "网址"),
        (r"目的", "目标"),
        (r"名字", "名称"),
        (r"失败了?", "试错"),
        (r"片区", "区域"),
        (r"放出来|挂出来|公布出来", "发布"),
        # Changing a consortium's members: the documents say 增减成员 (by a supplementary agreement).
        (
            r"(?:增加|新增|(?<![参增几])加|减少|减掉|去掉|退出)(?:一个|个|几个|一家|家|两家)?(?:新的?)?成员",
            "增减成员",
        ),
        # 那 typed for 哪 in a question ("是那天", "在那个"): the answer is a day or a thing.
        (r"(?<=[是在])那(?=天|一天|个|一个|些|年|里)", "哪"),
        (r"(?<![提报成外递移社])交(?![流易通换])", "提交"),
        # Putting a platform or a list online: the documents say 发布.
        (r"(?:挂|放|传|贴)(?:到|在|上)?网上去?|挂网", "发布"),
        # Passing a list up the chain: the documents say 上报 / 报送 (往 must not become 网 by homophones).
        (r"往上(?:报|提交|送|递)", "上报"),
        # "Something I don't understand": the secretariat's entry answers 有问题 / 咨询.
        (r"(?:不明白|不清楚|不懂|搞不懂|弄不懂|不了解)的(?:地方|事情?|问题)|有疑问|有疑惑", "问题"),
        # The form a user fills in is the list (清单): "填好的表", "把表交上去".
        (r"的表(?![示达彰态扬现率演决情格单])|(?<=[把将])表(?![示达彰态扬现率演决情])", "的清单"),
        # Skilled workers: the documents say 技能人才.
        (r"技术工人|技术型工人|技工(?![学高院]校)|产业工人", "技能人才"),
        # Technology sold: the documents count 技术合同成交额.
        (r"卖(?:出去|出|掉)", "成交"),
        # Holding posts at both the university and the company: the documents say 双聘双跨 / 互聘.
        (
            r"两[边头](?:都)?(?:聘|兼职|兼任|任职|挂职|挂|兼)+(?:着|上)?|双向(?:聘用|聘任|兼职)|双聘(?!双跨)",
            "双聘双跨",
        ),
        # The government buying first: 政府首购.
        (r"(?:带头|率先|优先|先)(?:买|采购|购买)", "首购"),
        # Which people firms lack: the documents publish a 人才需求目录.
        (r"缺(?:哪些|什么|啥|多少)?(?:人才|人)(?![口员])", "人才需求"),
        # Contests: one document says 大赛, another 挑战赛 (以赛引才); keep both.
        (r"比赛|竞赛|赛事", "大赛挑战赛"),
        (r"讲讲政策|讲政策|讲解政策|政策讲解|介绍政策|政策介绍", "政策宣讲"),
        # A consortium's lead scientist: 首席专家.
        (r"总(?:的|负责的?)?专家|(?:领头|带头|牵头)的?专家|首席科学家", "首席专家"),
        (r"结(?:上|成|好)对子?|结对子", "结对"),
        # Housing: one document says 住房, another 安居; keep both.
        (r"住房(?!安居)|住的地方|租房|买房", "住房安居"),
        # Words that only say the asker wants to know: left out, so they do not count as topic words
        # no entry uses ("想弄清楚…包括哪几块", "具体是哪些区域").
        (r"(?:想|要)?(?:弄|搞)(?:清楚|明白|懂)|想知道|想了解一下?|(?<=[，,但])不清楚", " "),
        # An on-site check: the documents say 现场考察.
        (r"(?:去|到)?(?:现场|实地|上门)(?:看看?|查看|检查|核查)|实地考察", "现场考察"),
        # "Hand it in / up" (交上去, 报上去): the direction says nothing the documents' 提交 / 上报 lack.
        (r"(?<=提交|上报|报送)(?:上去|过去|上来)", " "),
        # Who is responsible: the documents name a 责任单位 or say "(某厅)负责".
        (r"部门(?=负责|牵头|主管|来管|管|承担|落实)", "单位"),
        # The other side of a pairing (找到对方联系人): says nothing the documents' words lack.
        (r"(?<![面相])对方(?!案|面|向)", " "),
        # A plan for the future: the documents' phrasings say 计划 / 要.
        (r"打算", "计划"),
        # A newer version of a policy: the talent policy is 新政 2.0 版.
        (r"(?:出|推出|有|发布)?(?:了)?(?:新版本?|升级版|第二版|新一版)", "新政2.0版"),
        # "What kind of approach": the documents describe 模式 and 机制.
        (r"路子|门路|套路", "模式机制"),
        # Pushing firms to act: the documents say 督促.
        (r"催(?:促|着|一催)?(?![化生眠])", "督促"),
        (r"评(?:价|定)?人才", "人才评价"),
        (r"精准引进|定向引进|精准引才|定向招引", "靶向引进"),
        (r"职务(?:发明)?成果", "职务科技成果"),
        # The reform of such results that the documents pilot is 职务科技成果"先赋权、后转化"改革.
        (r"(?<=职务科技成果)\s*的?(?:那块|这块|方面|这方面)?(?:的)?(?:改革|试点)+", "先赋权后转化改革试点"),
        # Recruiting people: the documents say 引才 / 引进.
        (r"(?:挖|抢|招揽)(?:人才|人)", "引才"),
        # "In my district": the documents say 所在区.
        (r"辖区(?:内|里)?", "所在区"),
        # A filing that runs out: the documents say 有效期满 and 重新申请备案.
        (r"(?<=有效期)(?:到了|到期了?|过了|结束了?|用完了?)", "满"),
        (r"(?<!直)到期(?!日)", "期满"),
        (r"(?:继续|再次|再|接着|续)备案|续期", "重新申请备案"),
        # A list that goes back to the university: the documents say 反馈高校.
        (r"(?:回到|返回|转回|回给|退回|返给|还给)(?=高校|科研机构|院所)", "反馈"),
        # A template: the documents attach a 参考提纲.
        (r"(?:模板|模版|范本|样表|范文)(?!参考提纲)", "模板参考提纲"),
        # A round of the programme: the documents say 季度 and 周期 (每季度填报周期运行制度); not
        # 首轮 / 第一轮 (the first release) or 下一轮 (the next one).
        (r"(?<![第首下上这])一轮|一个?回合|(?<![第下上这每])一期(?!工程|项目)", "一个季度周期"),
        (r"每(?:一)?轮", "每季度"),
        # Verbs that only say "do" (弄, 搞, 整) after a question word carry no topic.
        (r"(?:(?<=怎么)|(?<=怎样)|(?<=如何)|(?<=多久)|(?<=咋))(?:弄|搞|整|操作|办)(?!理)", " "),
        # Who did well: the documents publish a 贡献度榜单 (ranking).
        (r"(?:谁|哪些|哪家|哪个)(?:做|干|搞)得(?:最)?(?:好|不错|出色)|排名|排行", "贡献度榜单"),
        # An expert panel advising the reform: the documents say 专家咨询委员会.
        (r"专家(?:组|团|班子)|智囊团?|(?:组|搭)个?班子|顾问团", "专家咨询委员会"),
        (r"出主意|出谋划策|当参谋", "决策咨询"),
        # Not being blamed for a failure: the documents say 容错免责.
        (r"(?:不|会|怕|担心)?被(?:追责|问责|追究责任)|不追责|免于追责|宽容失败|允许失败", "容错免责"),
        # Use first, pay later: the documents say 先使用后付费.
        (
            r"先用(?:着|了|上)?(?:以?后|过后|之后)?再?(?:给钱|付钱|付费|交钱|掏钱|付款)|先用后付",
            "先使用后付费",
        ),
        (r"(?:一次性)?(?:付不起|掏不起|付不出|拿不出钱)", "后付费"),
        # Recruiting students together: the documents say 校企联合招生.
        (r"(?:一起|一块儿?|共同|合起来)(?=招(?:学生|生|新生))", "联合"),
        (r"招(?:学生|新生)", "招生"),
        # Skilled workers and the size of the workforce, as the documents count them.
        (r"技能型人才|技术型人才|高技能人才", "技能人才"),
        (r"人才(?:规模|数量|总数)", "人才总量"),
        # A target to be reached: the documents say 新增 (…以上) and 突破.
        (r"(?:再|多|新)增加(?=\d|多少|几)", "新增"),
        (r"(?:发展|做|增长|扩大|提高)到(?=\d|多少|几|多大)", "突破"),
        # Reforming education, science and talent together: the documents' 一体改革.
        (r"一起改(?:革)?|一块儿?改(?:革)?|一并改(?:革)?|统一改革", "一体改革"),
        (r"初见成效|见到成效|有成效", "初步形成"),
        # Putting something online: 挂上去 / 放上去 as 发布 (see 挂出来 above).
        (r"(?:挂|放|传|贴)(?:上去|上来|上网)", "发布"),
        # A form handed in: 交表 / 填表 is the list (清单).
        (r"(?<=提交)表(?![示达彰态扬现率演决情])|(?<=填)表(?![示达彰态扬现率演决情])", "清单"),
        # Words that frame a clause and say nothing about the topic ("除了…还", "那边", "具体").
        (r"除了|那边|这边|那块|这块|具体|这件事|这个事情?|这事", " "),
        (r"(?:有|是)?(?:什么|啥|没有|哪些)?(?:说法|讲法)(?:吗)?", " "),
        # The party that leads a consortium: the documents say 牵头单位 / 牵头企业.
        (r"牵头的(?=企业|单位|公司)", "牵头"),
        (r"牵头(?:方|的一方)", "牵头单位"),
        # A filing that runs out and is filed again: 有效期满, 重新申请备案.
        (r"满期", "期满"),
        (r"(?:再|再次|重新)(?:申请|申报)(?!备案)", "重新申请备案"),
        # Missing the deadline: the documents speak of 延期 (延长一周).
        (
            r"赶不上|来不及|没赶上(?!截止)|错过了?(?=截止|时间|期限|日期)|补救"
            r"|(?:提交|交)(?:晚了?|迟了)|晚交|迟交|晚了几天",
            "延期",
        ),
        # The cycle's weeks as people count them: the documents say 第六周, 第三周 …
        (r"最后一周|最后那?一?个?(?:星期|礼拜)", "第六周"),
        (r"(?<=第)([1-6一二三四五六几])个?(?:星期|礼拜)", r"\1周"),
        # How a list is passed on: the documents say 路径 (指定的路径) and 发至.
        (r"渠道|途径", "路径"),
        (r"发(?:出去|过去)|送(?:出去|过去)|转(?:出去|过去)", "发至"),
        # The minimum asked (起码, 最少): the documents say 至少.
        (r"起码|最起码|最少(?=要|得|需要|跟|与|和)", "至少"),
        # The steps of a procedure: 流程 / 步骤 (要走哪几步).
        (r"(?:要走|走)?哪几步|几个步骤|分几步", "流程步骤"),
        # What a contract must say: the documents say 协议应明确.
        (r"(?:要|必须|得|应该)?写(?:清楚|明白|明确|进去)", "明确"),
        # Filling in online: the information is entered on the 开放共享平台.
        (r"网上(?=(?:还|也|要|需要|得)*(?:填|登记|录入))", "开放共享平台"),
        # Pointing at a clause or an example ("这一条", "比如…之类的") names no topic.
        (r"这一?条(?!件)|这一项|之类的?|比如说?|例如", " "),
        # Asking frames the filler list leaves ("想问下", "咨询下", "帮我查下"): no topic.
        (r"(?:我)?(?:想|要)?(?:问|咨询|请教|打听)一?下(?!载)|帮(?:我|忙)(?:查|看)(?:一下|下|看)?", " "),
        # The "下" that normalize's filler list leaves of "我想问下…" (it drops 我想问).
        (r"^下(?!载|季|一|个|次|周|半|月|属|级|面|发|拨|达|班|午|旬|游|步|期|届|轮|回|列|放|沉|线)", " "),
        # How a text or a task is divided: the documents say 共分为五个部分, 哪几个方面.
        (r"分成|划分为|划分成|分作", "分为"),
        (r"哪几块(?:内容)?|几大块", "哪几个方面"),
        # An asker saying they work for some office ("我是区直部门的", "我们是市直单位"): it names no
        # topic, and 区直 would pull the question to the entry that lists a document's recipients.
        (r"^我们?(?:是|在)(?:区直|市直|省直|区里|市里|省里|政府)?的?(?:部门|单位|机关)的?", " "),
    )
)


def official_terms(norm: str) -> str:
    """`norm` with everyday words replaced by the documents' terms ('跟学校一起建' -> '跟高校共建')."""
    for pattern, official in _SYNONYMS:
        norm = pattern.sub(official, norm)
    return norm


_OFFICE_PREFIX_RE = re.compile(r"[市区省县](?=科协|协会|商会|管委|政府)")


def _unprefixed(text: str) -> str:
    """`text` without the 市/区/省/县 before an office suffix: 莱西市科协 and 莱西科协 are one office."""
    return _OFFICE_PREFIX_RE.sub("", text)


def named_offices(text: str, not_names: Container[str] = frozenset()) -> list[str]:
    """Offices a cleaned question names, e.g. ['社局'] for '人社局电话' (two characters before 局/厅
    tell offices apart and survive prefixes such as 市/区/省); '哪个厅负责' names none. Before a
    longer suffix a word of `not_names` (a verb, adverb…: 了解科协) names no particular one: the
    suffix alone is the office."""
    found = []
    for m in _OFFICE_RE.finditer(text):
        prefix, suffix = m.group(1), m.group(2)
        if prefix[-1] in _NOT_A_NAME:
            continue
        # "政府" names an office only after a place (莱西市政府, 区政府): "装备政府会不会带头买" speaks
        # of the government in general.
        if suffix == "政府" and prefix[-1] not in _PLACE_SUFFIXES:
            continue
        if suffix in ("局", "厅"):
            found.append(prefix[-1] + suffix)
        else:
            found.append(suffix if prefix in not_names else m.group(0))
    return found


@dataclass(frozen=True)
class Answer:
    """What the bot says to one question; `text` ends with the citation line when matched."""

    question: str
    matched: bool
    entry: FaqEntry | None
    text: str
    source: str  # the citation line ('来源：…'), empty when declined
    score: float  # 0..100
    alternatives: tuple[FaqEntry, ...] = ()
    # "confident": the answer; "suggest": "您是不是想问" + the best answer + runners-up
    # (`alternatives`); "decline": no answer, the closest topics and the secretariat's phone.
    band: str = "confident"
    scores: tuple[float, ...] = ()  # the scores of `entry` (when suggested) and `alternatives`
    # The entry's facts of the kinds asked for, shown before the passage: (("amount", "单个企业最高50万元"),)
    facts: tuple[tuple[str, str], ...] = ()
    # The confidence model's probability that `entry` (or the best entry) is right; None when a guard
    # (an office, a fact kind, a subject the entry lacks) decided without it, or for a pressed topic.
    confidence: float | None = None


@dataclass(frozen=True)
class Features:
    """Signals of how well one entry fits a question, each 0..1."""

    qcov: float  # IDF share of the question's bigrams found in the entry's phrasings/keywords
    pcov: float  # IDF share of the best phrasing's bigrams found in the question
    acov: float  # like qcov, counting the answer text too
    ratio: float  # best rapidfuzz ratio against a phrasing (typos, word order)
    keyword: bool  # a keyword of the entry occurs in the question
    missing: float = 0.0  # share of the question's content characters in words the entry never uses


def combine(f: Features) -> float:
    """One score 0..100 from the signals; weights calibrated with bench/faq.py."""
    score = 100.0 * (W_QCOV * f.qcov + W_PCOV * f.pcov + W_ACOV * f.acov + W_RATIO * f.ratio)
    return score + (KEYWORD_BONUS if f.keyword else 0.0) - MISSING_PENALTY * f.missing


@dataclass(frozen=True)
class _Phrasing:
    entry: int  # index into Matcher.entries
    text: str  # normalised
    weight: float  # total IDF weight of its tokens
    tokens: frozenset[str]


class Matcher:
    """Scores questions against a PolicyBase's FAQ; build once per base (~20 ms for 100 entries)."""

    def __init__(self, base: PolicyBase, suggest_threshold: float = SUGGEST_THRESHOLD) -> None:
        self.base = base
        self.suggest_threshold = suggest_threshold
        self.entries: tuple[FaqEntry, ...] = base.faqs
        self._by_id = {entry.id: entry for entry in self.entries}
        # The topics a decline pads its buttons with: deadline and cycle entries first.
        order = {"deadline": 0, "cycle_week": 1}
        self._everyday = sorted(self.entries, key=lambda e: order.get(e.kind, 2))[: ALTERNATIVES * 2]
        self._keywords = [
            tuple(k for k in map(normalize, entry.keywords) if len(k) >= 2) for entry in self.entries
        ]
        bags: list[frozenset[str]] = []  # tokens of questions, topic and keywords
        answer_bags: list[frozenset[str]] = []  # ... plus the answer text
        raw: list[tuple[int, str]] = []  # (entry index, normalised phrasing) for questions + topic
        # Each answer is cleaned once (OpenCC is the slow part of building): clean() drops spaces,
        # so clean(a + " " + b) == clean(a) + clean(b).
        answers = [clean(e.answer, limit=None) for e in self.entries]
        citations = [clean(base.citation(e.source, e.clause), limit=None) for e in self.entries]
        for i, entry in enumerate(self.entries):
            bag: set[str] = set()
            for text in (*entry.questions, entry.topic):
                norm = normalize(text)
                if norm:
                    raw.append((i, norm))
                    bag.update(terms(norm))
            for keyword in self._keywords[i]:
                bag.update(terms(keyword))
            bags.append(frozenset(bag))
            # The citation line is part of what the user reads: "一体改革文件里…" names the source.
            said = answers[i] + citations[i]
            answer_bags.append(frozenset(bag.union(terms(said))))
        self._bags, self._answer_bags = bags, answer_bags

        # Everything an entry says, normalised: a question naming an office the entry never mentions
        # is about another office, however similar its wording (人社局电话 vs 科技局电话).
        # The citation counts: it names the issuer (莱西市科协) that the passage may leave out.
        self._texts = [
            _unprefixed(
                clean(" ".join((*e.questions, e.topic, *e.keywords)), limit=None) + answers[i] + citations[i]
            )
            for i, e in enumerate(self.entries)
        ]
        self._mean_text = sum(map(len, self._texts)) / max(len(self._texts), 1) or 1.0
        self._not_names = retrieval.verb_like_words()
        # What each entry is about, for what-is questions: its topic, keywords, the terms its answer
        # quotes (“企业找技术、成果找市场”, 《…》) and the things its own what-is phrasings ask about.
        self._subjects: list[tuple[str, ...]] = []
        for e in self.entries:
            subjects = [clean(e.topic, limit=None), *(clean(k, limit=None) for k in e.keywords)]
            subjects += [clean(t, limit=None) for t in _QUOTED_RE.findall(e.answer)]
            for q in e.questions:
                found = _DEFINE_RE.match(clean(q, limit=None))
                if found:
                    subjects.append(found.group(1) or found.group(2))
            self._subjects.append(tuple(s for s in subjects if s))
        # Homophone typos are corrected against every word the base uses (see retrieval.Homophones).
        self._rewrites: dict[str, str] = {}  # question -> _rewrite(question)
        self._homophones = retrieval.Homophones(
            [norm for _, norm in raw] + [k for ks in self._keywords for k in ks],
            answers,
            FUNCTION_CHARS | frozenset("儿谁"),
        )
        df: dict[str, int] = defaultdict(int)
        for full in answer_bags:
            for token in full:
                df[token] += 1
        n = max(len(self.entries), 1)
        self._unknown_weight = math.log(1 + n)
        self._idf = {token: self._weigh(token, math.log(1 + n / count)) for token, count in df.items()}
        self._vocabulary = frozenset(self._idf) | GENERIC_TOKENS
        # Inverted index over everything an entry says (a fact may be asked in the answer's own
        # words), without generic tokens (their lists are long).
        self._postings: dict[str, list[int]] = defaultdict(list)
        for i, phrased in enumerate(answer_bags):
            for token in phrased:
                if token not in GENERIC_TOKENS:
                    self._postings[token].append(i)
        # A token in more entries than this is skipped when shortlisting (its list is long and its
        # weight low); it still counts when the shortlisted entries are scored.
        self._common_postings = max(COMMON_POSTINGS, n // 8)
        self._phrasings: list[_Phrasing] = []
        for i, norm in raw:
            toks = frozenset(terms(norm))
            self._phrasings.append(_Phrasing(i, norm, sum(self._idf[t] for t in toks) or 1.0, toks))
        self._choices = [p.text for p in self._phrasings]
        self._phrasings_of: dict[int, list[_Phrasing]] = defaultdict(list)
        self._phrasing_indices: dict[int, list[int]] = defaultdict(list)
        for k, p in enumerate(self._phrasings):
            self._phrasings_of[p.entry].append(p)
            self._phrasing_indices[p.entry].append(k)

    def _rewrite(self, question: str) -> str:
        """The question as scored: normalised, everyday words to the documents' terms, homophone typos
        corrected (and the terms applied again). Several steps of one answer need it (the synonym table
        is dozens of regular expressions), so the last few are remembered — only a few, so repeating
        a question is no faster (and benchmarks that cycle through questions measure the real cost)."""
        found = self._rewrites.get(question)
        if found is None:
            found = official_terms(self._homophones.fix(official_terms(normalize(question))))
            if len(self._rewrites) >= REWRITES_KEPT:
                self._rewrites.clear()
            self._rewrites[question] = found
        return found

    @staticmethod
    def _weigh(token: str, idf: float) -> float:
        return idf * GENERIC_WEIGHT if token in GENERIC_TOKENS else idf

    def _token_weight(self, token: str) -> float:
        weight = self._idf.get(token)
        if weight is None:
            artefact = token in GENERIC_TOKENS or not FUNCTION_CHARS.isdisjoint(token)
            weight = self._unknown_weight * (GENERIC_WEIGHT if artefact else 1.0)
        return weight

    # --- scoring -------------------------------------------------------------------------------

    def _query(self, norm: str) -> tuple[frozenset[str], dict[str, float], float]:
        """A normalised question's tokens, their weights and its total weight."""
        qtokens = frozenset(terms(norm))
        weights = {t: self._token_weight(t) for t in qtokens}
        # A question of only a few light tokens ("你是谁") must not look fully covered by them.
        qtotal = max(sum(weights.values()), MIN_QUESTION_WEIGHT * self._unknown_weight)
        return qtokens, weights, qtotal

    def features(self, norm: str) -> dict[int, Features]:
        """Signals for the entries worth scoring (a shortlist), keyed by entry index."""
        qtokens, weights, qtotal = self._query(norm)
        runs = content_runs(norm)
        # Shortlist 1: entries sharing a specific token, ranked by the weight they share.
        shared: dict[int, float] = defaultdict(float)
        for token in qtokens:
            postings = self._postings.get(token, ())
            if len(postings) > self._common_postings:  # in most entries: it tells none apart
                continue
            for i in postings:
                shared[i] += weights[token]
        shortlist = set(sorted(shared, key=shared.__getitem__, reverse=True)[:SHORTLIST])
        # Shortlist 2: entries with a phrasing close as a string (typos). Over a large base only the
        # phrasings of the entries sharing most weight are scanned (the inverted index prefilters);
        # a small base is scanned whole, so a question whose every bigram is misspelt is still found.
        if len(self._choices) > PREFILTER_ABOVE:
            pool = sorted(shared, key=shared.__getitem__, reverse=True)[:PREFILTER]
            indices = [k for i in pool for k in self._phrasing_indices[i]]
            choices = [self._choices[k] for k in indices]
        else:
            indices, choices = list(range(len(self._choices))), self._choices
        ratio: dict[int, float] = defaultdict(float)
        for _, value, at in process.extract(norm, choices, scorer=fuzz.ratio, limit=SHORTLIST):
            i = self._phrasings[indices[at]].entry
            ratio[i] = max(ratio[i], value)
            shortlist.add(i)
        query = (qtokens, weights, qtotal)
        return {i: self._features_of(i, norm, query, runs, ratio.get(i)) for i in shortlist}

    def entry_features(self, norm: str, index: int) -> Features:
        """The signals of one entry for a normalised question (as `features` gives them)."""
        return self._features_of(index, norm, self._query(norm), content_runs(norm), None)

    def _features_of(
        self,
        i: int,
        norm: str,
        query: tuple[frozenset[str], dict[str, float], float],
        runs: list[str],
        best_ratio: float | None,
    ) -> Features:
        qtokens, weights, qtotal = query
        qcov = sum(weights[t] for t in self._bags[i] & qtokens) / qtotal
        acov = sum(weights[t] for t in self._answer_bags[i] & qtokens) / qtotal
        pcov = 0.0
        for p in self._phrasings_of[i]:
            common = p.tokens & qtokens
            if common:
                pcov = max(pcov, sum(weights[t] for t in common) / p.weight)
        if best_ratio is None:
            best_ratio = max((fuzz.ratio(norm, p.text) for p in self._phrasings_of[i]), default=0.0)
        keyword = any(k in norm for k in self._keywords[i])
        missing = _missing_share(runs, self._answer_bags[i])
        return Features(qcov, pcov, acov, best_ratio / 100, keyword, missing)

    def scores(self, question: str) -> list[tuple[float, int]]:
        """(score 0..100, entry index) for the shortlisted entries, best first.

        A long question with context ("我们是…的企业，听说…，请问…？") is also scored by its last
        clauses, where the question usually is; each entry keeps its best score.
        """
        best: dict[int, float] = {}
        # The share of the whole question each entry leaves out (Features.missing).
        missing: dict[int, float] = {}
        for score, i, left_out in self._scores_of(question):
            best[i], missing[i] = score, left_out
        clauses = question_clauses(question)
        if clauses:
            # A clause scored alone must not lose the context's subject: an entry that leaves out more
            # of the whole question than the entry that leaves out least (研究所 … 创新联合体 … 对高校
            # 院所有什么要求: the marine entry fits the last clause, not the consortium) pays for it.
            runs = content_runs(self._rewrite(question))
            floor = min(missing.values(), default=0.0)
            for variant in clauses:
                for score, i, _ in self._scores_of(variant):
                    if i not in missing:
                        missing[i] = _missing_share(runs, self._answer_bags[i])
                    score -= CONTEXT_PENALTY * max(0.0, missing[i] - floor)
                    if score > best.get(i, -1.0):
                        best[i] = score
        results = [(score, i) for i, score in best.items()]
        results.sort(key=lambda r: (-r[0], r[1]))
        return results

    def _scores_of(self, question: str) -> list[tuple[float, int, float]]:
        """(score, entry index, Features.missing) for the shortlisted entries of one variant."""
        norm = self._rewrite(question)
        if not norm:
            return []
        bonus = self._intent_bonus(norm)
        results = []
        for i, f in self.features(norm).items():
            score = combine(f)
            # The intent bonus is for a question about the entry's own subject: not when much of
            # it names things the entry never mentions (贷款贴息的截止日期 vs the list's deadline).
            if f.qcov > 0 and f.missing < INTENT_MAX_MISSING:
                score += bonus.get(self.entries[i].kind, 0.0)
            results.append((max(0.0, min(score, 100.0)), i, f.missing))
        return results

    @staticmethod
    def _intent_bonus(norm: str) -> dict[str, float]:
        bonus: dict[str, float] = {}
        if _DEADLINE_RE.search(norm):
            bonus["deadline"] = INTENT_BONUS
        if _WEEK_RE.search(norm) or _WEEK_NUM_RE.search(norm):
            bonus["cycle_week"] = INTENT_BONUS / 2
        return bonus

    def rank(self, question: str, limit: int = ALTERNATIVES) -> list[tuple[FaqEntry, float]]:
        """The `limit` best entries with their scores."""
        return [(self.entries[i], score) for score, i in self.scores(question)[:limit]]

    def alternatives(self, question: str, limit: int = ALTERNATIVES) -> tuple[FaqEntry, ...]:
        """The `limit` closest topics (for buttons), padded with the first FAQ topics."""
        return self._padded(self.scores(question), limit)

    def _padded(self, ranked: list[tuple[float, int]], limit: int) -> tuple[FaqEntry, ...]:
        """The close topics of `ranked`, filled up to `limit` with everyday topics (deadline and
        cycle entries first), so a decline always offers some buttons."""
        found = [self.entries[i] for score, i in ranked[:limit] if score >= MIN_ALTERNATIVE_SCORE]
        for entry in self._everyday:
            if len(found) >= limit:
                break
            if entry not in found:
                found.append(entry)
        return tuple(found)

    def alternatives_of(self, answer: Answer) -> list[tuple[FaqEntry, float]]:
        """The entries `answer` offers besides its own, with their scores (for `bot.py ask --json`):
        the runners-up of a confident answer or a suggestion, the closest topics of a decline."""
        if answer.scores:
            return list(zip(answer.alternatives, answer.scores[1:], strict=False))
        ranked = {entry.id: score for entry, score in self.rank(answer.question, ALTERNATIVES + 1)}
        own = answer.entry.id if answer.entry else None
        return [(e, ranked.get(e.id, 0.0)) for e in answer.alternatives if e.id != own]

    def by_id(self, faq_id: str) -> FaqEntry | None:
        return self._by_id.get(faq_id)

    # --- answers -------------------------------------------------------------------------------

    def answer(self, question: str, today: dt.date) -> Answer:
        """The answer to `question` on `today` in one of three bands (see `Answer.band`)."""
        ranked = self._prefer_stated(question, self.scores(question))
        band, likelihood = self.assess(question, ranked)
        if band == "confident":
            score, best = ranked[0]
            others = tuple(self.entries[i] for _, i in ranked[1 : 1 + ALTERNATIVES])
            found = self._answer_for(question, self.entries[best], today, score, others)
        elif band == "suggest":
            found = self._suggestion(question, ranked, today)
        else:
            alternatives = self._padded(ranked, ALTERNATIVES)
            score = ranked[0][0] if ranked else 0.0
            found = Answer(
                question, False, None, self._decline_text(alternatives), "", score, alternatives, "decline"
            )
        return replace(found, confidence=likelihood)

    def _prefer_stated(self, question: str, ranked: list[tuple[float, int]]) -> list[tuple[float, int]]:
        """When the best entry lacks the kind of fact asked for and a close runner-up states it
        (首轮有多少家平台: the platform-site entry has no count, the first-release entry has 53个),
        the runner-up goes first, with its own score."""
        if len(ranked) < 2:
            return ranked
        asked = clean(question)
        if not self.lacking_kinds(asked, self.entries[ranked[0][1]]):
            return ranked
        top = ranked[0][0]
        for n, (score, i) in enumerate(ranked[1 : 1 + RUNNERS_UP], 1):
            if score >= top - FACT_MARGIN and not self.lacking_kinds(asked, self.entries[i]):
                return [ranked[n], *ranked[:n], *ranked[n + 1 :]]
        return ranked

    def band(self, question: str, ranked: list[tuple[float, int]]) -> str:
        """ "confident", "suggest" or "decline" for a question and its ranked entries."""
        return self.assess(question, ranked)[0]

    def assess(self, question: str, ranked: list[tuple[float, int]]) -> tuple[str, float | None]:
        """The band and the confidence model's probability (None when a guard decided alone)."""
        guarded = self.guarded_band(question, ranked)
        if guarded:
            return guarded, None
        likelihood = self.confidence_of(question, ranked)
        if likelihood >= confidence.CONFIDENT_AT:
            return "confident", likelihood
        return ("suggest" if ranked[0][0] >= self.suggest_threshold else "decline"), likelihood

    def guarded_band(self, question: str, ranked: list[tuple[float, int]]) -> str:
        """The band the guards decide before the confidence model is asked ("" when they leave it
        to the model): no entry or a very low score, an office, fact kind, year or class of question
        the best entry does not answer, a subject it does not cover."""
        if not ranked:
            return "decline"
        score, best = ranked[0]
        if score < MIN_SCORE:
            return "decline"
        if not self._answers_what_is_asked(question, best) or self._out_of_scope(question, best):
            return "decline"
        off = self._off_subject(question, best)
        # The list's deadline and cycle weeks are computed for the list only: a deadline question
        # about another subject (区校联动项目的申报截止日期) is not answered with them, even tentatively.
        if off == "decline" or (off and self.entries[best].kind in COMPUTED_DATE_KINDS):
            return "decline"
        if off:
            return off if score >= self.suggest_threshold else "decline"
        # A short question's few characters match many entries by chance (你是谁, 专利申请流程): on
        # the tune sets none scoring below SHORT_MIN_SCORE was right.
        if score < SHORT_MIN_SCORE and is_short(question):
            return "suggest" if score >= self.suggest_threshold else "decline"
        return ""

    def confidence_of(self, question: str, ranked: list[tuple[float, int]]) -> float:
        """The probability that the best of `ranked` answers `question` (see policies.confidence)."""
        return confidence.FITTED.probability(self.signals(question, ranked))

    def signals(self, question: str, ranked: list[tuple[float, int]]) -> confidence.Signals:
        """What the ranking says about its best entry, for the confidence model."""
        score, best = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        third = ranked[2][0] if len(ranked) > 2 else 0.0
        norm = self._rewrite(question)
        runs = content_runs(norm)
        f = self.entry_features(norm, best)
        source = self.entries[best].source
        same_source = len(ranked) > 1 and self.entries[ranked[1][1]].source == source
        shares = self._bm25_shares(norm, [i for _, i in ranked[: confidence.RANKS]])
        return confidence.Signals(
            score / 100,
            (score - second) / 100,
            (second - third) / 100,
            f.missing,
            float(f.missing >= 0.5),
            f.qcov,
            f.pcov,
            f.acov,
            f.ratio,
            float(f.keyword),
            confidence.scaled_length(sum(map(len, runs))),
            float(is_short(question)),
            float(same_source),
            *confidence.bm25_signals(shares),
        )

    def _bm25_shares(self, norm: str, indices: list[int]) -> list[float]:
        """Okapi BM25 of the question's tokens in each entry's whole text, over the sum of the tokens'
        weights: a second ranking that weighs repeated and rare words unlike the score does, so
        agreeing with it is evidence (only the top few entries are re-ranked: str.count is cheap)."""
        idf = {t: w for t in frozenset(terms(norm)) if (w := self._idf.get(t, 0.0))}
        ceiling = sum(idf.values()) or 1.0
        shares = []
        for i in indices:
            text = self._texts[i]
            norm_tf = BM25_K1 * (1 - BM25_B + BM25_B * len(text) / self._mean_text)
            total = 0.0
            for token, weight in idf.items():
                tf = text.count(token)
                if tf:
                    total += weight * tf * (BM25_K1 + 1) / (tf + norm_tf)
            shares.append(total / ceiling)
        return shares

    def _out_of_scope(self, question: str, index: int) -> str:
        """The class of near-miss question (another place, an achieved figure…) the entry does not
        answer, "" if none (see policies.scope). In a long question only the asking clauses count
        ("我们是上海的企业，在新区设了分公司，…" names where the asker comes from)."""
        bag = self._answer_bags[index]
        own = asking_part(question)
        return scope.out_of_scope(
            clean(own),
            self._rewrite(own),
            self._texts[index],
            self.entries[index].answer,
            lambda phrase: _missing_share(content_runs(phrase), bag) <= SUBJECT_MISSING,
        )

    def _off_subject(self, question: str, index: int) -> str:
        """ "suggest" when a short question asking for a fact (a phone, a deadline, an amount) is about
        a subject the entry mostly never mentions: "联合体有问题打哪个电话" fits the programme's phone
        entry on its asking words alone, but its subject (联合体) is another document's; "decline"
        when no entry mentions that subject (人才公寓的截止日期); "" otherwise. Long questions are
        exempt: their subject is mostly context ("我们是…的企业")."""
        if len(question) > LONG_QUESTION:
            return ""
        asked = clean(question)
        if not (facts.asked_kinds(asked) or _DEADLINE_RE.search(asked)):
            return ""
        norm = self._rewrite(question)
        runs = content_runs(facts.subject(_WEEK_RE.sub(" ", _DEADLINE_RE.sub(" ", norm))))
        if _missing_share(runs, self._answer_bags[index] | GENERIC_TOKENS) <= SUBJECT_MISSING:
            return ""
        return "decline" if _missing_share(runs, self._vocabulary) > SUBJECT_MISSING else "suggest"

    def _suggestion(self, question: str, ranked: list[tuple[float, int]], today: dt.date) -> Answer:
        score, best = ranked[0]
        entry = self.entries[best]
        runners = [(s, i) for s, i in ranked[1 : 1 + RUNNERS_UP] if s >= MIN_ALTERNATIVE_SCORE]
        citation = self.base.citation(entry.source, entry.clause)
        body = self.render(entry, today, question)
        text = f"您是不是想问：「{entry.topic}」\n{body}\n{citation}"
        return Answer(
            question,
            False,
            entry,
            text,
            citation,
            score,
            tuple(self.entries[i] for _, i in runners),
            "suggest",
            (score, *(s for s, _ in runners)),
            self.asked_facts(question, entry),
        )

    def _answers_what_is_asked(self, question: str, index: int) -> bool:
        """Guards on top of the score: the best entry must mention every office the question names
        and state the kind of fact (amount, ratio, phone, address...) the question asks for."""
        asked = clean(question)
        entry = self.entries[index]
        # In a long question only the asking clauses count: "我们是家高校的研究中心，…" names the
        # asker's own unit, not an office whose phone or rule is wanted.
        # Each clause on its own: "…服务站，科协借此…" names 科协, not an office called 务站科协.
        own = asking_part(question)
        offices = [
            office
            for part in _CLAUSE_SPLIT_RE.split(own)
            for office in named_offices(_unprefixed(self._homophones.fix(clean(part))), self._not_names)
        ]
        if not all(office in self._texts[index] for office in offices):
            return False
        if any(m.group(1) not in self._texts[index] for m in _ACTION_RE.finditer(asked)):
            return False
        if not self._defines(asked, index):
            return False
        # A year the entry never mentions (莱西2025年的目标 vs a report of 2024's figures): another
        # year's fact. Deadline and cycle entries compute dates for any year.
        if entry.kind not in COMPUTED_DATE_KINDS and any(
            year not in self._texts[index] for year in _YEAR_RE.findall(asked)
        ):
            return False
        # The kind of fact asked for is read where the question asks too: "我是区里招商责任单位的，…第一周
        # 是谁、做什么" names the asker's unit, it does not ask which unit is in charge.
        return not self.lacking_kinds(clean(own), entry)

    def _defines(self, asked: str, index: int) -> bool:
        """False when the question asks what a thing is and the entry is not about that thing: the
        thing is none of its topic, keywords or own what-is phrasings."""
        m = _DEFINE_RE.match(asked)
        if not m:
            return True
        thing = m.group(1) or m.group(2)
        # "方案的发文字号是什么" asks an attribute of a thing (its number, name, address), not what
        # a thing is: the fact guards judge it.
        if "的" in thing:
            return True
        about = self._subjects[index]
        return any(fuzz.partial_ratio(thing, subject) >= DEFINE_MATCH for subject in about)

    @staticmethod
    def asked_facts(question: str, entry: FaqEntry) -> tuple[tuple[str, str], ...]:
        """The entry's facts of the kinds `question` asks for (shown first)."""
        if not entry.facts:
            return ()
        found = entry.fact_map
        return tuple((kind, found[kind]) for kind in facts.asked_kinds(clean(question)) if kind in found)

    @staticmethod
    def lacking_kinds(asked: str, entry: FaqEntry) -> list[str]:
        """The kinds of fact a cleaned question asks for that `entry` states neither in its `facts`
        nor in its passage (deadline and cycle entries state dates: they are computed)."""
        found = entry.fact_map
        lacking = []
        for kind in facts.asked_kinds(asked):
            if kind in ("date", "next", "deadline") and entry.kind in COMPUTED_DATE_KINDS:
                continue
            if not facts.states(kind, found, entry.answer):
                lacking.append(kind)
        return lacking

    def answer_entry(self, faq_id: str, today: dt.date, question: str = "") -> Answer | None:
        """The answer of one topic (a topic button was pressed), None if the id is unknown."""
        entry = self.by_id(faq_id)
        if entry is None:
            return None
        return self._answer_for(question or entry.topic, entry, today, 100.0, ())

    def _answer_for(
        self, question: str, entry: FaqEntry, today: dt.date, score: float, others: tuple[FaqEntry, ...]
    ) -> Answer:
        citation = self.base.citation(entry.source, entry.clause)
        body = self.render(entry, today, question)
        return Answer(
            question,
            True,
            entry,
            f"{body}\n{citation}",
            citation,
            score,
            others,
            facts=self.asked_facts(question, entry),
        )

    def render(self, entry: FaqEntry, today: dt.date, question: str = "") -> str:
        """The answer body (without citation): computed dates first for deadline/cycle entries."""
        text = entry.answer.strip()
        asked = clean(question)
        lead = facts.lead(self.asked_facts(question, entry))
        if lead:
            text = f"{lead}\n{text}"
        if entry.kind == "deadline" or (entry.kind == "cycle_week" and _DEADLINE_RE.search(asked)):
            return f"{self._deadline_text(asked, today)}\n{text}"
        if entry.kind == "cycle_week":
            computed = self._week_text(entry, asked, today)
            return f"{computed}\n{text}" if computed else text
        return text

    def _decline_text(self, alternatives: tuple[FaqEntry, ...]) -> str:
        lines = ["抱歉，这个问题我没有找到确切的答案，不想给您不准确的信息。"]
        if alternatives:
            lines.append("您可能想了解：")
            lines.extend(f"{n}. {entry.topic}" for n, entry in enumerate(alternatives, 1))
        lines.append(f"如需人工咨询，请致电高校理事会秘书处：{self.base.secretariat_phone}。")
        return "\n".join(lines)

    # --- computed dates ------------------------------------------------------------------------

    def _deadline_text(self, asked: str, today: dt.date) -> str:
        """The deadline of the quarter the question names, else of the current (or next) quarter."""
        facts = self.base.dated_facts
        quarter = _asked_quarter(asked, today)
        if quarter is not None:
            d = cycle.deadline(quarter, facts)
            if d.date >= today:
                return _deadline_sentence(d, today)
            text = _deadline_sentence(d, today).removesuffix("。") + "；该期限已过。"
            upcoming = cycle.next_deadline(today, facts)
            return text if upcoming.quarter == quarter else f"{text}\n{_deadline_sentence(upcoming, today)}"
        current = cycle.deadline(cycle.quarter_of(today), facts)
        if today <= current.date:
            return _deadline_sentence(current, today)
        text = f"{_quarter_label(current.quarter, today)}的截止日期{cycle.format_date(current.date)}已过"
        if current.extendable and today <= current.extended_date:
            text += f"，已联系延期的最晚可至{cycle.format_date(current.extended_date)}"
        return f"{text}。{_deadline_sentence(cycle.next_deadline(today, facts), today)}"

    def _week_text(self, entry: FaqEntry, asked: str, today: dt.date) -> str:
        week = _week_number(asked) or _entry_week(entry)
        quarter = cycle.cycle_quarter(today)
        lines: list[str] = []
        if week is None:
            weeks = sorted(self.base.cycle, key=lambda w: w.week)
            if not weeks:
                return ""
            lines.append(f"{_quarter_label(quarter, today)}六周安排：")
            for w in weeks:
                start, end = cycle.week_range(quarter, w.week)
                lines.append(f"第{w.week}周（{cycle.format_range(start, end)}）：{w.title}")
        else:
            start, end = cycle.week_range(quarter, week)
            title = next((f"：{w.title}" for w in self.base.cycle if w.week == week), "")
            label = _quarter_label(quarter, today)
            lines.append(f"{label}第{week}周（{cycle.format_range(start, end)}）{title}。")
            if end < today:
                nq = cycle.next_quarter(quarter)
                span = cycle.format_range(*cycle.week_range(nq, week))
                lines.append(f"{label}的第{week}周已过，{_quarter_label(nq, today)}第{week}周为{span}。")
            if week == cycle.SUBMISSION_WEEK:
                lines.append(self._deadline_text("", today))
        now = cycle.cycle_position(today)
        if now is not None:
            lines.append(f"今天（{cycle.format_date(today)}）是{_quarter_label(now[0], today)}第{now[1]}周。")
        return "\n".join(lines)


# A question longer than this (characters) is also scored by its last clauses, each of at least
# MIN_CLAUSE_CONTENT content characters (question words cut out).
LONG_QUESTION = 24
MIN_CLAUSE_CONTENT = 4
_CLAUSE_SPLIT_RE = re.compile(r"[，,。.！!？?；;：:\s]+")


def is_short(question: str) -> bool:
    """At most SHORT_QUESTION content characters once everyday words are the documents' terms."""
    return sum(map(len, content_runs(official_terms(normalize(question))))) <= SHORT_QUESTION


def question_clauses(question: str) -> list[str]:
    """The last clause and the last two clauses of a long question (none for a short one): the
    context before them ("我是…企业，听说…") dilutes the question itself."""
    if len(question) <= LONG_QUESTION:
        return []
    parts = [p for p in _CLAUSE_SPLIT_RE.split(question[:MAX_INPUT_CHARS]) if len(p) >= 2]
    if len(parts) < 2:
        return []
    last, two = parts[-1], "，".join(parts[-2:])
    # A clause of only generic words ("流程是怎样的") says too little alone; it goes with the one before.
    alone = sum(map(len, content_runs(official_terms(normalize(last))))) >= MIN_CLAUSE_CONTENT
    if len(parts) == 2:
        return [last] if alone else []
    return [last, two] if alone else [two]


def asking_part(question: str) -> str:
    """Where a question asks: its last clauses when it is long (the context before them names the
    asker's own unit or town, not what is asked about), else the whole question."""
    clauses = question_clauses(question)
    return clauses[-1] if clauses else question


def content_runs(norm: str) -> list[str]:
    """The Chinese runs of a normalised question once question words are cut out."""
    return [run for run in _CJK_RUN_RE.findall(_QUESTION_WORDS_RE.sub(" ", norm)) if len(run) >= 2]


def _missing_share(runs: list[str], bag: frozenset[str]) -> float:
    """Share of the runs' content characters lying in stretches of >= 2 that `bag` never covers."""
    total = missing = 0
    for run in runs:
        covered = [False] * len(run)
        for k in range(len(run) - 1):
            if run[k : k + 2] in bag:
                covered[k] = covered[k + 1] = True
        stretch = 0
        for ch, hit in zip(run, covered, strict=True):
            if ch in FUNCTION_CHARS:
                missing += stretch if stretch >= 2 else 0
                stretch = 0
                continue
            total += 1
            if hit:
                missing += stretch if stretch >= 2 else 0
                stretch = 0
            else:
                stretch += 1
        missing += stretch if stretch >= 2 else 0
    return missing / total if total else 0.0


def terms(norm: str) -> list[str]:
    """Matching tokens of a normalised text: bigrams with question words cut out first."""
    return tokens(_QUESTION_WORDS_RE.sub(" ", norm))


def _deadline_sentence(d: cycle.Deadline, today: dt.date) -> str:
    return f"{_quarter_label(d.quarter, today)}企业提交清单的截止日期是{_deadline_phrase(d)}。"


def _deadline_phrase(d: cycle.Deadline) -> str:
    """'2026年10月16日（星期五，第3周），可联系延长一周至2026年10月23日'."""
    week = (d.date - cycle.week_start(d.quarter, 1)).days // 7 + 1
    where = f"，第{week}周" if 1 <= week <= cycle.CYCLE_WEEKS else ""
    text = f"{cycle.format_date(d.date)}（{cycle.WEEKDAYS[d.date.weekday()]}{where}）"
    if d.extendable:
        days = (d.extended_date - d.date).days
        span = "一周" if days == 7 else f"{days}天"
        text += f"，可联系延长{span}至{cycle.format_date(d.extended_date)}"
    return text


def _quarter_label(quarter: str, today: dt.date) -> str:
    """'本季度（2026Q4）', '下季度（2027Q1）' or '2025年第二季度（2025Q2）'."""
    current = cycle.quarter_of(today)
    if quarter == current:
        return f"本季度（{quarter}）"
    if quarter == cycle.next_quarter(current):
        return f"下季度（{quarter}）"
    return f"{cycle.quarter_name(quarter)}（{quarter}）"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMERALS[text]


def _asked_quarter(asked: str, today: dt.date) -> str | None:
    """The quarter a question names ('2025年第二季度', '2025Q2', '下季度'), None if it names none."""
    for words, step in _RELATIVE_QUARTER:
        if words in asked:
            current = cycle.quarter_of(today)
            return cycle.next_quarter(current) if step > 0 else cycle.previous_quarter(current)
    m = _QUARTER_RE.search(asked)
    if not m:
        return None
    if m.group(4):
        return cycle.quarter_label(int(m.group(4)), int(m.group(5)))
    year = today.year
    if m.group(1):
        year = int(m.group(1))
    elif m.group(2):
        year += {"今年": 0, "明年": 1, "去年": -1}[m.group(2)]
    return cycle.quarter_label(year, _number(m.group(3)))


def _week_number(text: str) -> int | None:
    m = _WEEK_NUM_RE.search(text)
    return _number(m.group(1)) if m else None


def _entry_week(entry: FaqEntry) -> int | None:
    """The cycle week an entry is about: from its id ('...week5', 'w5') or its answer's first '第N周'."""
    m = re.search(r"(?:week|w)[-_]?([1-6])(?!\d)", entry.id)
    if m:
        return int(m.group(1))
    for text in (entry.topic, entry.answer):
        found = _week_number(clean(text))
        if found:
            return found
    return None
