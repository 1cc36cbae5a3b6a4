"""Reading import files: `.xlsx` and `.csv` sheets with Chinese column headers.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

from .input_rules import row_problems

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv"}


@dataclass(frozen=True)
class RowError:
    """Why one row (by its spreadsheet row number) cannot be imported."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


@dataclass(frozen=True)
class RowWarning:
    """Something worth a look in an imported row that does not stop the import (e.g. a grid-size norm)."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


class ImportFailed(Exception):
    """The file cannot be imported; nothing was written. `errors` lists every bad row, when rows were read."""

    def __init__(self, message: str, errors: Sequence[RowError] = ()):
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def for_rows(cls, errors: Sequence[RowError]) -> ImportFailed:
        bad_rows = len({error.row for error in errors})
        return cls(f"导入失败：共 {bad_rows} 行有误，未导入任何数据。", sorted(errors, key=lambda error: error.row))


@dataclass(frozen=True)
class Row:
    """One data row: stripped cell text keyed by column header, and its spreadsheet row number."""

    number: int
    cells: dict[str, str]

    def __getitem__(self, header: str) -> str:
        return self.cells.get(header, "")

    def get(self, header: str, default: str = "") -> str:
        return self.cells.get(header, default)


@dataclass
class ImportResult:
    """What an import did: how many records it created, updated and left as they were, and its warnings."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[RowWarning] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


def read_table(path: str | Path, *, required: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    """The data rows of an `.xlsx` (first sheet) or `.csv` file, blank rows skipped.

    Columns named in `required` must be present; `optional` columns read as "" when absent.
    Other columns are kept as they are, so a sheet may carry notes (备注) the importer ignores.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"找不到文件“{path}”。")
    suffix = path.suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        raw_rows = _spreadsheet_rows(path)
    elif suffix in CSV_SUFFIXES:
        raw_rows = _csv_rows(path)
    elif suffix in {".xls", ".et", ".wps"}:
        raise ImportFailed(f"不支持“{suffix}”格式，请在 Excel/WPS 中另存为 .xlsx 或 .csv 后再导入。")
    else:
        raise ImportFailed(f"不支持的文件类型“{suffix or path.name}”，请使用 .xlsx 或 .csv 文件。")

    try:
        header_cells = next(raw_rows, None)
        if header_cells is None or not any(_cell_text(value) for value in header_cells):
            raise ImportFailed("文件为空或第 1 行不是表头：第 1 行应为列名，如 " + "、".join(required) + "。")
        headers = [_cell_text(value) for value in header_cells]
        _check_headers(headers, required)
        rows, errors = [], []
        for number, values in enumerate(raw_rows, start=2):
            texts = [_cell_text(value) for value in values]
            if not any(texts):
                continue
            cells = {header: "" for header in optional}
            for index, header in enumerate(headers):
                if header:
                    cells[header] = texts[index] if index < len(texts) else ""
            errors.extend(RowError(number, problem) for problem in row_problems(cells))
            rows.append(Row(number, cells))
    except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFailed(f"无法读取文件“{path.name}”：文件已损坏或格式不正确（{exc}）。") from exc
    finally:
        raw_rows.close()
    if errors:
        raise ImportFailed.for_rows(errors)
    return rows


def _check_headers(headers: list[str], required: Sequence[str]) -> None:
    seen = set()
    for header in headers:
        if header and header in seen:
            raise ImportFailed(f"表头中“{header}”列出现了不止一次。")
        seen.add(header)
    missing = [name for name in required if name not in seen]
    if missing:
        found = "、".join(h for h in headers if h) or "无"
        raise ImportFailed(f"缺少必需的列：{'、'.join(missing)}（第 1 行现有的列：{found}）。")


def _spreadsheet_rows(path: Path) -> Iterator[Sequence[object]]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFailed(f"无法读取文件“{path.name}”：不是有效的 .xlsx 文件（{exc}）。") from exc
    return _sheet_values(workbook)


def _sheet_values(workbook) -> Iterator[Sequence[object]]:
    try:
        sheet = workbook.worksheets[0]
        # Files written by other tools often carry a wrong <dimension>; read what is really there.
        sheet.reset_dimensions()
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_rows(path: Path) -> Iterator[Sequence[object]]:
    text = _decode_csv(path.read_bytes(), path.name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    return _csv_records(text, delimiter)


def _csv_records(text: str, delimiter: str) -> Iterator[Sequence[object]]:
    # One record is one spreadsheet row, even when a quoted cell spans several lines.
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _decode_csv(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (a superset of
    GBK, which Excel and WPS in China use for "CSV")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: Iterable[str] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed(f"无法识别文件“{name}”的编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件。")


def _cell_text(value: object) -> str:
    """A cell as the text a user typed: 420.0 → "420", dates as YYYY-MM-DD, whitespace stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")  # Excel shows 15 significant digits: 0.1 + 0.2 is "0.3"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()
