"""The web chat's own wording (page chrome and HTTP refusals); the conversation's texts live in the core."""

from __future__ import annotations

TITLE = "结对共建助手"
SUBTITLE = "青岛西海岸新区科创平台产学研结对共建"
CSRF_FAILED = "安全校验失败：页面可能已过期。请刷新页面后重试。"
RATE_LIMITED = "发送太频繁，请 {seconds} 秒后再试。"
TOO_LARGE = "内容过大，无法处理。单条消息请控制在 4096 字以内。"
BAD_REQUEST = "请求格式有误，请刷新页面后重试。"
NOT_FOUND = "文件不存在或已失效。"
