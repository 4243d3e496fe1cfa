"""One sample enterprise's answers to the 清单 form, as a user gives them (typed or pressed), shared by the
conversation tests of every channel."""

from __future__ import annotations

TYPED = {
    "科创平台名称": "山东省海洋工程装备重点实验室",
    "平台联系人": "王老师",
    "平台联系电话": "0532-86981234",
    "企业名称": "青岛海科智能装备有限公司",
    "统一社会信用代码": "91110000600037341L",
    "企业联系人": "李娜",
    "企业联系人手机": "13210876217",
    "共建项目名称": "海洋装备防腐涂层中试验证",
    "项目内容": "2025年4月与石油大学签约，共建防腐涂层中试线",
    "签约时间": "2025年4月18日",
    "最新进展": "已完成中试样机调试",
}
PRESSED = {
    "驻区高校/科研机构": "中国石油大学（华东）",
    "平台类型": "实验室",
    "所属功能区/镇街": "中德生态园",
    "项目状态": "在建",
}


def field_label(text: str) -> str | None:
    """'第3/16项 · 平台类型（选填）\\n...' -> '平台类型'; None when `text` asks no field."""
    for line in text.splitlines():
        if line.startswith("第") and " · " in line:
            return line.split(" · ", 1)[1].removesuffix("（选填）")
    return None


def credit_code(i: int) -> str:
    """A valid unified social credit code of the `i`-th invented enterprise (one per filing user, so each
    is its enterprise's first member rather than a pending one)."""
    from stdnum.cn import uscc

    body = f"91370211{i:09d}"
    return body + uscc.calc_check_digit(body)
