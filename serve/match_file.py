"""``orgreg match``: a spreadsheet column of typed names matched to canonical units and written back.

The file (CSV in UTF-8/BOM/GB18030, or xlsx; every column kept as it is) gets the columns of
``serve.matching.MATCH_COLUMNS`` added after its own; the copy is written for people (formulas
neutralised, CSV with BOM), never over the input.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.schema import CATEGORIES
from core.sources import InputRejected, detect_encoding, remove_invisible
from core.spreadsheet import write_for_people, xlsx_bytes
from serve.matching import MATCH_COLUMNS, Matcher, match_names

SPREADSHEETS = (".xlsx", ".xlsm")


def read_sheet(path: Path) -> pd.DataFrame:
    """Every cell of the file's first sheet (or the CSV) as text, invisible characters removed."""
    if not path.exists():
        raise InputRejected(f"{path}: 文件不存在，请检查路径。")
    try:
        if path.suffix.lower() in SPREADSHEETS:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=detect_encoding(path))
    except InputRejected:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise InputRejected(f"{path}: 无法读取（{e}）。请提供 CSV（UTF-8 或 GBK）或 xlsx 文件。") from e
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(remove_invisible) if len(frame) else frame


def check_columns(frame: pd.DataFrame, path: Path, column: str, region_column: str | None,
                  category: str | None) -> None:
    """Refuse a request naming a column the file lacks or an unknown category, saying what there is."""
    for wanted in (column, region_column):
        if wanted and wanted not in frame.columns:
            raise InputRejected(f"{path}: 没有名为“{wanted}”的列。文件中的列：{'、'.join(frame.columns)}。"
                                f"请用 --column / --region-column 指定其中之一。")
    if category and category not in CATEGORIES:
        raise InputRejected(f"组织类别“{category}”不存在，可选：{'、'.join(CATEGORIES)}。")
    clash = [c for c in MATCH_COLUMNS if c in frame.columns]
    if clash:
        raise InputRejected(f"{path}: 已有列 {'、'.join(clash)}（是否已经匹配过？）。请改用原始文件。")


def output_path(path: Path) -> Path:
    """Where the matched copy goes by default: beside the input.

    >>> output_path(Path("/tmp/示范县.xlsx")).name, output_path(Path("a/list.csv")).name
    ('示范县.匹配结果.xlsx', 'list.匹配结果.csv')
    """
    suffix = ".xlsx" if path.suffix.lower() in SPREADSHEETS else ".csv"
    return path.with_name(f"{path.stem}.匹配结果{suffix}")


def match_file(matcher: Matcher, path: Path, column: str, region_column: str | None = None,
               category: str | None = None, output: Path | None = None, auto: float = 0.92,
               review: float = 0.70, progress=None, on_rows=None) -> tuple[Path, pd.DataFrame]:
    """Match ``column`` of the file, write the copy with the match columns; returns (path, the columns).

    ``on_rows(n)`` is told the number of rows once the file is read, ``progress(k)`` of every k matched.
    """
    frame = read_sheet(path)
    check_columns(frame, path, column, region_column, category)
    if on_rows is not None:
        on_rows(len(frame))
    codes = frame[region_column].tolist() if region_column else None
    found = match_names(matcher, frame[column].tolist(), codes, category, auto, review, progress)
    out = pd.concat([frame.reset_index(drop=True), found], axis=1)
    output = output or output_path(path)
    if output.suffix.lower() in SPREADSHEETS:
        output.write_bytes(xlsx_bytes(out, "匹配结果"))
    else:
        write_for_people(out, output)
    return output, found
