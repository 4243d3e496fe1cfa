"""Every user-facing sentence of the conversation routes (Simplified Chinese), in one place.

The form's own wording lives with the form (`policies/flows.py`, `data/form.yaml`); reminder texts live
in `data/cycle.yaml`.
"""

from __future__ import annotations

from policies.flows import EXPIRED
from policies.replies import Button, Reply

MENU_ASK = "问政策"
MENU_FILL = "填报结对项目"
MENU_MINE = "我的项目"
MENU_HELP = "帮助"
MENU_FIND = "找平台"
MENU_LABELS = (MENU_ASK, MENU_FILL, MENU_MINE, MENU_HELP, MENU_FIND)

MENU = Reply(
    text="请选择功能，或直接输入您的问题。",
    buttons=(
        (Button(MENU_ASK), Button(MENU_FILL)),
        (Button(MENU_MINE), Button(MENU_HELP)),
        (Button(MENU_FIND),),
    ),
    keyboard=True,
)

GREETING = (
    "您好{name}！我是结对共建助手，服务青岛西海岸新区科创平台产学研结对共建活动。\n"
    "我可以：\n"
    "• 解答政策问题（截止时间、补贴、条件、联系方式），并注明出处；\n"
    "• 引导您逐项填写《科创平台产学研结对共建项目清单》，随时可暂停、返回、修改；\n"
    "• 查看和更新您已填报的项目进展。"
)

ASK_PROMPT = (
    "请直接输入您的问题，例如：\n"
    "• 本季度清单什么时候截止？\n"
    "• 科技成果转化贷款贴息比例是多少？\n"
    "• 组建创新联合体需要什么条件？"
)

HELP = (
    "使用说明：\n"
    "/start 打开主菜单（有未完成的填报时可继续）\n"
    "/fill 填报结对共建项目\n"
    "/my 我的项目（查看、更新进展、查看修改记录）\n"
    "/find 找平台：按技术方向查找高校科创平台，可直接“与该平台结对”\n"
    "/cancel 暂停当前填报，草稿会保存\n"
    "/leaderboard 本季度贡献度榜单\n"
    "/stop 退订提醒\n"
    "/join 邀请码 加入企业（邀请码由企业同事或所在功能区、镇街提供）\n"
    "/link 关联 Telegram 与网页版：在一边发送 /link 获取关联码，在另一边发送 /link 关联码\n"
    "/myid 查看您的用户 ID\n"
    "直接输入文字即可提问。每条回答都会注明政策出处；没有把握时我会如实告诉您，并提供秘书处电话。\n"
    "管理员命令：/broadcast 群发通知，/export 导出清单，/reload 重新加载政策数据。"
)

MY_ID = "您的用户 ID：{id}（{channel}）"
CHANNEL_NAMES = {"telegram": "Telegram", "web": "网页", "terminal": "终端"}
TOO_LONG = "消息过长（超过 {limit} 字），未做处理。请精简后重新发送。"
EMPTY = "没有收到文字内容。请直接输入您的问题，或点击菜单中的功能。"
NOT_TEXT = "暂时只能处理文字消息。请直接输入您的问题，或点击菜单中的功能。"
UNKNOWN_COMMAND = "没有 {command} 这个命令。可用命令见 /help，或点击下方菜单。"
STALE_BUTTON = EXPIRED  # the form's own refusal of a button it never sent: one wording everywhere
TOPIC_GONE = "该主题已更新，请重新输入您的问题。"
INTERNAL_ERROR = "抱歉，处理您的消息时出现了问题。已填写的内容都已保存，请稍后重试或发送 /start。"
STOPPED = "已退订，发送 /start 可重新订阅。"

# -- admin -------------------------------------------------------------------------------------------
NO_PERMISSION = "无权限：该功能仅限高校理事会秘书处管理员使用。"
PRIVATE_ONLY = "为保护数据，群发和导出只能在与机器人的私聊中使用，请私聊机器人后重试。"

BC_ASK_TEXT = "请发送要群发的通知内容（纯文本，4096 字以内）。发送 /cancel 取消。"
BC_TOO_LONG = "通知内容超过 4096 字，无法一次发送。请精简后重新发送 /broadcast。"
BC_EMPTY = "通知内容为空，请重新发送 /broadcast。"
BC_PREVIEW = "【群发预览】将发送给 {count} 位订阅者：\n\n{text}"
BC_NO_RECIPIENTS = "当前没有有效订阅者，无需群发。"
BC_CANCELLED = "已取消群发。"
BC_EXPIRED = "该预览已失效（可能已发送或已取消），请重新发送 /broadcast。"
BC_STARTED = "已确认，开始群发（共 {count} 人），进度见下一条消息。"
BC_QUEUED = (
    "已确认，群发任务已创建（共 {count} 人），将由运行中的机器人发送（python bot.py broadcast --resume）。"
)
BC_CONFIRM, BC_CANCEL = "确认发送", "取消"

EXP_BAD_QUARTER = "季度格式应为 2026Q4，例如：/export 2026Q3"
LB_BAD_QUARTER = "季度格式应为 2026Q4，例如：/leaderboard 2026Q3"
EXP_KIND_LABELS = {"university": "按高校", "enterprise": "按企业", "ledger": "台账", "leaderboard": "榜单"}
EXP_FORMAT_LABELS = {"xlsx": "Excel（xlsx）", "csv": "CSV"}
EXP_CHOOSE_KIND = (
    "请选择导出内容（{label}）：\n"
    "按高校：每所高校一份清单；按企业：每家企业一个文件，打包为 zip；\n"
    "台账：管理台账及变更记录（未指定季度时含全部季度）；榜单：新成果和贡献度榜单。"
)
EXP_CHOOSE_FORMAT = "{kind}导出（{label}），请选择文件格式："
EXP_EMPTY = "{label} 暂无填报记录，未生成文件。"
EXP_TOO_BIG = (
    "文件 {name} 超过 {limit}MB，无法在对话中发送，"
    "请在服务器上运行：python bot.py export --by {kind} --out 文件名"
)
EXP_DONE = "导出完成：{count} 个文件，见下方。"
EXP_FAILED = "导出失败，请稍后重试或联系技术人员。"
EXP_CAPTIONS = {
    "university": "{label} 按高校导出：{groups}所高校，共{rows}条",
    "enterprise": "{label} 按企业导出：{groups}家企业，共{rows}条（一个企业一个文件）",
    "ledger": "{label} 管理台账：共{rows}条，变更记录{history}条",
    "leaderboard": "{label} 贡献度榜单：{groups}所高校，共{rows}条项目",
}
RELOAD_FAILED = "重新加载失败，仍使用原有数据：{error}"

# -- 找平台 ------------------------------------------------------------------------------------------
PF_PROMPT = (
    "请输入想找的技术方向或服务，例如：\n"
    "• 防腐涂层中试\n"
    "• 海洋腐蚀检测\n"
    "• 水下机器人\n"
    "也可以按类型或高校浏览目录："
)
PF_EMPTY_CATALOGUE = "平台目录尚未导入，暂时无法查找。可先直接填报，或联系高校理事会秘书处。"
PF_NONE = (
    "没有找到与“{query}”相关的平台。可换个说法（例如只写技术方向：防腐涂层、腐蚀检测），或按类型、高校浏览："
)
PF_FOUND = "找到 {count} 个相关平台{filters}，第 {first}–{last} 个："
PF_LISTED = "共 {count} 个平台{filters}，第 {first}–{last} 个："
PF_SAMPLE = "【示例数据】以下平台为演示用的示例数据，不是高校正式发布的目录。"
PF_FILTERS = "（{parts}）"
PF_PAIR = "与该平台结对 {mark}"
PF_MORE = "更多（还有 {rest} 个）"
PF_BY_UNIVERSITY = "按高校筛选"
PF_BY_TYPE = "按类型筛选"
PF_CLEAR = "清除筛选"
PF_CHOOSE_UNIVERSITY = "请选择高校："
PF_CHOOSE_TYPE = "请选择平台类型："
PF_ALL = "全部"
PF_NO_MORE = "已经是最后一页了。"
PF_STALE = "该平台已不在目录中（目录可能已更新），请重新查找。"
PF_FROM_FAQ = "政策库中没有这个问题的答案，但平台目录中有相关平台："
PF_CARD = "{mark} {name}{sample}\n   {university} · {type}"
PF_OFFERS = "   提供：{text}"
PF_INTENTIONS = "   结对意向：{text}"
PF_INTRO = "   简介：{text}"
PF_CONTACT = "   联系人：{text}"
PF_LINK = "   链接：{text}"
