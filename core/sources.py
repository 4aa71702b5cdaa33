"""Reading registry and activity exports (CSV in UTF-8/BOM/GB18030, or xlsx) into raw frames.

Every cell comes back as a stripped string; headers are mapped to the contract's English names;
unknown columns are kept; lines the CSV parser cannot split are returned, not dropped.
"""
from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.schema import ACTIVITY_HEADERS_ZH, ACTIVITY_COLUMNS, REGISTRY_COLUMNS, REGISTRY_HEADERS_ZH

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


def _map_headers(columns, zh, english) -> dict[str, str]:
    mapping, seen = {}, {}
    for c in columns:
        name = _canonical_header(c, zh, english)
        if name in seen:
            raise InputRejected(f"表头 “{c}” 与 “{seen[name]}” 都对应列 {name}：请删除其中一列后重试。")
        seen[name] = c
        mapping[c] = name
    return mapping


def _read_csv(path: Path, encoding: str) -> tuple[pd.DataFrame, list[dict]]:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, engine="c"), []
    except pd.errors.EmptyDataError:
        raise InputRejected(f"{path}: 文件是空的（至少需要一行表头）。")
    except pd.errors.ParserError:
        pass
    # Some lines have the wrong number of fields: keep the good ones, report the bad ones with their line.
    bad: list[dict] = []
    with open(path, encoding=encoding, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    good = []
    for i, r in enumerate(body, start=1):
        if len(r) == len(header):
            good.append(r)
        elif not any(x.strip() for x in r):
            continue  # blank line: nothing to lose
        else:
            bad.append({"_row": i, "raw": ",".join(r),
                        "reason": f"第 {i} 行有 {len(r)} 个字段，表头有 {len(header)} 列（可能缺少引号或多了逗号）"})
    frame = pd.DataFrame(good, columns=header, dtype=str)
    frame["_row"] = [i for i, r in enumerate(body, start=1) if len(r) == len(header)]
    return frame, bad


def read_table(path: str | Path, kind: str) -> RawTable:
    """Read ``registry`` or ``activities`` export at ``path``; raises InputRejected on structural problems."""
    path = Path(path)
    zh, english = ((REGISTRY_HEADERS_ZH, REGISTRY_COLUMNS) if kind == "registry"
                   else (ACTIVITY_HEADERS_ZH, ACTIVITY_COLUMNS))
    if not path.exists():
        raise InputRejected(f"找不到文件 {path}：请检查路径（--registry / --activities）。")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        except Exception as e:  # openpyxl raises many types for a damaged workbook
            raise InputRejected(f"{path}: 无法读取 Excel 文件（{type(e).__name__}: {e}）。请确认是 .xlsx 格式并重新导出。")
        encoding, bad = "xlsx", []
        frame = frame.astype(str)
    else:
        encoding = detect_encoding(path)
        frame, bad = _read_csv(path, encoding)
    if "_row" not in frame.columns:
        frame["_row"] = range(1, len(frame) + 1)
    mapping = _map_headers([c for c in frame.columns if c != "_row"], zh, english)
    frame = frame.rename(columns=mapping)
    for c in frame.columns:
        if c != "_row":
            frame[c] = frame[c].astype(str).str.strip()
    return RawTable(frame.reset_index(drop=True), path, encoding, file_sha256(path), bad, mapping)


_DATE_SEPARATORS = re.compile(r"[年月/.]")


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as offices type them (2023-08-21, 2023/8/21, 2023年8月21日, 2023.8.21 10:00) → datetime64; NaT if not."""
    cleaned = values.str.replace(_DATE_SEPARATORS, "-", regex=True).str.replace("日", "", regex=False).str.strip()
    return pd.to_datetime(cleaned, format="mixed", errors="coerce")


def parse_certified(values: pd.Series) -> pd.Series:
    from core.schema import TRUE_WORDS

    return values.str.strip().str.lower().isin(TRUE_WORDS)
