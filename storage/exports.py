"""Spreadsheet exports: 清单 per university, one package per enterprise, the 管理台账, the 榜单.

    result = await export(repo, by="university", quarter="2026Q4", fmt="xlsx", out=Path("out/"))

Kinds (`by`):
- university: one 《科创平台产学研结对共建项目清单》 per university (week 4: sent to each university);
- enterprise: one file per enterprise, all in ONE zip (week 3: "一个企业一个包，不用合并"); in xlsx
  each university the enterprise works with gets its own sheet, so its lists stay unmerged;
- ledger: the 管理台账, one workbook with sheet 台账 (every entry of every quarter, sorted by
  enterprise, project, quarter) and sheet 变更记录 (the change history);
- leaderboard: the week-6 榜单, sheets 高校榜 and 平台榜.

`out` (for `export`): a path ending in `.zip` packs every file into that zip; anything else is a
directory (created) that receives the files (for `enterprise`, the one zip). With no entries nothing
is written and `paths` is empty, so callers can say so instead of sending an empty file.

The command line's `--out` is stricter, because a person typed it (`plan_output` + `export_to`):
- an existing directory receives the files (for `enterprise`, its one zip);
- `NAME.zip` becomes exactly that zip (several files packed; `enterprise`'s zip as it is);
- `NAME.xlsx` / `NAME.csv` becomes exactly that file; the extension must match the format, and an
  export that produces several files (CSV 台账 or 榜单, several universities) is refused;
- an existing file is never replaced without `force`; a missing parent directory, a path without a
  known extension, or a directory that cannot be written is an ExportError with one Chinese line.
The files are written into a temporary directory beside the target and moved into place at the end,
so a failed export leaves nothing half-written at the target.

Formula injection: a text cell starting with = + - @ TAB or CR is neutralised. In xlsx the text is
kept unchanged and the cell gets quotePrefix: Excel and WPS show it as text, never evaluate it, and
keep it text when someone edits the cell; the value itself stays exact. CSV has no cell types, so
there the value gets a leading apostrophe (the OWASP recommendation). Identifiers (credit code,
phones) are text cells with number format '@' so Excel never turns 18 digits into 9.1E+17; CSV
cannot express that, which is why xlsx is the default.

Blocking work (spreadsheet writing, the sort spool) runs in worker threads in batches, so the
event loop stays responsive while a Telegram handler exports.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import logging
import os
import pickle
import re
import shutil
import sqlite3
import tempfile
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import IO, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from policies import records as r
from policies.cycle import QuarterError, parse_quarter, previous_quarter
from policies.leaderboard import CataloguePlatform, Leaderboard, PairKey, Ranked, Tally, pair_key
from policies.ports import Repository
from policies.records import Entry, EntryChange
from storage.xlsx import DATE, DATETIME, FORMULA_TRIGGERS, GENERAL, TEXT, ColumnFormat, XlsxWriter

logger = logging.getLogger(__name__)

ExportKind = Literal["university", "enterprise", "ledger", "leaderboard"]
ExportFormat = Literal["xlsx", "csv"]
KINDS: tuple[str, ...] = ("university", "enterprise", "ledger", "leaderboard")

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
BATCH = 2000
LIST_TITLE = "结对共建项目清单"
LEDGER_TITLE = "结对共建项目管理台账"
ALL_QUARTERS = "全部季度"


class ExportError(Exception):
    """The export cannot be produced as asked (bad arguments, inconsistent input order)."""


@dataclass(frozen=True)
class ExportResult:
    paths: list[Path]
    rows: int  # data rows written (entries; leaderboard: entries ranked)
    groups: int = 0  # universities / enterprises / ranked universities
    history_rows: int = 0  # ledger: rows of 变更记录


# --- the column spec: the 清单's column order; a new form field is one line here ------------------

Kind = Literal["text", "id", "list", "date", "datetime", "int"]


@dataclass(frozen=True)
class Column:
    """A column of the 清单. `source` is an Entry attribute or else a key of `Entry.fields`."""

    header: str
    source: str
    width: float = 14
    kind: Kind = "text"


COLUMNS: tuple[Column, ...] = (
    Column("季度", "quarter", 9),
    Column("高校/科研机构", r.F_UNIVERSITY, 22),
    Column("科创平台名称", r.F_PLATFORM_NAME, 26),
    Column("平台类型", r.F_PLATFORM_TYPE, 14),
    Column("平台联系人", "platform_contact", 11),
    Column("平台联系电话", "platform_phone", 15, "id"),
    Column("企业名称", r.F_ENTERPRISE_NAME, 28),
    Column("统一社会信用代码", r.F_CREDIT_CODE, 21, "id"),
    Column("企业联系人", r.F_ENTERPRISE_CONTACT, 11),
    Column("企业联系电话", r.F_ENTERPRISE_PHONE, 15, "id"),
    Column("所属功能区/镇街", r.F_DISTRICT, 16),
    Column("结对共建项目名称", r.F_PROJECT_NAME, 28),
    Column("共建内容", "cooperation_forms", 24, "list"),
    Column("项目内容", "project_content", 40),
    Column("签约时间", r.F_SIGNED_ON, 12, "date"),
    Column("项目状态", r.F_STATUS, 10),
    Column("最新进展", r.F_PROGRESS, 40),
    Column("填报时间", "created_at", 17, "datetime"),
    Column("更新时间", "updated_at", 17, "datetime"),
    Column("平台确认", "platform_check_label", 12),  # a university's check on the dashboard
)
SEQ = Column("序号", "", 6, "int")
ENTRY_ID = Column("记录编号", "id", 10, "int")
ORIGIN_ID = Column("延续自记录编号", "origin_id", 14, "int")
LIST_COLUMNS: tuple[Column, ...] = (SEQ, *COLUMNS)
LEDGER_COLUMNS: tuple[Column, ...] = (SEQ, ENTRY_ID, *COLUMNS, ORIGIN_ID)

# Field id -> Chinese label, for 变更记录 (form fields not exported fall back to their id).
FIELD_LABELS: dict[str, str] = {c.source: c.header for c in COLUMNS}

HISTORY_COLUMNS: tuple[Column, ...] = (
    SEQ,
    ENTRY_ID,
    Column("季度", "quarter", 9),
    Column("企业名称", "enterprise_name", 28),
    Column("结对共建项目名称", "project_name", 28),
    Column("修改字段", "field", 16),
    Column("原值", "old", 30),
    Column("新值", "new", 30),
    Column("修改人", "changed_by", 14, "id"),
    Column("修改时间", "changed_at", 17, "datetime"),
)
UNIVERSITY_BOARD_COLUMNS: tuple[Column, ...] = (
    Column("排名", "rank", 6, "int"),
    Column("高校/科研机构", "name", 24),
    Column("新增结对", "new", 10, "int"),
    Column("已签约项目", "signed", 11, "int"),
    Column("进展更新", "updated", 10, "int"),
    Column("项目总数", "entries", 10, "int"),
    Column("贡献度", "score", 9, "int"),
)
PLATFORM_BOARD_COLUMNS: tuple[Column, ...] = (
    *UNIVERSITY_BOARD_COLUMNS[:1],
    Column("科创平台名称", "name", 28),
    Column("高校/科研机构", "university", 24),
    *UNIVERSITY_BOARD_COLUMNS[2:],
)

_ENTRY_ATTRS = frozenset(
    {"id", "quarter", "university", "enterprise_name", "credit_code", "platform_name", "project_name",
     "status", "created_at", "updated_at", "origin_id", "platform_check_label"}
)  # fmt: skip
_STYLE = {"text": GENERAL, "id": TEXT, "list": GENERAL, "date": DATE, "datetime": DATETIME, "int": GENERAL}


def local_time(value: dt.datetime | None) -> dt.datetime | None:
    """Storage times are aware UTC; spreadsheets carry no zone, so show Beijing time to the minute."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return value.replace(second=0, microsecond=0)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value if v not in (None, ""))
    return str(value).strip()


def _as_date(value: Any) -> dt.date | str:
    if isinstance(value, dt.date):
        return value
    text = _as_text(value)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text  # an unparsable date is still shown, as text


def _converter(kind: Kind) -> Callable[[Any], Any]:
    if kind == "date":
        return _as_date
    if kind == "datetime":
        return local_time
    if kind == "int":
        return lambda v: v
    return _as_text


def _getter(column: Column) -> Callable[[Any], Any]:
    """Read one column's value from an Entry; plain strings (the common case) skip conversion."""
    convert = _converter(column.kind)
    source = column.source
    if column.kind in ("text", "id"):
        if source in _ENTRY_ATTRS:
            read = attrgetter(source)

            def get_attr_text(e: Entry) -> Any:
                v = read(e)
                return v if v.__class__ is str else convert(v)

            return get_attr_text

        def get_field_text(e: Entry) -> Any:
            v = e.fields.get(source)
            return v if v.__class__ is str else convert(v)

        return get_field_text
    if source in _ENTRY_ATTRS:
        return lambda e: convert(getattr(e, source))
    return lambda e: convert(e.fields.get(source))


_LIST_GETTERS = [_getter(c) for c in COLUMNS]
_LEDGER_TAIL = _getter(ORIGIN_ID)


def entry_row(entry: Entry, seq: int) -> list[Any]:
    """One 清单 row as Python values (dates as dates), in LIST_COLUMNS order."""
    return [seq] + [g(entry) for g in _LIST_GETTERS]


def ledger_row(entry: Entry, seq: int) -> list[Any]:
    return [seq, entry.id] + [g(entry) for g in _LIST_GETTERS] + [_LEDGER_TAIL(entry)]


# --- sinks: one xlsx workbook with several sheets, or one csv file per sheet ---------------------


def neutralise_csv(value: str) -> str:
    """Prefix an apostrophe so a spreadsheet opening the CSV shows text, not a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise_csv(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class Sheet(Protocol):
    rows: int

    def append_rows(self, rows: Iterable[Sequence[Any]]) -> None: ...


class _CsvSheet:
    def __init__(self, path: Path, columns: Sequence[Column]):
        self.path = path
        self.rows = 0
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)  # default dialect: CRLF line ends, Excel quoting
        self._writer.writerow([c.header for c in columns])

    def append_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self._writer.writerow([_csv_value(v) for v in row])
            self.rows += 1

    def close(self) -> None:
        self._file.close()


class Book:
    """One logical workbook: an xlsx file with sheets, or (csv) one file per sheet."""

    def __init__(
        self,
        directory: Path,
        stem: str,
        fmt: ExportFormat,
        *,
        csv_sheet_suffix: bool = False,
        taken: set[str] | None = None,
    ):
        self.fmt = fmt
        self.paths: list[Path] = []
        self._dir, self._stem, self._suffix = directory, stem, csv_sheet_suffix
        self._taken = set() if taken is None else taken
        self._xlsx: XlsxWriter | None = None
        self._csv: _CsvSheet | None = None
        if fmt == "xlsx":
            path = unique_path(directory / f"{stem}.xlsx", self._taken)
            self._xlsx = XlsxWriter(path)
            self.paths.append(path)

    def add_sheet(self, title: str, columns: Sequence[Column]) -> Sheet:
        if self._xlsx is not None:
            formats = [ColumnFormat(c.header, c.width, _STYLE[c.kind]) for c in columns]
            return self._xlsx.add_sheet(title, formats)
        if self._csv is not None:
            self._csv.close()
        name = f"{self._stem}_{safe_filename(title)}" if self._suffix else self._stem
        path = unique_path(self._dir / f"{name}.csv", self._taken)
        self._csv = _CsvSheet(path, columns)
        self.paths.append(path)
        return self._csv

    def close(self) -> None:
        if self._xlsx is not None:
            self._xlsx.close()
        if self._csv is not None:
            self._csv.close()


# --- file names and the output location --------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_filename(name: str, max_chars: int = 60) -> str:
    """A name every OS and zip tool accepts; keeps Chinese and full-width （）."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().strip(".") or "未命名"
    return name[:max_chars]


def unique_path(path: Path, taken: set[str]) -> Path:
    """`path`, or `name_2.ext`, ... when two groups of one export sanitise to the same file name
    (compared case-blind, as Windows and macOS do). Files of an earlier run are overwritten."""
    candidate, n = path, 2
    while candidate.name.casefold() in taken:
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1
    taken.add(candidate.name.casefold())
    return candidate


def quarter_label(quarter: str | None) -> str:
    return quarter or ALL_QUARTERS


def bundle(paths: Sequence[Path], zip_path: Path) -> Path:
    """Pack files into one zip (UTF-8 names; xlsx are already compressed, csv get deflated)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in paths:
            method = zipfile.ZIP_STORED if path.suffix == ".xlsx" else zipfile.ZIP_DEFLATED
            zf.write(path, arcname=path.name, compress_type=method)
    return zip_path


@dataclass
class _Output:
    """Where files go: straight into a directory, or into a work directory then one zip."""

    out: Path
    default_zip: str | None = None  # always zip, under this name when `out` is a directory
    work: Path = field(init=False)
    zip_path: Path | None = field(init=False, default=None)
    taken: set[str] = field(init=False, default_factory=set)  # file names used by this export

    def __post_init__(self) -> None:
        if self.out.suffix.lower() == ".zip":
            self.zip_path = self.out
        elif self.default_zip is not None:
            self.zip_path = self.out / self.default_zip
        if self.zip_path is not None:
            self.zip_path.parent.mkdir(parents=True, exist_ok=True)
            self.work = Path(tempfile.mkdtemp(prefix="export-", dir=self.zip_path.parent))
        else:
            self.out.mkdir(parents=True, exist_ok=True)
            self.work = self.out

    def finish(self, files: list[Path]) -> list[Path]:
        try:
            if self.zip_path is None or not files:
                return files
            if self.zip_path.exists():
                self.zip_path.unlink()
            return [bundle(files, self.zip_path)]
        finally:
            if self.work != self.out:
                shutil.rmtree(self.work, ignore_errors=True)

    def abort(self) -> None:
        if self.work != self.out:
            shutil.rmtree(self.work, ignore_errors=True)


# --- a disk spool that re-sorts a stream with bounded memory --------------------------------------


class _Spool:
    """A temporary SQLite table: rows go in with a sort key, come back ordered. Thread-confined use
    (one call at a time, from whichever worker thread), hence check_same_thread=False."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="export-spool-")
        self._db = sqlite3.connect(Path(self._dir) / "spool.sqlite3", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE t (k1 TEXT, k2 TEXT, k3 TEXT, k4 TEXT, k5 INTEGER, v BLOB)")

    def put(self, rows: Iterable[tuple[str, str, str, str, int, Any]]) -> None:
        self._db.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
            ((a, b, c, d, e, pickle.dumps(v, pickle.HIGHEST_PROTOCOL)) for a, b, c, d, e, v in rows),
        )

    def ordered(self) -> Iterator[list[tuple[str, str, Any]]]:
        """Batches of (k1, k2, value) in key order."""
        cur = self._db.execute("SELECT k1, k2, v FROM t ORDER BY k1, k2, k3, k4, k5")
        while batch := cur.fetchmany(BATCH):
            yield [(a, b, pickle.loads(v)) for a, b, v in batch]

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class _HistorySpool(_Spool):
    """Changes plus each entry's (enterprise, project), joined in SQL at read time, so the ledger
    never keeps a per-entry map in memory. Ordered by enterprise, entry, time."""

    def __init__(self) -> None:
        super().__init__()
        self._db.execute("CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT, project TEXT)")
        self._db.execute("CREATE TABLE h (entry_id INTEGER, changed_at TEXT, seq INTEGER, v BLOB)")

    def put_names(self, entries: Iterable[Entry]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO n VALUES (?, ?, ?)",
            ((e.id, e.enterprise_name, e.project_name) for e in entries),
        )

    def put_changes(self, changes: Iterable[tuple[int, EntryChange]]) -> None:
        self._db.executemany(
            "INSERT INTO h VALUES (?, ?, ?, ?)",
            (
                (
                    c.entry_id,
                    c.changed_at.isoformat(),
                    seq,
                    pickle.dumps(_history_row(c), pickle.HIGHEST_PROTOCOL),
                )
                for seq, c in changes
            ),
        )

    def ordered(self) -> Iterator[list[tuple[str, str, Any]]]:
        cur = self._db.execute(
            "SELECT n.name, n.project, h.v FROM h LEFT JOIN n ON n.id = h.entry_id"
            " ORDER BY n.name, h.entry_id, h.changed_at, h.seq"
        )
        while batch := cur.fetchmany(BATCH):
            out = []
            for name, project, blob in batch:
                row = pickle.loads(blob)
                row[2:4] = [name or "", project or ""]
                out.append((name or "", "", row))
            yield out


async def _batches(items: AsyncIterator[Any], size: int = BATCH) -> AsyncIterator[list[Any]]:
    """Group a repository stream into lists; closes the stream (and its connection) on early exit."""
    batch: list[Any] = []
    try:
        async for item in items:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def _thread_batches(it: Iterator[list[Any]]) -> AsyncIterator[list[Any]]:
    """Pull each batch of a blocking iterator in a worker thread."""
    while (batch := await asyncio.to_thread(next, it, None)) is not None:
        yield batch


# --- the exports -------------------------------------------------------------------------------


async def export(
    repo: Repository,
    *,
    by: ExportKind,
    quarter: str | None,
    fmt: ExportFormat,
    out: Path,
) -> ExportResult:
    """Write the `by` export of `quarter` (None: every quarter) as `fmt` under `out` (see module doc)."""
    if by not in KINDS:
        raise ExportError(f"未知的导出方式 {by!r}，可选：{'、'.join(KINDS)}")
    if fmt not in ("xlsx", "csv"):
        raise ExportError(f"未知的文件格式 {fmt!r}，可选：xlsx、csv")
    if by == "leaderboard" and not quarter:
        raise ExportError("导出榜单需要指定季度，例如 --quarter 2026Q4")
    if quarter is not None:
        try:
            parse_quarter(quarter)
        except QuarterError:
            raise ExportError(f"季度 {quarter!r} 格式不对，应为 2026Q4 这样的形式") from None
    started = asyncio.get_running_loop().time()
    if by == "university":
        result = await _export_by_university(repo, quarter, fmt, Path(out))
    elif by == "enterprise":
        result = await _export_by_enterprise(repo, quarter, fmt, Path(out))
    elif by == "ledger":
        result = await _export_ledger(repo, quarter, fmt, Path(out))
    else:
        assert quarter is not None
        result = await _export_leaderboard(repo, quarter, fmt, Path(out))
    logger.info(
        "Exported %s %s as %s: %d rows, %d files in %.1f s",
        by, quarter_label(quarter), fmt, result.rows, len(result.paths),
        asyncio.get_running_loop().time() - started,
    )  # fmt: skip
    return result


async def _export_by_university(
    repo: Repository, quarter: str | None, fmt: ExportFormat, out: Path
) -> ExportResult:
    """Streams iter_entries (ordered by university) into one file per university."""
    output = await asyncio.to_thread(_Output, out)
    label = quarter_label(quarter)
    files: list[Path] = []
    seen: set[str] = set()
    book: Book | None = None
    sheet: Sheet | None = None
    current: str | None = None
    rows = 0
    try:
        async for batch in _batches(repo.iter_entries(quarter=quarter)):
            for university, run in groupby(batch, key=attrgetter("university")):
                if university != current and university in seen:
                    raise ExportError("iter_entries did not return the entries grouped by university")
                if university != current:
                    if book is not None:
                        await asyncio.to_thread(book.close)
                        files += book.paths
                    seen.add(university)
                    current = university
                    stem = f"{label}_{safe_filename(university)}_{LIST_TITLE}"
                    book = await asyncio.to_thread(partial(Book, output.work, stem, fmt, taken=output.taken))
                    sheet = await asyncio.to_thread(book.add_sheet, LIST_TITLE, LIST_COLUMNS)
                assert sheet is not None
                await asyncio.to_thread(_write_entries, sheet, list(run), entry_row)
            rows += len(batch)
        if book is not None:
            await asyncio.to_thread(book.close)
            files += book.paths
            book = None
    except BaseException:
        if book is not None:
            await asyncio.to_thread(book.close)
        await asyncio.to_thread(output.abort)
        raise
    paths = await asyncio.to_thread(output.finish, files)
    return ExportResult(paths, rows, groups=len(seen))


def _write_entries(sheet: Sheet, entries: Sequence[Entry], to_row: Callable[[Entry, int], list[Any]]) -> None:
    first = sheet.rows + 1
    sheet.append_rows(to_row(e, first + i) for i, e in enumerate(entries))


def _sort_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _enterprise_key(e: Entry) -> tuple[str, str, str, str, int, Any]:
    """Spool key and value: enterprise (credit code), university, quarter, platform + project, id."""
    code = _sort_text(e.credit_code).upper()
    project = _sort_text(e.platform_name) + "\x00" + _sort_text(e.project_name)
    row = entry_row(e, 0)[1:]
    return (code, _sort_text(e.university), e.quarter, project, e.id, (e.enterprise_name, e.university, row))


async def _export_by_enterprise(
    repo: Repository, quarter: str | None, fmt: ExportFormat, out: Path
) -> ExportResult:
    """Spool by (credit code, university), then one file per enterprise, all in one zip."""
    label = quarter_label(quarter)
    output = await asyncio.to_thread(_Output, out, f"{label}_按企业打包_{LIST_TITLE}.zip")
    spool = await asyncio.to_thread(_Spool)
    rows = 0
    try:
        async for batch in _batches(repo.iter_entries(quarter=quarter)):
            await asyncio.to_thread(spool.put, map(_enterprise_key, batch))
            rows += len(batch)
        files, enterprises = await asyncio.to_thread(_write_enterprise_files, spool, output, label, fmt)
    except BaseException:
        await asyncio.to_thread(output.abort)
        raise
    finally:
        await asyncio.to_thread(spool.close)
    paths = await asyncio.to_thread(output.finish, files)
    return ExportResult(paths, rows, groups=enterprises)


def _write_enterprise_files(
    spool: _Spool, output: _Output, label: str, fmt: ExportFormat
) -> tuple[list[Path], int]:
    """Blocking: one Book per enterprise; in xlsx one sheet per university (lists stay unmerged)."""
    files: list[Path] = []
    enterprises = 0
    book: Book | None = None
    sheet: Sheet | None = None
    code: str | None = None
    university: str | None = None
    try:
        for chunk in spool.ordered():
            for (run_code, run_university), run in groupby(chunk, key=itemgetter(0, 1)):
                items = [item[2] for item in run]
                name, uni_label, _ = items[0]
                if run_code != code:
                    if book is not None:
                        book.close()
                        files += book.paths
                    stem = f"{label}_{safe_filename(name, 40)}_{safe_filename(run_code, 24)}_{LIST_TITLE}"
                    book = Book(output.work, stem, fmt, taken=output.taken)
                    enterprises += 1
                    code, university, sheet = run_code, None, None
                assert book is not None
                if sheet is None or (fmt == "xlsx" and run_university != university):
                    sheet = book.add_sheet(uni_label or LIST_TITLE, LIST_COLUMNS)
                    university = run_university
                first = sheet.rows + 1
                sheet.append_rows([first + i, *row] for i, (_, _, row) in enumerate(items))
    finally:
        if book is not None:
            book.close()
            files += book.paths
    return files, enterprises


def _ledger_key(e: Entry) -> tuple[str, str, str, str, int, Any]:
    """Spool key and value: enterprise name, credit code, project, quarter, id -> the 台账 row."""
    code = _sort_text(e.credit_code).upper()
    key = (_sort_text(e.enterprise_name), code, _sort_text(e.project_name), e.quarter, e.id)
    return (*key, ledger_row(e, 0)[1:])


async def _export_ledger(repo: Repository, quarter: str | None, fmt: ExportFormat, out: Path) -> ExportResult:
    """台账 (entries by enterprise, project, quarter) + 变更记录, through one spool each."""
    label = quarter_label(quarter)
    output = await asyncio.to_thread(_Output, out)
    entries_spool = await asyncio.to_thread(_Spool)
    history_spool = await asyncio.to_thread(_HistorySpool)
    rows = history_rows = 0
    try:
        async for batch in _batches(repo.iter_entries(quarter=quarter)):
            await asyncio.to_thread(_spool_ledger_batch, entries_spool, history_spool, batch)
            rows += len(batch)
        if not rows:
            await asyncio.to_thread(output.abort)
            return ExportResult([], 0)
        async for batch in _batches(repo.iter_history()):
            changes = [c for c in batch if quarter is None or c.quarter == quarter]
            numbered = list(enumerate(changes, history_rows))
            await asyncio.to_thread(history_spool.put_changes, numbered)
            history_rows += len(changes)
        stem = f"{label}_{LEDGER_TITLE}"
        files = await asyncio.to_thread(_write_ledger, entries_spool, history_spool, output.work, stem, fmt)
    except BaseException:
        await asyncio.to_thread(output.abort)
        raise
    finally:
        await asyncio.to_thread(entries_spool.close)
        await asyncio.to_thread(history_spool.close)
    paths = await asyncio.to_thread(output.finish, files)
    return ExportResult(paths, rows, groups=1, history_rows=history_rows)


def _spool_ledger_batch(entries: _Spool, history: _HistorySpool, batch: list[Entry]) -> None:
    entries.put(map(_ledger_key, batch))
    history.put_names(batch)


def _write_ledger(entries: _Spool, history: _Spool, work: Path, stem: str, fmt: ExportFormat) -> list[Path]:
    """Blocking: the 台账 and 变更记录 sheets, each numbered from 1."""
    book = Book(work, stem, fmt, csv_sheet_suffix=True)
    try:
        for title, columns, spool in (
            ("台账", LEDGER_COLUMNS, entries),
            ("变更记录", HISTORY_COLUMNS, history),
        ):
            sheet = book.add_sheet(title, columns)
            for chunk in spool.ordered():
                first = sheet.rows + 1
                sheet.append_rows([first + i, *row] for i, (_, _, row) in enumerate(chunk))
    finally:
        book.close()
    return book.paths


def _history_row(change: EntryChange) -> list[Any]:
    """A 变更记录 row without its 序号; enterprise and project (indices 2, 3) are filled on reading."""
    return [
        change.entry_id,
        change.quarter,
        "",
        "",
        FIELD_LABELS.get(change.field, change.field),
        change.old or "",
        change.new or "",
        str(change.changed_by),
        local_time(change.changed_at),
    ]


# --- the leaderboard -----------------------------------------------------------------------------


async def collect_leaderboard(repo: Repository, quarter: str) -> Leaderboard:
    """Stream `quarter`'s entries (plus the previous quarter's keys and this quarter's changes)
    into `policies.leaderboard.Tally`. This is what /leaderboard and the week-6 reminder show.
    Entries linked to the platform catalogue count for their catalogue platform."""
    previous = {pair_key(e) async for e in repo.iter_entries(quarter=previous_quarter(quarter))}
    changed = {c.entry_id async for c in repo.iter_history() if c.quarter == quarter}
    tally = Tally(quarter, previous, changed, await _catalogue(repo))
    async for entry in repo.iter_entries(quarter=quarter):
        tally.add(entry)
    return tally.result()


async def collect_trend(repo: Repository, quarters: Sequence[str]) -> list[Leaderboard]:
    """The leaderboard of each of `quarters` (the contribution trend), in two passes over the entries
    and one over the history instead of three per quarter."""
    wanted = set(quarters)
    before = {previous_quarter(q): q for q in quarters}
    previous: dict[str, set[PairKey]] = {q: set() for q in quarters}
    async for entry in repo.iter_entries():
        if entry.quarter in before:
            previous[before[entry.quarter]].add(pair_key(entry))
    changed: dict[str, set[int]] = {q: set() for q in quarters}
    async for change in repo.iter_history():
        if change.quarter in wanted:
            changed[change.quarter].add(change.entry_id)
    catalogue = await _catalogue(repo)
    tallies = {q: Tally(q, previous[q], changed[q], catalogue) for q in quarters}
    async for entry in repo.iter_entries():
        tally = tallies.get(entry.quarter)
        if tally is not None:
            tally.add(entry)
    return [tallies[q].result() for q in quarters]


async def _catalogue(repo: Repository) -> dict[int, CataloguePlatform]:
    """platform id -> catalogue platform, when the repository has a catalogue (`SqlRepository` does)."""
    read = getattr(repo, "catalogue_platforms", None)
    return dict(await read()) if read is not None else {}


def _board_row(ranked: Ranked, columns: Sequence[Column]) -> list[Any]:
    item = ranked.item
    values = {"rank": ranked.rank, "score": item.score}
    return [values[c.source] if c.source in values else getattr(item, c.source) for c in columns]


def _write_board(board: Leaderboard, fmt: ExportFormat, directory: Path) -> list[Path]:
    book = Book(
        directory, f"{board.quarter}_科创平台产学研结对共建新成果和贡献度榜单", fmt, csv_sheet_suffix=True
    )
    try:
        for title, ranked, columns in (
            ("高校榜", board.universities, UNIVERSITY_BOARD_COLUMNS),
            ("平台榜", board.platforms, PLATFORM_BOARD_COLUMNS),
        ):
            sheet = book.add_sheet(title, columns)
            sheet.append_rows(_board_row(x, columns) for x in ranked)
    finally:
        book.close()
    return book.paths


async def _export_leaderboard(repo: Repository, quarter: str, fmt: ExportFormat, out: Path) -> ExportResult:
    board = await collect_leaderboard(repo, quarter)
    if not board.entries:
        return ExportResult([], 0)
    output = await asyncio.to_thread(_Output, out)
    try:
        files = await asyncio.to_thread(_write_board, board, fmt, output.work)
    except BaseException:
        await asyncio.to_thread(output.abort)
        raise
    paths = await asyncio.to_thread(output.finish, files)
    return ExportResult(paths, board.entries, groups=len(board.universities))


# --- the command line's --out --------------------------------------------------------------------

OutputMode = Literal["file", "zip", "dir"]

# Exports whose number of files is known before running them (university: one per university).
_FIXED_FILES: dict[tuple[str, str], tuple[int, str]] = {
    ("ledger", "csv"): (2, "CSV 格式的台账有 2 个文件（台账、变更记录）"),
    ("leaderboard", "csv"): (2, "CSV 格式的榜单有 2 个文件（高校榜、平台榜）"),
}
_MANY_FILES_HINT = "--out 请用 .zip 文件路径（打包）或已有目录"


@dataclass(frozen=True)
class OutputPlan:
    """Where a command-line export ends up: exactly `path` (file or zip), or inside directory `path`."""

    path: Path
    mode: OutputMode
    force: bool = False


def plan_output(out: Path, *, by: str, fmt: str, force: bool = False) -> OutputPlan:
    """Check `--out` before any work is done; ExportError (one Chinese line) when it cannot work."""
    out = Path(out)
    if out.is_dir():
        _check_writable(out)
        return OutputPlan(out, "dir", force)
    suffix = out.suffix.lower()
    if suffix == ".zip":
        mode: OutputMode = "zip"
    elif suffix == f".{fmt}":
        if by == "enterprise":
            raise ExportError(f"按企业导出是每家企业一个文件、打包成一个 zip：{_MANY_FILES_HINT}")
        if (by, fmt) in _FIXED_FILES:
            raise ExportError(f"{_FIXED_FILES[by, fmt][1]}：{_MANY_FILES_HINT}")
        mode = "file"
    elif out.exists():
        raise ExportError(f"{out} 已存在且不是目录：请给出已有目录，或 .{fmt} / .zip 文件路径")
    elif suffix in (".xlsx", ".csv"):
        raise ExportError(f"--out {out} 的扩展名 {suffix} 与 --format {fmt} 不符：请改用 .{fmt} 或 .zip")
    elif suffix:
        raise ExportError(
            f"--out {out} 的扩展名 {suffix} 不对：单个文件用 .{fmt}，多个文件用 .zip，或给出已有目录"
        )
    else:
        raise ExportError(f"目录 {out} 不存在：请先创建（mkdir -p {out}），或给出 .{fmt} / .zip 文件路径")
    parent = out.parent
    if not parent.exists():
        raise ExportError(f"目录 {parent} 不存在：请先创建它，或换一个 --out 路径")
    if not parent.is_dir():
        raise ExportError(f"{parent} 不是目录：请换一个 --out 路径")
    _check_writable(parent)
    if (out.exists() or out.is_symlink()) and not force:
        raise ExportError(f"{out} 已存在：加 --force 覆盖它，或换一个 --out 路径")
    return OutputPlan(out, mode, force)


def _check_writable(directory: Path) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ExportError(f"没有权限在目录 {directory} 中写入文件")


async def export_to(
    repo: Repository, plan: OutputPlan, *, by: ExportKind, quarter: str | None, fmt: ExportFormat
) -> ExportResult:
    """`export` into a temporary directory beside the target, then move the result into place."""
    target_dir = plan.path if plan.mode == "dir" else plan.path.parent
    try:
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=".export-", dir=target_dir))
    except OSError as exc:
        raise ExportError(_os_error_text(exc, target_dir)) from None
    try:
        result = await export(repo, by=by, quarter=quarter, fmt=fmt, out=work)
        if not result.paths:
            return result
        paths = await asyncio.to_thread(_place, result.paths, plan, work)
    except OSError as exc:
        raise ExportError(_os_error_text(exc, target_dir)) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
    return dataclasses.replace(result, paths=paths)


def _place(files: list[Path], plan: OutputPlan, work: Path) -> list[Path]:
    """Blocking: move the finished files from `work` to where `plan` says (checked again for races)."""
    if plan.mode == "file":
        if len(files) != 1:
            raise ExportError(f"此导出生成了 {len(files)} 个文件，不能写成一个文件：{_MANY_FILES_HINT}")
        return [_move(files[0], plan.path, plan.force)]
    if plan.mode == "zip":
        single_zip = len(files) == 1 and files[0].suffix.lower() == ".zip"
        source = files[0] if single_zip else bundle(files, work / ".bundle" / plan.path.name)
        return [_move(source, plan.path, plan.force)]
    targets = [(f, plan.path / f.name) for f in files]
    existing = [t for _, t in targets if t.exists() or t.is_symlink()]
    if existing and not plan.force:
        more = f"等 {len(existing)} 个文件" if len(existing) > 1 else ""
        raise ExportError(f"{existing[0]}{more}已存在：加 --force 覆盖，或换一个目录")
    return [_move(f, t, plan.force) for f, t in targets]


def _move(source: Path, target: Path, force: bool) -> Path:
    if target.is_dir():
        raise ExportError(f"{target} 是一个目录，不能用文件覆盖它")
    if (target.exists() or target.is_symlink()) and not force:
        raise ExportError(f"{target} 已存在：加 --force 覆盖它，或换一个 --out 路径")
    os.replace(source, target)
    return target


def _os_error_text(exc: OSError, directory: Path) -> str:
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, PermissionError):
        return f"没有权限在目录 {directory} 中写入文件（{reason}）"
    where = exc.filename or directory
    return f"写入 {where} 失败：{reason}"
