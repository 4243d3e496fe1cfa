"""User-facing wording shared by several handlers (Simplified Chinese)."""

from __future__ import annotations

from policies.replies import Button, Reply

MENU_ASK = "问政策"
MENU_FILL = "填报结对项目"
MENU_MINE = "我的项目"
MENU_HELP = "帮助"

MENU = Reply(
    text="请选择功能，或直接输入您的问题。",
    buttons=((Button(MENU_ASK), Button(MENU_FILL)), (Button(MENU_MINE), Button(MENU_HELP))),
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
    "/cancel 暂停当前填报，草稿会保存\n"
    "/leaderboard 本季度贡献度榜单\n"
    "/stop 退订提醒\n"
    "/myid 查看您的 Telegram 用户 ID\n"
    "直接输入文字即可提问。每条回答都会注明政策出处；没有把握时我会如实告诉您，并提供秘书处电话。\n"
    "管理员命令：/broadcast 群发通知，/export 导出清单，/reload 重新加载政策数据。"
)

TOO_LONG = "消息过长（超过 {limit} 字），未做处理。请精简后重新发送。"
NOT_TEXT = "暂时只能处理文字消息。请直接输入您的问题，或点击菜单中的功能。"
INTERNAL_ERROR = "抱歉，处理您的消息时出现了问题。已填写的内容都已保存，请稍后重试或发送 /start。"
