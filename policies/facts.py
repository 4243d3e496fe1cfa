"""Kinds of fact a question asks for, and whether an FAQ entry states one.

A question asking for an amount, a ratio, a date, a phone, an address, a web address, a count, an
issuer or a validity is answered with the entry's fact of that kind first ("金额：单个企业最高50万元")
and the passage after. When the best entry states no fact of the kind asked, in its `facts` fields
or unmistakably in its passage, the bot declines instead of answering with the nearest passage
(鲁科贷最多贷多少钱 vs 鲁科贷's description). Some kinds no entry states (a fax number, an e-mail
address, a named person such as 校长): asking for one is always declined unless a passage has it.
Whether money comes with something (有没有补贴) and economic figures (GDP, 产值) are kinds too: only a
passage that speaks of money, or names the figure, answers them. So are a score in points
(加分标准是多少分: only a passage giving points answers, not "作为推免重要参考"), a reduction
(房租能减免多少: only a passage stating a cut such as 减半 or 免收) and the names of a counted set
(53个平台叫什么: only a passage listing names, not "发布新平台、新服务"), what a service costs
(仪器使用怎么收费: only a passage that speaks of charging, a free service or a sum in 元, not a
platform's description) and a public budget (每年安排多少财政资金: only a passage naming 财政,
专项资金 or a grant in 元, not a target for firms' R&D spending). The kinds are also asked in the
forms writers use besides the obvious one: a venue 在什么地点 (not only 在哪), a date to sign up
(什么时候报名), a count of copies (几份材料), a term (期限是多长) and the size of a sum (额度有多大).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FactKind:
    name: str  # the key in an entry's `facts`
    label: str  # shown before the value: "金额：单个企业最高50万元"
    asks: re.Pattern[str]  # matched against the cleaned question (Simplified, no punctuation)
    stated: re.Pattern[str]  # a passage that matches states a fact of this kind unmistakably


_MONEY = r"(?:钱|金额|额度|资金|经费|补贴|补助|资助|奖励|奖补|奖金|贴息|津贴|工资|薪|费|安家费|保费)"
_HOW_MUCH = r"(?:多少|几|上限|封顶|最高|最多)"

# A phone number as the documents write one (0532-…, a mobile, eight digits).
PHONE_NUMBER_RE = re.compile(r"\d{3,4}-?\d{7,8}|1\d{10}|(?<!\d)\d{8}(?!\d)")


KINDS: tuple[FactKind, ...] = (
    FactKind(
        "amount",
        "金额",
        re.compile(
            rf"多少钱|多少万元|多少元|多少亿|(?<!人才)(?<!队伍)(?<!人员)规模[\u4e00-\u9fff]{{0,3}}多大|总投资|{_MONEY}.{{0,6}}{_HOW_MUCH}|{_HOW_MUCH}.{{0,4}}{_MONEY}"
            r"|(?:补|奖|贷|拿|领|给)多少|年薪|月薪"
            # The size of an amount ("投资额度有多大"): asked like a count of money.
            r"|(?:额度|金额|投资额|资金量)[\u4e00-\u9fff]{0,3}多大"
        ),
        re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?元"),
    ),
    FactKind(
        "ratio",
        "比例",
        re.compile(r"比例|几成|百分之|百分比|费率|利率|比率|税率|增长率|增速|占比"),
        re.compile(r"\d+(?:\.\d+)?\s*%|百分之"),
    ),
    FactKind(
        "phone",
        "电话",
        re.compile(r"电话|手机号|热线|联系方式|客服"),
        PHONE_NUMBER_RE,
    ),
    FactKind("fax", "传真", re.compile(r"传真"), re.compile(r"传真\D{0,3}\d{7,}")),
    FactKind("email", "邮箱", re.compile(r"邮箱|邮件|email|e-mail"), re.compile(r"@")),
    FactKind(
        "address",
        "地址",
        re.compile(
            r"地址(?!是多少网)|在哪办公|在哪里办公|办公地点|会议室|哪个会场|门牌|坐几路|哪个窗口"
            r"|(?<!流程)(?<!程序)(?<!手续)(?<!步骤)怎么走"
            # Where something takes place or is built (场地, 选址, 哪个街道): a venue, not a step.
            r"|在哪个?(?:场地|地方|地点|街道|场馆)|(?:场地|地点|选址|会场|场馆)(?:在|是)?(?:哪|什么地方)"
            r"|在哪(?:个|里|儿)?(?:举办|举行|召开|开会)|哪个街道|哪条路|具体位置"
            # "在什么地点举行", "一般在什么地方办": a venue asked with 什么 instead of 哪.
            r"|在什么(?:地点|地方|场地|场馆|位置)"
            # Which building or floor an office is in (办公室在哪栋楼): the documents give no address.
            r"|哪(?:个|栋|座|幢)楼|几号楼|在哪一?层|在几层|在几楼|几楼办公|(?:办公室|办公楼)在哪"
        ),
        re.compile(r"地址|路\d+号|\d+号楼|\d+室|会议室|办公地点|https?://"),
    ),
    FactKind(
        "url",
        "网址",
        re.compile(r"网址|网站|网页|链接|哪个平台登录|在哪登录|在哪里登录"),
        re.compile(r"https?://|www\.|\.gov\.cn|\.com"),
    ),
    FactKind(
        "date",
        "日期",
        re.compile(
            # "电话是几号" asks a phone number, not a date.
            r"(?<![写填])哪天|(?<![写填])哪一天|(?<!话)(?<!话是)(?<!码)(?<!码是)几号|几月几日|什么日期|日期是|哪年哪月|何时发"
            r"|什么时候(?:发|印发|出台|发布|成立|举办|举行|召开|开始|启动|办)"
            r"|哪一?年(?:发|印发|出台|发布|成立|提出)|每年(?:几月|哪个月)"
            # When to sign up (培训什么时候报名, 报名时间): a date only a passage stating one gives.
            r"|(?:什么时候|啥时候|何时|哪天)[\u4e00-\u9fff]{0,2}报名|报名(?:时间|日期|什么时候|啥时候|截止)"
        ),
        re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{4}-\d{2}-\d{2}|\d{1,2}月\d{1,2}日"),
    ),
    FactKind(
        "count",
        "数量",
        # Near the end: "几个高校合作清单要合并吗" names a number of partners, it does not ask one.
        # "高校数量够不够" asks whether a number suffices: the required count answers it.
        re.compile(
            r"(?<!哪)(?:几|多少)(?:家|个|所|名|人|项|条|张|万人|位|份)[\u4e00-\u9fff]{0,6}$|数量是?多少"
            r"|(?:数量|家数|个数|人数)[\u4e00-\u9fff]{0,2}(?:够不够|够吗|够了吗|达标吗|达不达标)"
            # The size of a workforce ("人才规模想做到多大"): the documents count people (110万人).
            r"|(?:人才|队伍|人员)(?:规模|总量|总数)[\u4e00-\u9fff]{0,4}(?:多大|多少|几)"
        ),
        re.compile(
            r"(?<![第\d])\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:万)?(?:家|个|所|名|人|项|张|位|份)"
            r"|(?<![第每])[一二两三四五六七八九十]+(?:家|所|名|张)"
            # "四大创新圈", "三项任务" (not the ubiquitous "一个"); "与几个高校合作就填几张" (as many as).
            r"|(?<![第每一])[二两三四五六七八九十]+(?:个|项|条|大)|就[^。]{0,4}几(?:张|个|份|家)"
            # "5+5+7" counts the industries of each group (not "10+1", the name of an industry system).
            r"|\d+\+\d+\+\d+"
        ),
    ),
    FactKind(
        "issuer",
        "发文单位",
        re.compile(r"哪个部门发|哪些部门发|谁发的|谁印发|发文单位|印发单位|发文机关|哪个单位发"),
        re.compile(
            r"(?:厅|局|委员会|工委|管委|政府|办公室|部)[^。]{0,40}(?:印发|发布|发文|联合)|由[^。]{0,30}(?:厅|局|管委|政府)"
        ),
    ),
    FactKind(
        "validity",
        "有效期",
        re.compile(
            r"有效期|多久有效|几年有效|有效多久|管几年|管多久|期限多长|到期"
            r"|(?:挂|挂职|任职|聘|派驻|服务期|当).{0,4}(?:多长时间|多久|几年|几个月)"
            # A term of office (科技副总任期几年): the documents set none.
            r"|(?:任期|聘期|任职期|服务期|派驻期|挂职期)[\u4e00-\u9fff]{0,3}(?:多长|多久|几年|几个月|多少年)"
            # "挂职的期限是多长" (not "计划的期限是哪几年", which asks a span of years a plan states).
            r"|期限(?:是|为|有)?(?:多长|多久|几个月|多少年)"
        ),
        re.compile(r"有效期|不超过\d+年|\d+年内"),
    ),
    # Eligibility criteria: the documents give some (创新联合体牵头单位须为…), not those of other
    # programmes (泰山产业领军人才工程的申报条件).
    FactKind(
        "criteria",
        "条件",
        re.compile(
            r"(?:申报|申请|认定|评定|评选|入选)[\u4e00-\u9fff]{0,4}(?:条件|标准|要求)"
            # "组建条件", "满足啥条件": the same criteria asked with another verb.
            r"|(?:组建|牵头|加入|成立)[\u4e00-\u9fff]{0,2}(?:条件|资格)|(?:满足|具备|符合)[\u4e00-\u9fff]{0,3}条件"
        ),
        re.compile(r"条件[：:]|条件是|须为|应为|应具备|应拥有|不少于"),
    ),
    # Steps of a procedure: only an entry that describes steps answers "…流程/手续/步骤".
    FactKind(
        "procedure",
        "流程",
        re.compile(r"流程|手续|步骤|程序是"),
        re.compile(
            r"流程|程序|步骤|[（(][一二三][)）]|\d[.、]|先[^。]{0,30}(?:再|后|然后)|报送|提交|登录|发至|填报|审核"
        ),
    ),
    # Whether money comes with something (有没有补贴): only a passage that speaks of money answers
    # it, not the description of a programme that offers none (结对共建有没有资金补贴).
    FactKind(
        "funding",
        "资金支持",
        re.compile(
            r"(?:有没有|有无|是否有|能不能拿|能否拿|能拿|可以拿|给不给|有啥|有什么|给)[\u4e00-\u9fff]{0,4}"
            r"(?:钱|补贴|补助|资助|奖励|奖补|奖金|经费|资金|报酬|酬劳)"
            r"|(?:补贴|补助|资助|奖励|奖补|奖金|经费)(?:吗|么|不)$"
        ),
        re.compile(r"补贴|补助|资助|奖励|奖补|贴息|经费|资金|万元|基金|投资|支持"),
    ),
    # An economic figure (GDP, output, revenue) is answered only by a passage that names it; the
    # documents state targets for R&D spending and contract turnover, not these.
    FactKind(
        "economy",
        "经济指标",
        re.compile(r"(?:gdp|生产总值|产值|营收|营业收入|税收|利润|财政收入).{0,4}(?:多少|几)"),
        re.compile(r"gdp|GDP|生产总值|产值|营业收入|税收|利润|财政收入"),
    ),
    # The documents to hand in (需要准备什么材料): only a passage that names some answers.
    FactKind(
        "materials",
        "材料",
        re.compile(r"(?:什么|哪些|啥)(?:材料|资料|证件)|材料清单|需要[\u4e00-\u9fff]{0,4}(?:材料|资料|证件)"),
        re.compile(r"材料|资料|附件|证明|复印件|申请表|申报书|建设方案|协议"),
    ),
    # A form or contract template to download: only a passage that names one (参考提纲, 附件) answers.
    FactKind(
        "template",
        "模板",
        re.compile(r"模板|模版|范本|样表|样本|范文|格式文本"),
        re.compile(r"模板|模版|范本|样表|参考提纲|附件"),
    ),
    # Sanctions (处罚, 罚款): a passage answers only if it speaks of one (不得, 取消, 撤销 ...), not the
    # rule whose breach is asked about (清单逾期会有什么处罚 vs the extension rule).
    FactKind(
        "penalty",
        "处罚",
        # "…不利会怎样" asks the consequence of a failing too.
        re.compile(r"处罚|惩罚|罚款|罚金|处分|受罚|被罚|罚则|(?:会|将)(?:怎样|怎么样|有什么后果)|后果"),
        re.compile(
            r"处罚|惩罚|罚款|处分|不得|取消|撤销|追责|问责|约谈|通报|失信|黑名单|责令|追回|终止|免责|退出|整改"
        ),
    ),
    # An age limit: the documents set none.
    FactKind(
        "age",
        "年龄",
        re.compile(r"年龄|岁数|年纪|多少岁|几岁|周岁|岁以[下上内]"),
        re.compile(r"\d+\s*周?岁|年龄"),
    ),
    # An upper bound (最多几家, 上限多少): a passage stating only a minimum (不少于3家) does not answer it.
    FactKind(
        "maximum",
        "上限",
        re.compile(
            r"(?:最多|至多|上限|封顶|最高)[\u4e00-\u9fff]{0,6}(?:几|多少)|(?:几|多少)[\u4e00-\u9fff]{0,3}(?:上限|封顶)"
            r"|有没有上限|有上限"
        ),
        re.compile(r"最多|至多|上限|封顶|最高|不超过|不得超过|以内|以下"),
    ),
    # A loan's own terms (how much one may borrow, its interest rate): the documents state subsidies
    # on loans (贴息40%, 最高50万元), never what a bank lends or charges: no document states an interest
    # rate, so any 利率 (鲁科贷 利率) asks one; nor a guarantor's or insurer's fee rate (担保费率), so
    # any 费率 asks one too (a subsidy's 40% is no fee rate).
    FactKind(
        "loan",
        "贷款条件",
        re.compile(r"贷多少|借多少|贷款(?:额度|金额|上限|期限|年限)|利率|费率|授信额度"),
        re.compile(r"贷款额度|贷款金额|授信|可贷|贷款利率|年利率|贷款期限|费率"),
    ),
    # The next edition of an event (下一期, 下一届): only a recurring schedule (每季度, 每年) answers it;
    # a report of one event does not.
    FactKind(
        "next",
        "下次时间",
        re.compile(r"下一?(?:期|届|场|轮)|下一次|下次"),
        re.compile(r"每(?:年|季度|季|月|周|期|届)|定期|下一(?:期|届|次|批|轮)|常态化"),
    ),
    # A span in days (公示期几天, 审核要多少个工作日): only a passage that counts days answers it.
    FactKind(
        "days",
        "天数",
        re.compile(r"(?:几|多少)个?(?:工作日|天)|公示期|公示多久|公示多长"),
        re.compile(
            r"(?<![月\d])\d+\s*个?(?:工作日|天|日|周)|(?<!第)[一二两三四五六七八九十]+(?:个工作日|天|周)|公示期"
        ),
    ),
    # The names of the members of a group (签约的三所高校分别是哪几所, 入选名单): only a passage that
    # lists some answers it, not one that counts them (3所高校).
    FactKind(
        "names",
        "名单",
        # "哪两个", "具体是哪几个": the asker wants the items listed.
        # "53个平台具体叫什么名字", "都叫什么": the names of a counted set.
        re.compile(
            r"分别是哪|分别叫什么|名单|哪[两三四五六七八九十\d]+个|具体是哪几|都叫什么|各叫什么"
            r"|(?:\d+|[两三四五六七八九十]+)(?:个|家|所|项)[\u4e00-\u9fff]{0,10}?(?:具体|都|分别)?叫什么"
        ),
        # Generic items ("发布新平台、新服务", "一批项目、一批成果") are kinds of thing, not names.
        re.compile(r"[\u4e00-\u9fff）”]、(?!新|一批|一些)[\u4e00-\u9fff“]"),
    ),
    # The institutions counted ("是哪三所高校", "哪两家院所"): the asker knows how many and wants them
    # named; only a passage listing institutions (中国海工院、中船海装院) answers, not "3所驻青高校院所".
    FactKind(
        "members",
        "单位名单",
        re.compile(r"哪[两三四五六七八九十\d]+(?:所|家|位|名)"),
        re.compile(r"(?:大学|学院|院|所|公司|集团|企业|中心|局|厅|委|部|馆|站|园|室)[）”]?、"),
    ),
    # A score in points (加分标准是多少分, 分值多少): only a passage giving points (加5分, 满分100分)
    # answers it, not one that counts something as "参考" or "加分" without a figure.
    FactKind(
        "points",
        "分值",
        re.compile(
            r"(?<![百千万])(?:多少|几)分(?![之钟工别类批期配成享摊开])|分值|满分|加分[\u4e00-\u9fff]{0,3}?(?:多少|几)"
        ),
        re.compile(r"\d+(?:\.\d+)?\s*分(?![之钟工别类批期])|分值|满分"),
    ),
    # How much is waived or cut (房租能减免多少, 租金打几折): only a passage stating a reduction
    # (免收, 减半, 减免50%) answers it; a passage offering premises or services with no figure does not.
    FactKind(
        "relief",
        "减免",
        re.compile(
            r"(?:减免|减|免|优惠|便宜|打折|折扣|少交|少缴)了?(?:多少|几成|几折|百分之几)"
            r"|(?:房租|租金|租费)[\u4e00-\u9fff]{0,4}(?:多少|几|怎么算)"
            r"|(?:减免|减租|免租|优惠)[\u4e00-\u9fff]{0,2}(?:标准|幅度|比例|额度)"
        ),
        re.compile(r"减免|免收|免除|减半|减收|全免|免费|\d+折|[一二三四五六七八九]折|租金|房租"),
    ),
    # The port of a web address (网址后面的端口号): a passage giving an address with its port answers.
    FactKind("port", "端口", re.compile(r"端口"), re.compile(r"https?://[^\s/]+:\d{2,5}")),
    # A password or verification code: no document states one.
    FactKind("password", "密码", re.compile(r"密码|验证码"), re.compile(r"密码")),
    # The deadline of something (申报什么时候截止): only a passage that states a date, or the list's
    # deadline and cycle entries (computed), answers it.
    FactKind(
        "deadline",
        "截止时间",
        re.compile(r"截止|截至|最晚|最迟|ddl|deadline"),
        re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日|第[一二三四五六1-6]周"),
    ),
    # The month something happens (每年几月开展): only a passage naming a month or a season of the year
    # answers it (the list's cycle entries state weeks and dates, computed).
    FactKind(
        "month",
        "月份",
        re.compile(r"(?:几|哪个|哪一个|哪几个|什么)月份?(?![几\d])|什么季节"),
        re.compile(
            r"\d{1,2}\s*月|(?<![一每])[一二三四五六七八九十]{1,2}月|年底|年初|年中|上半年|下半年|月份"
            r"|第[一二三四五六1-6]周"
        ),
    ),
    # The year a goal is to be reached (到哪一年, 目标年份, 什么时候要做到): a passage stating a target
    # year ("到2028年", "2026年底") answers it, not one dated by its issue (日期为2024年9月19日).
    FactKind(
        "target_year",
        "目标年份",
        re.compile(
            r"到哪一?年|目标年份|哪一?年(?:前|底|要|能|会)"
            # Not "什么时候完成首轮发布" (a past event, dated): a goal is still to be reached.
            r"|什么时候(?:要|能|才能|可以)(?:做到|实现|完成|达到)|什么时候(?:初见成效|见效)"
        ),
        re.compile(r"到\d{4}\s*年|\d{4}\s*年(?:底|前|末|内)|\d{4}\s*[-—至]\s*\d{4}\s*年"),
    ),
    # Which office is in charge (哪个部门牵头, 归哪个局; not "谁负责", which a party such as 高校
    # answers): a passage naming an office that leads or is responsible answers it ("（省科技厅负责）",
    # "责任单位：…"), not one where a firm leads (链主企业牵头).
    FactKind(
        "in_charge",
        "负责单位",
        re.compile(
            r"(?:哪个|哪些|哪几个|什么|哪一个)(?:部门|厅|局|机关|处室)(?:来|在)?(?:负责|牵头|主管|主抓|抓总|管)"
            r"|归哪个?(?:部门|厅|局)|责任单位"
        ),
        re.compile(
            r"(?:厅|局|部|委|办|管委|政府|中心|处|核心区|科协|工委)[^。；]{0,12}?(?:负责|牵头|抓总|组织)"
            r"|责任单位|由[^。；]{0,30}(?:厅|局|部|委|处)"
        ),
    ),
    # Which division of an office (市科技局哪个处): only a passage naming one (…重大专项处) answers.
    FactKind(
        "division",
        "处室",
        re.compile(r"(?:哪个|哪一个|什么|哪些)(?:处室|科室|处)(?!理|罚|分)"),
        re.compile(r"(?:专项|秘书|管理|规划|人事|事务|发展|合作|计划|服务|政策|法规|综合)处|处室|科室"),
    ),
    # Pay for someone's work (当科普信息员有没有报酬): only a passage that speaks of pay answers it.
    FactKind(
        "pay",
        "报酬",
        re.compile(r"报酬|酬劳|薪酬|劳务费|薪水"),
        re.compile(r"报酬|酬劳|薪酬|劳务费|工资|薪|津贴|补贴|补助|\d+\s*元"),
    ),
    # What a service costs (仪器怎么收费, 服务费怎么收): only a passage that speaks of charging, a free
    # service or a sum in 元 answers it, not the description of a platform or a market that says
    # nothing of its prices. (Whether a cost is refunded, 能报销吗, is not this kind: writers ask it of
    # the voucher, 创新券, which a passage states without the word.)
    FactKind(
        "fee",
        "收费",
        re.compile(r"收费|收不收钱|要不要钱|花钱吗|(?:费|费用)[\u4e00-\u9fff]{0,2}(?:怎么收|怎么算|标准)"),
        re.compile(r"收费|收取|免费|\d+(?:\.\d+)?\s*(?:万|亿)?元"),
    ),
    # A budget set aside (每年安排多少财政资金, 财政投入多少): only a passage naming public money
    # (财政, 专项资金, 预算) or a grant in 元 answers it, not a target for firms' R&D spending.
    FactKind(
        "budget",
        "财政资金",
        re.compile(
            r"(?:安排|拨付|拨|拿出|投入)[\u4e00-\u9fff]{0,2}(?:多少|几)[\u4e00-\u9fff]{0,2}(?:财政)?(?:资金|经费|预算)"
            r"|(?:财政|专项)(?:资金|经费|预算|投入)[\u4e00-\u9fff]{0,4}(?:多少|几)|预算(?:是|有)?多少"
        ),
        re.compile(r"财政|专项资金|预算|(?:给予|资助|补助|奖励|安排)[^。]{0,8}\d+(?:\.\d+)?\s*(?:万|亿)?元"),
    ),
    # Nobody is named or ranked in the documents: a question for a person's name or for who came
    # first is never answered from them.
    FactKind(
        "person",
        "姓名",
        re.compile(
            r"(?:校长|主席|书记|局长|厅长|院长|主任|董事长|处长|部长|老师|负责人|秘书长|理事长|会长)"
            r"(?:是谁|叫什么|叫啥|姓什么|名字)(?![选定任派来聘管负])"
            # A contact person's name (联系人叫什么, 联系人的名字和手机号): the documents name none.
            r"|联系人的?(?:叫什么|叫啥|姓什么|名字|姓名)"
            # Who sits on a body (委员会成员有哪些人): the documents name no members.
            r"|(?:成员|委员)(?:有哪些人|都?是谁|都有谁|叫什么)"
            r"|第一名|排第一|排名第几|冠军"
        ),
        re.compile(r"(?!)"),
    ),
)
BY_NAME = {kind.name: kind for kind in KINDS}
# Kinds an entry's `facts` may hold (fax, email and person are never curated: no document has one).
CURATED = ("amount", "ratio", "date", "phone", "address", "url", "count", "issuer", "validity")


# The words that ask for a fact (any kind's `asks`, plus "咨询/找谁"): what is left of a question
# without them is its subject ("联合体有问题打哪个电话" -> "联合体有问题").
_ASKING_RE = re.compile(
    "|".join(kind.asks.pattern for kind in KINDS)
    + r"|咨询|找谁|问谁|联系|打(?=\w{0,3}(?:电话|热线))"
    # What prompts the call is no subject: "有不明白的地方打什么电话" asks the programme's phone.
    + r"|(?:有)?(?:不明白|不清楚|不懂|搞不懂|弄不懂|疑问)(?:的)?(?:地方|问题)?"
)


# What money is asked about stays in the subject: "贴息上限多少钱" asks an amount of 贴息.
_MONEY_SUBJECT_RE = re.compile(r"贴息|补贴|补助|资助|奖励|奖补|奖金|经费|贷款|保费|安家费|津贴")


def subject(question: str) -> str:
    """A question with the words asking for a fact blanked out (the thing the fact is about)."""
    return _ASKING_RE.sub(lambda m: " " + " ".join(_MONEY_SUBJECT_RE.findall(m.group(0))) + " ", question)


def asked_kinds(question: str) -> list[str]:
    """The kinds of fact a cleaned question asks for, e.g. ['amount'] for '单个企业贴息最高多少钱'."""
    return [kind.name for kind in KINDS if kind.asks.search(question)]


def states(kind: str, facts: dict[str, str], passage: str) -> bool:
    """Whether an entry with these `facts` and this passage states a fact of `kind`."""
    return kind in facts or bool(BY_NAME[kind].stated.search(passage))


def lead(found: tuple[tuple[str, str], ...]) -> str:
    """The fact lines that open an answer ('金额：单个企业最高50万元')."""
    return "\n".join(f"{BY_NAME[kind].label}：{value}" for kind, value in found)
