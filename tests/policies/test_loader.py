"""The loader turns policy YAML into a PolicyBase, or fails with one line naming file, line and field."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from policies.loader import DEFAULT_DATA_DIR, load_policy_base
from policies.schema import PolicyError

DOCS = """\
documents:
  - id: doc-a
    title: 《甲文件》
    doc_number: 青科字〔2025〕5号
    date: 2025-03-06
"""

FAQ = """\
faq:
  - id: first
    topic: 第一个
    questions: [问题一, 问题二]
    answer: 答案一。
    source: doc-a
  - id: second
    topic: 第二个
    questions:
      - 问题三
    answer: 答案二。
    source: doc-a
    kind: deadline
"""


CYCLE = "cycle:\n" + "".join(
    f"  - {{week: {w}, title: 第{w}周, actors: [秘书处], action: 做事, source: doc-a}}\n" for w in range(1, 7)
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write(tmp_path, "documents.yaml", DOCS)
    write(tmp_path, "faq.yaml", FAQ)
    write(tmp_path, "cycle.yaml", CYCLE)
    return tmp_path


def load_error(directory: Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy_base(directory)
    return info.value


def test_valid_directory_loads(data_dir: Path) -> None:
    base = load_policy_base(data_dir)
    assert [f.id for f in base.faqs] == ["first", "second"]
    assert base.faqs[0].questions == ("问题一", "问题二")
    assert base.faqs[0].kind == "static"
    assert base.faqs[1].kind == "deadline"
    assert base.documents["doc-a"].date == dt.date(2025, 3, 6)
    assert base.citation("doc-a", "二、") == "来源：青科字〔2025〕5号《甲文件》 二、"


def test_form_yaml_is_not_read(data_dir: Path) -> None:
    write(data_dir, "form.yaml", "fields: [this is not policy data]\n")
    assert len(load_policy_base(data_dir).faqs) == 2


def test_strings_are_nfkc_normalised_and_stripped(data_dir: Path) -> None:
    write(
        data_dir,
        "extra.yaml",
        'faq:\n  - {id: x, topic: "  ＡＢＣ ", questions: [ｑ１], answer: 答, source: doc-a}\n',
    )
    entry = next(f for f in load_policy_base(data_dir).faqs if f.id == "x")
    assert (entry.topic, entry.questions) == ("ABC", ("q1",))


def test_yaml_syntax_error_names_file_and_line(data_dir: Path) -> None:
    write(data_dir, "faq.yaml", FAQ + "  - id: [broken\n    topic: x\n")
    err = load_error(data_dir)
    assert err.file.endswith("faq.yaml")
    assert err.line in (15, 16)  # libyaml reports where it noticed the missing bracket
    assert "YAML syntax error" in str(err)
    assert "\n" not in str(err)
    assert str(err).startswith(f"{err.file}:{err.line}: ")


def test_missing_field(data_dir: Path) -> None:
    write(data_dir, "faq.yaml", FAQ.replace("    answer: 答案二。\n", ""))
    err = load_error(data_dir)
    assert (err.file.endswith("faq.yaml"), err.line, err.field) == (True, 7, "faq[1].answer")
    assert str(err) == f"{err.file}:7: faq[1].answer: required field is missing"


def test_unknown_source(data_dir: Path) -> None:
    write(data_dir, "faq.yaml", FAQ.replace("source: doc-a\n    kind", "source: xyz\n    kind"))
    err = load_error(data_dir)
    assert str(err) == f"{err.file}:12: faq[1].source: unknown document 'xyz'"
    assert err.file.endswith("faq.yaml")


def test_unknown_source_in_another_file(data_dir: Path) -> None:
    write(
        data_dir,
        "subsidies.yaml",
        "subsidies:\n  - id: s\n    name: 补\n    amount: 1元\n    conditions: [无]\n    source: nope\n",
    )
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line, err.field) == ("subsidies.yaml", 6, "subsidies[0].source")


def test_duplicate_id_across_files(data_dir: Path) -> None:
    write(
        data_dir,
        "more.yaml",
        "faq:\n  - id: first\n    topic: 重复\n    questions: [重复吗]\n"
        "    answer: 是。\n    source: doc-a\n",
    )
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line, err.field) == ("more.yaml", 2, "faq[0].id")
    assert "duplicate id 'first'" in str(err)
    assert "faq.yaml:2" in str(err)  # where the first one is


@pytest.mark.parametrize(
    ("replace", "by", "line", "field", "message"),
    [
        ("questions: [问题一, 问题二]", "questions: 问题一", 4, "faq[0].questions", "expected a list"),
        ("answer: 答案一。", "answer: [答案一]", 5, "faq[0].answer", "expected a string"),
        ("kind: deadline", "kind: sometimes", 13, "faq[1].kind", "is not one of"),
        (
            "topic: 第一个",
            "topic: 这个话题标签实在是太长了超过了按钮能放下的长度",
            3,
            "faq[0].topic",
            "longer than 16",
        ),
        ("id: first", "id: 第一", 2, "faq[0].id", "does not match"),
        (
            "    source: doc-a\n  - id: second",
            "    source: doc-a\n    colour: red\n  - id: second",
            7,
            "faq[0].colour",
            "unknown key",
        ),
    ],
)
def test_wrong_type_or_value(
    data_dir: Path, replace: str, by: str, line: int, field: str, message: str
) -> None:
    assert replace in FAQ
    write(data_dir, "faq.yaml", FAQ.replace(replace, by, 1))
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line, err.field) == ("faq.yaml", line, field)
    assert message in str(err)
    assert "\n" not in str(err)


def test_invalid_date(data_dir: Path) -> None:
    write(data_dir, "documents.yaml", DOCS.replace("2025-03-06", "2025-02-30"))
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line, err.field) == ("documents.yaml", 5, "documents[0].date")


def test_cycle_weeks_loaded_in_order(data_dir: Path) -> None:
    write(data_dir, "cycle.yaml", CYCLE.replace("week: 1,", "week: 1, reminder_audience: university,"))
    base = load_policy_base(data_dir)
    assert [w.week for w in base.cycle] == [1, 2, 3, 4, 5, 6]
    assert base.cycle[0].reminder_audience == "university"


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("week: 6,", "week: 7,", 7, "must be <= 6"),
        ("week: 6,", "week: 5,", 7, "duplicate week 5"),
        ("week: 6,", "week: six,", 7, "expected an integer"),
        ("week: 2,", "week: 2, reminder_text: '{quartr}',", 3, "unknown placeholder {quartr}"),
    ],
)
def test_cycle_errors(data_dir: Path, old: str, new: str, line: int, message: str) -> None:
    write(data_dir, "cycle.yaml", CYCLE.replace(old, new))
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line) == ("cycle.yaml", line)
    assert message in str(err)


def test_top_level_must_be_known_sections(data_dir: Path) -> None:
    write(data_dir, "faq.yaml", "faqs:\n  - id: x\n")
    err = load_error(data_dir)
    assert (Path(err.file).name, err.line, err.field) == ("faq.yaml", 1, "faqs")
    assert "unknown section" in str(err)


def test_missing_directory_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy_base(tmp_path / "nowhere")


def test_secretariat_phone_comes_from_contacts(data_dir: Path) -> None:
    write(data_dir, "contacts.yaml", "contacts:\n  - {id: secretariat, name: 秘书处, phone: '10086'}\n")
    assert load_policy_base(data_dir).secretariat_phone == "10086"


def test_error_path_of_project_data_is_relative(tmp_path: Path) -> None:
    err = PolicyError("policies/data/faq.yaml", 123, "faq[17].source", "unknown document 'xyz'")
    assert str(err) == "policies/data/faq.yaml:123: faq[17].source: unknown document 'xyz'"
    assert isinstance(err, ValueError)


def test_real_data_loads() -> None:
    """Load time is a benchmark figure (bench/faq.py prints start-up), not a timed test."""
    base = load_policy_base(DEFAULT_DATA_DIR)
    assert len(base.faqs) >= 60


def test_missing_cycle_file_is_one_error_naming_it(data_dir: Path) -> None:
    (data_dir / "cycle.yaml").unlink()
    err = load_error(data_dir)
    assert Path(err.file).name == "cycle.yaml"
    assert "required file is missing" in str(err) and "\n" not in str(err)


def test_cycle_file_without_weeks_is_refused(data_dir: Path) -> None:
    write(data_dir, "cycle.yaml", "cycle: []\n")
    err = load_error(data_dir)
    assert (Path(err.file).name, err.field) == ("cycle.yaml", "cycle")
