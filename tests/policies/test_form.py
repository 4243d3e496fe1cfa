from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from policies.form import DEFAULT_PATH, STALE, FormSession, FormSpec, FormSpecError
from policies.replies import Reply

TODAY = dt.date(2026, 11, 24)
SPEC = FormSpec.load(DEFAULT_PATH)

# What a user types, field by field (form.yaml order).
TYPED = {
    "university": "中国石油大学（华东）",
    "platform_name": "山东省海洋工程装备重点实验室",
    "platform_type": "实验室",
    "platform_contact": "王老师",
    "platform_phone": "0532 8698 1234",
    "enterprise_name": "青岛海科智能装备有限公司",
    "credit_code": "91110000600037341l",
    "enterprise_contact": "李娜",
    "enterprise_phone": "13210876217",
    "district": "中德生态园",
    "project_name": "海洋装备防腐涂层中试验证",
    "cooperation_forms": "技术研发、中试验证",
    "project_content": "2025年4月与石油大学签约，共建防腐涂层中试线",
    "signed_on": "2025年4月18日",
    "status": "在建",
    "progress": "已完成中试样机调试",
}


def buttons(reply: Reply) -> list[tuple[str, str | None]]:
    return [(b.label, b.data) for row in reply.buttons for b in row]


def data_of(reply: Reply, label: str) -> str:
    for text, data in buttons(reply):
        if text == label or text.endswith(" " + label):
            assert data is not None
            return data
    raise AssertionError(f"no button {label!r} in {buttons(reply)}")


def type_until(session: FormSession, stop: str | None = None, **override: str) -> None:
    """Type answers until the current field is `stop` (or the summary)."""
    typed = {**TYPED, **override}
    for _ in range(40):
        if session.mode != "field" or session.current == stop:
            return
        assert session.current is not None
        step = session.answer_text(typed[session.current], TODAY)
        assert step.changed, step.replies[0].text
    raise AssertionError("form did not finish")


def test_real_form_loads_in_the_list_order() -> None:
    ids = [f.id for f in SPEC.fields]
    assert ids[:3] == ["university", "platform_name", "platform_type"]
    assert ids[-3:] == ["signed_on", "status", "progress"]
    assert {f.id for f in SPEC.profile_fields} == {
        "enterprise_name",
        "credit_code",
        "enterprise_contact",
        "enterprise_phone",
        "district",
    }
    assert "中国石油大学（华东）" in SPEC["university"].choices and SPEC["university"].allow_other


def test_every_button_fits_telegram_callback_limit() -> None:
    session = FormSession.new(SPEC)
    type_until(session)
    replies = [session.prompt()]
    for f in SPEC.fields:
        session.press(f"f:edit:{f.id}")
        replies.append(session.prompt())
        session.press("f:back")
    for reply in replies:
        for _, data in buttons(reply):
            assert data is not None and len(data.encode()) <= 64


def test_prompt_shows_progress_and_nav_buttons() -> None:
    session = FormSession.new(SPEC)
    first = session.prompt()
    assert first.text.startswith("第1/16项 · 驻区高校/科研机构")
    assert "例如" in first.text
    labels = [label for label, _ in buttons(first)]
    assert "⬅️ 上一步" in labels and "取消" in labels and "跳过" not in labels  # required
    session.answer_text(TYPED["university"], TODAY)
    assert session.prompt().text.startswith("第2/16项 · 科创平台名称")


def test_happy_path_typed_reaches_summary_with_normalised_values() -> None:
    session = FormSession.new(SPEC)
    type_until(session)
    assert session.mode == "summary" and session.complete
    answers = session.final_answers()
    assert answers["credit_code"] == "91110000600037341L"
    assert answers["platform_phone"] == "0532-86981234"
    assert answers["signed_on"] == "2025-04-18"
    assert answers["cooperation_forms"] == ["技术研发", "中试验证"]
    summary = session.prompt()
    assert "16. 最新进展：已完成中试样机调试" in summary.text
    assert sum(1 for label, _ in buttons(summary) if label.startswith("修改 ")) == 16
    assert data_of(summary, "✅ 提交") == "f:submit"


def test_invalid_answer_is_refused_with_specific_message_and_reasked() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="credit_code")
    step = session.answer_text("91110000600037341A", TODAY)
    assert not step.changed
    assert "校验位不正确" in step.replies[0].text
    assert "统一社会信用代码" in step.replies[0].text  # the question again
    assert session.current == "credit_code"


def test_back_goes_to_previous_field_and_then_continues_where_needed() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="platform_type")
    step = session.press("f:back")
    assert session.current == "platform_name"
    assert "当前：山东省海洋工程装备重点实验室" in step.replies[0].text
    session.press("f:back")
    assert session.current == "university"
    step = session.press("f:back")
    assert "已经是第一项了" in step.replies[0].text and not step.changed
    session.answer_text("山东科技大学", TODAY)
    assert session.current == "platform_type"  # platform_name is still answered
    assert session.answers["university"] == "山东科技大学"


def test_skip_only_for_optional_fields() -> None:
    session = FormSession.new(SPEC)
    step = session.press("f:skip:university")
    assert "不能跳过" in step.replies[0].text and session.current == "university"
    type_until(session, stop="progress")
    assert data_of(session.prompt(), "跳过") == "f:skip:progress"
    session.press("f:skip:progress")
    assert session.mode == "summary" and "progress" not in session.final_answers()


def test_signed_on_optional_until_status_requires_it() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="signed_on")
    assert "（选填）" in session.prompt().text  # status unknown yet: 意向/洽谈中 may skip
    session.press("f:skip:signed_on")
    assert session.current == "status"
    session.press(f"f:c:{SPEC['status'].choices.index('已签约')}:status")
    assert session.current == "signed_on"
    prompt = session.prompt()
    assert "此项为必填" in prompt.text and "跳过" not in [label for label, _ in buttons(prompt)]
    session.answer_text("2025.4.18", TODAY)
    assert session.current == "progress"


def test_status_intent_needs_no_date_and_no_progress() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="signed_on")
    session.answer_text("跳过", TODAY)
    session.answer_text("意向", TODAY)
    assert session.mode == "summary"
    assert "signed_on" not in session.final_answers() and "progress" not in session.final_answers()
    assert "15. 项目状态：意向" in session.prompt().text


def test_multi_select_toggles_and_done() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="cooperation_forms")
    choices = SPEC["cooperation_forms"].choices
    session.press("f:t:0:cooperation_forms")
    session.press("f:t:2:cooperation_forms")
    step = session.press("f:t:0:cooperation_forms")
    assert step.changed
    labels = [label for label, _ in buttons(step.replies[0])]
    assert f"☐ {choices[0]}" in labels and f"☑ {choices[2]}" in labels
    session.press("f:done:cooperation_forms")
    assert session.answers["cooperation_forms"] == [choices[2]]
    assert session.current == "project_content"


def test_multi_done_with_nothing_selected_is_refused() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="cooperation_forms")
    step = session.press("f:done:cooperation_forms")
    assert "至少选择一项" in step.replies[0].text and session.current == "cooperation_forms"


def test_multi_with_other_asks_for_text() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="cooperation_forms")
    choices = SPEC["cooperation_forms"].choices
    session.press("f:t:1:cooperation_forms")
    session.press(f"f:t:{choices.index('其他')}:cooperation_forms")
    session.press("f:done:cooperation_forms")
    assert session.mode == "other"
    assert "请输入共建形式（其他）" in session.prompt().text
    session.answer_text("共建联合实验室", TODAY)
    assert session.answers["cooperation_forms"] == [choices[1], "共建联合实验室"]


def test_choice_other_sub_step_and_back_from_it() -> None:
    session = FormSession.new(SPEC)
    other = SPEC["university"].choices.index("其他")
    session.press(f"f:c:{other}:university")
    assert session.mode == "other"
    session.press("f:back")
    assert session.mode == "field" and session.current == "university"
    session.press(f"f:c:{other}:university")
    step = session.answer_text("  ", TODAY)
    assert "不能为空" in step.replies[0].text
    session.answer_text("青岛大学", TODAY)
    assert session.answers["university"] == "青岛大学" and session.current == "platform_name"


def test_stale_button_from_an_older_message_changes_nothing() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="platform_type")
    before = session.to_dict()
    step = session.press("f:c:1:university")
    assert STALE in step.replies[0].text and not step.changed
    assert session.to_dict() == before


def test_edit_from_summary_returns_to_summary() -> None:
    session = FormSession.new(SPEC)
    type_until(session)
    step = session.press("f:edit:platform_name")
    assert session.editing and "当前：山东省海洋工程装备重点实验室" in step.replies[0].text
    step = session.answer_text("海洋腐蚀与防护中心", TODAY)
    assert session.mode == "summary"
    assert "2. 科创平台名称：海洋腐蚀与防护中心" in step.replies[0].text
    session.press("f:edit:district")
    session.press("f:back")  # 上一步 while editing: back to the summary, value kept
    assert session.mode == "summary" and session.answers["district"] == "中德生态园"


def test_edit_status_asks_newly_required_fields_then_summary() -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop="signed_on")
    session.press("f:skip:signed_on")
    session.answer_text("意向", TODAY)
    assert session.mode == "summary"
    session.press("f:edit:status")
    session.answer_text("在建", TODAY)
    assert session.current == "signed_on"
    session.answer_text("20250418", TODAY)
    assert session.current == "progress"
    session.answer_text("已开工", TODAY)
    assert session.mode == "summary" and session.final_answers()["signed_on"] == "2025-04-18"


@pytest.mark.parametrize("stop", ["university", "cooperation_forms", "status"])
def test_round_trip_mid_form(stop: str) -> None:
    session = FormSession.new(SPEC)
    type_until(session, stop=stop)
    if stop == "cooperation_forms":
        session.press("f:t:3:cooperation_forms")
    restored = FormSession.from_dict(SPEC, json.loads(json.dumps(session.to_dict())))
    assert restored.to_dict() == session.to_dict()
    assert restored.prompt() == session.prompt()
    type_until(restored)
    assert restored.mode == "summary"


def test_round_trip_in_other_mode() -> None:
    session = FormSession.new(SPEC)
    session.press(f"f:c:{SPEC['university'].choices.index('其他')}:university")
    restored = FormSession.from_dict(SPEC, json.loads(json.dumps(session.to_dict())))
    restored.answer_text("青岛科技大学", TODAY)
    assert restored.answers["university"] == "青岛科技大学"


def test_restore_survives_a_changed_form() -> None:
    state = FormSession.new(SPEC).to_dict()
    state.update(current="removed_field", answers={"removed_field": "x", "university": "山东科技大学"})
    restored = FormSession.from_dict(SPEC, state)
    assert restored.current == "platform_name" and "removed_field" not in restored.answers


def test_profile_offer_prefills_enterprise_fields() -> None:
    offer = {"enterprise_name": "青岛海科智能装备有限公司", "credit_code": "91110000600037341L"}
    session = FormSession.new(SPEC, offer)
    assert (
        session.mode == "profile" and "使用上次的企业信息：青岛海科智能装备有限公司" in session.prompt().text
    )
    session.press("f:prof:y")
    type_until(session)
    assert session.final_answers()["credit_code"] == "91110000600037341L"
    assert "credit_code" not in session.history  # never asked

    declined = FormSession.new(SPEC, offer)
    declined.press("f:prof:n")
    type_until(declined, stop="credit_code")
    assert declined.current == "credit_code" and "credit_code" not in declined.answers


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "form.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            "  - id: a\n    label: A\n    prompt: p\n    type: colour\n",
            ":5: field 'a': unknown type 'colour'",
        ),
        ("  - id: a\n    label: A\n    prompt: p\n    type: text\n    colour: red\n", "unknown key 'colour'"),
        ("  - id: a\n    label: A\n    type: text\n", "field 'a': 'prompt' is required"),
        ("  - id: a\n    label: A\n    prompt: p\n    type: choice\n", "type choice needs 'choices'"),
        (
            "  - id: a\n    label: A\n    prompt: p\n    type: choice\n    choices: [x]\n"
            "    allow_other: true\n",
            "allow_other needs '其他'",
        ),
        (
            "  - id: a\n    label: A\n    prompt: p\n    type: text\n    when: {b: x}\n"
            "  - id: b\n    label: B\n    prompt: p\n    type: choice\n    choices: [x]\n",
            "'when' must refer to an earlier field",
        ),
        (
            "  - id: a\n    label: A\n    prompt: p\n    type: text\n  - id: a\n    label: A\n    prompt: p\n"
            "    type: text\n",
            ":6: field 'a': duplicate id",
        ),
        ("  - id: a\n    label: A\n    prompt: p\n    type: text\n    profile: true\n", "profile fields"),
    ],
)
def test_schema_errors_name_file_line_and_field(tmp_path: Path, body: str, fragment: str) -> None:
    path = write(tmp_path, "fields:\n" + body)
    with pytest.raises(FormSpecError) as err:
        FormSpec.load(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "fields:\n  - id: a\n    label: [unclosed\n")
    with pytest.raises(FormSpecError, match=r"form\.yaml:\d+: invalid YAML"):
        FormSpec.load(path)


def test_adding_a_field_is_a_yaml_change_only(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "  - id: project_name\n",
        "  - id: budget\n    label: 合作经费\n    prompt: 请输入合作经费（万元）。\n    type: text\n"
        "    required: false\n\n  - id: project_name\n",
    )
    spec = FormSpec.load(write(tmp_path, text))
    session = FormSession.new(spec)
    type_until(session, stop="budget")
    assert session.prompt().text.startswith("第11/17项 · 合作经费（选填）")
    session.answer_text("50", TODAY)
    type_until(session)
    assert session.final_answers()["budget"] == "50"
