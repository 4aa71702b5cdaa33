"""Reading registry and activity exports (CSV in UTF-8/BOM/GB18030, or xlsx) into raw frames.

Every cell comes back as a stripped string without control, bidi or zero-width characters (ids are
left as they are, to be validated); headers are mapped to the contract's English names and a repeated
one is refused; unknown columns are kept, missing optional ones read as empty; every sheet of a
workbook is read; lines with too few or too many fields are returned, not dropped.
"""
from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from core.schema import (ACTIVITY_COLUMNS, ACTIVITY_HEADERS_ZH, ACTIVITY_REQUIRED, REGISTRY_COLUMNS, REGISTRY_HEADERS_ZH,
                         REGISTRY_REQUIRED)

ENCODINGS = ("utf-8-sig", "gb18030")


class InputRejected(Exception):
    """A structural problem: the whole file cannot be used. The message says what to do."""


@dataclass
class RawTable:
    frame: pd.DataFrame  # all columns str; ``_row`` is the 1-based data row number in the file
    path: Path
    encoding: str
    sha256: str
    unparsable: list[dict] = field(default_factory=list)  # {"_row", "raw", "reason"}
    header_map: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # optional contract columns the file lacks (read as empty)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` when the whole file decodes as UTF-8, else ``gb18030`` (a superset of GBK).

    A hand-written check because statistical detectors guess wrong on short Chinese files;
    these two are the only encodings the contract allows, and strict decoding tells them apart.
    """
    for enc in ENCODINGS:
        try:
            with open(path, encoding=enc, errors="strict", newline="") as f:
                while f.read(1 << 20):
                    pass
            return enc
        except UnicodeDecodeError:
            continue
    raise InputRejected(f"{path}: 无法识别文件编码（既不是 UTF-8 也不是 GB18030/GBK）。请用 Excel “另存为 CSV UTF-8” 后重试。")


def _canonical_header(raw: str, zh: dict[str, str], english: list[str]) -> str:
    h = unicodedata.normalize("NFKC", str(raw)).strip().strip("\ufeff").strip()
    low = h.lower().replace(" ", "_")
    if low in english:
        return low
    if h in zh:
        return zh[h]
    # "组织ID(org_id)" / "org_id（组织ID）" / "组织名称 name"
    for part in re.split(r"[()（）\[\]\s/]+", h):
        p = part.strip()
        if p.lower() in english:
            return p.lower()
        if p in zh:
            return zh[p]
    return h


def _map_headers(columns, zh, english, where: str = "") -> dict[str, str]:
    mapping, seen = {}, {}
    for c in columns:
        name = _canonical_header(c, zh, english)
        if name in seen:
            raise InputRejected(f"{where}表头 “{c}” 与 “{seen[name]}” 都对应列 {name}（表头重复）："
                                "请删除其中一列后重新导出。")
        seen[name] = c
        mapping[c] = name
    return mapping


def _named(header: list[str]) -> list[str]:
    """Header cells, an empty one named by its position (a trailing comma must not read as a repeat)."""
    return [h if str(h).strip() else f"列{i}" for i, h in enumerate(header, start=1)]


def _read_header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding, newline="") as f:
        for row in csv.reader(f):
            if any(x.strip() for x in row):
                return _named(row)
    raise InputRejected(f"{path}: 文件是空的（至少需要一行表头）。")


def _read_csv(path: Path, encoding: str, header: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    # pyarrow reads in C and, unlike pandas, reports a line with too few fields instead of padding it
    bad_lines = []

    def invalid(row):
        bad_lines.append(row)
        return "skip"

    try:
        table = pcsv.read_csv(
            path, read_options=pcsv.ReadOptions(encoding="utf8" if encoding == "utf-8-sig" else encoding,
                                                 column_names=header, skip_rows=1),
            convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid))
    except pa.ArrowInvalid:
        bad_lines.append(None)
    if not bad_lines:
        frame = table.to_pandas()
        frame["_row"] = range(1, len(frame) + 1)
        return frame, []
    # Some lines have the wrong number of fields: keep the good ones, report the bad ones with their line.
    bad: list[dict] = []
    with open(path, encoding=encoding, newline="") as f:
        rows = list(csv.reader(f))
    while rows and not any(x.strip() for x in rows[0]):
        rows.pop(0)
    body = rows[1:]
    good, numbers = [], []
    for i, r in enumerate(body, start=1):
        if len(r) == len(header):
            good.append(r)
            numbers.append(i)
        elif not any(x.strip() for x in r):
            continue  # blank line: nothing to lose
        else:
            word = "少" if len(r) < len(header) else "多"
            bad.append({"_row": i, "raw": ",".join(r),
                        "reason": f"第 {i} 行有 {len(r)} 个字段，表头有 {len(header)} 列（字段{word}了：可能缺少引号、"
                                  "多了逗号或这一行被截断）"})
    frame = pd.DataFrame(good, columns=header, dtype=str)
    frame["_row"] = numbers
    return frame, bad


def _read_xlsx(path: Path, zh, english, required) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every non-empty sheet, stacked by column name; a workbook with a sheet that is not the export
    (a notes page, another table) is refused, naming the sheets, rather than read in part."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as e:  # openpyxl raises many types for a damaged workbook
        raise InputRejected(f"{path}: 无法读取 Excel 文件（{type(e).__name__}: {e}）。请确认是 .xlsx 格式并重新导出。")
    used, mapping = {}, {}
    for name, sheet in sheets.items():
        sheet = sheet.fillna("").astype(str)
        sheet = sheet[(sheet.apply(lambda col: col.str.strip()) != "").any(axis=1)]
        if len(sheet):
            header = [str(h).strip() for h in _named(sheet.iloc[0].tolist())]
            where = f"{path} 工作表 “{name}”: " if len(sheets) > 1 else f"{path}: "
            named = _map_headers(header, zh, english, where)
            mapping.update(named)
            used[name] = sheet.iloc[1:].set_axis([named[h] for h in header], axis=1)
    if not used:
        raise InputRejected(f"{path}: 工作簿是空的（至少需要一行表头）。")
    if len(used) > 1:
        foreign = [n for n, sheet in used.items() if not set(required) <= set(sheet.columns)]
        if foreign:
            raise InputRejected(
                f"{path}: 工作簿有 {len(used)} 个非空工作表（{'、'.join(f'“{n}”' for n in used)}），其中 "
                f"{'、'.join(f'“{n}”' for n in foreign)} 没有 {'、'.join(required)} 列，不是同一份导出。每个工作表都会被读入："
                "请删除或移走说明页等其他工作表后重新导出。")
    frames = [sheet.assign(_row=range(1, len(sheet) + 1), **({"_sheet": name} if len(used) > 1 else {}))
              for name, sheet in used.items()]
    return pd.concat(frames, ignore_index=True).fillna(""), mapping


# control characters (NUL, line breaks inside a cell), format characters (bidi overrides such as U+202E,
# zero-width spaces and joiners, BOMs) and line/paragraph separators: invisible, and they make one name
# look like another or reorder what a person reads
_INVISIBLE = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+"
ID_COLUMNS = {"org_id", "parent_id", "activity_id"}  # ids are validated, never silently altered


def remove_invisible(values: pd.Series) -> pd.Series:
    """Control, bidi and zero-width characters taken out (a line break inside a cell becomes a space).

    >>> remove_invisible(pd.Series(["广州\\u202e科协", "a\\u200bb\\x00", "上\\n海"])).tolist()
    ['广州科协', 'ab', '上 海']
    """
    text = pa.array(values, type=pa.string(), from_pandas=True)
    text = pc.replace_substring_regex(text, r"[\t\n\r\v\f\x{2028}\x{2029}]+", " ")
    text = pc.replace_substring_regex(text, _INVISIBLE, "")
    return pd.Series(text.to_pandas(), index=values.index, dtype="str")


def read_table(path: str | Path, kind: str) -> RawTable:
    """Read ``registry`` or ``activities`` export at ``path``; raises InputRejected on structural problems."""
    path = Path(path)
    zh, english = ((REGISTRY_HEADERS_ZH, REGISTRY_COLUMNS) if kind == "registry"
                   else (ACTIVITY_HEADERS_ZH, ACTIVITY_COLUMNS))
    if not path.exists():
        raise InputRejected(f"找不到文件 {path}：请检查路径（--registry / --activities）。")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        required = REGISTRY_REQUIRED if kind == "registry" else ACTIVITY_REQUIRED
        frame, mapping = _read_xlsx(path, zh, english, required)
        encoding, bad = "xlsx", []
    else:
        encoding = detect_encoding(path)
        header = _read_header(path, encoding)
        mapping = _map_headers(header, zh, english, f"{path}: ")
        frame, bad = _read_csv(path, encoding, header)
    if frame.empty and not bad:
        raise InputRejected(f"{path}: 文件只有表头，没有数据行：很可能导出中断或选错了文件，请重新导出后重试。")
    frame = frame.rename(columns=mapping)
    required = REGISTRY_REQUIRED if kind == "registry" else ACTIVITY_REQUIRED
    absent = [c for c in english if c not in frame.columns and c not in required]
    for c in absent:  # every optional column may be missing: it reads as empty, and the report says so
        frame[c] = ""
    for c in frame.columns:
        if c not in ("_row", "_sheet"):
            frame[c] = frame[c].astype(str).str.strip()
            if c not in ID_COLUMNS and not (kind == "activities" and c == "org_id"):
                frame[c] = remove_invisible(frame[c]).str.strip()
    return RawTable(frame.reset_index(drop=True), path, encoding, file_sha256(path), bad, mapping, absent)


_DATE_SEPARATORS = re.compile(r"[年月/.]")


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as offices type them (2023-08-21, 2023/8/21, 2023年8月21日, 2023.8.21 10:00) → datetime64; NaT if not."""
    cleaned = values.str.replace(_DATE_SEPARATORS, "-", regex=True).str.replace("日", "", regex=False).str.strip()
    return pd.to_datetime(cleaned, format="mixed", errors="coerce")


def parse_certified(values: pd.Series) -> pd.Series:
    from core.schema import TRUE_WORDS

    return values.str.strip().str.lower().isin(TRUE_WORDS)
