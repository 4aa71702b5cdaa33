"""Files meant to be opened by people in a spreadsheet (quarantine, parent changes, downloads).

A cell that starts with ``= + - @`` (or a tab / carriage return) is a formula to Excel and WPS:
``=HYPERLINK("http://evil.example","x")`` in a registry name would become a live link in the
reviewer's sheet. Following OWASP's CSV-injection advice such a cell gets a leading apostrophe,
which spreadsheets show as text. The four contract CSVs are machine-readable and are never escaped
(``core.snapshot.write_export``); every file for people goes through this module.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as spreadsheet formulas (numbers are left as they are).

    >>> f = neutralise_formulas(pd.DataFrame({"name": ["=1+1", "广州市科协", "@SUM(A1)", "-x"], "n": [1, -2, 3, 4]}))
    >>> f["name"].tolist(), f["n"].tolist()
    (["'=1+1", '广州市科协', "'@SUM(A1)", "'-x"], [1, -2, 3, 4])
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_string_dtype(values) or values.dtype == object:
            text = values.astype("str")
            risky = text.str.contains(FORMULA_START, regex=True, na=False).to_numpy(dtype=bool) & values.notna().to_numpy()
            if risky.any():
                out[column] = values.where(~risky, "'" + text)
    return out


def write_for_people(frame: pd.DataFrame, path: Path) -> Path:
    """CSV for a spreadsheet: formulas neutralised, UTF-8 with BOM (Excel then reads the Chinese right)."""
    neutralise_formulas(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A download for a spreadsheet: formulas neutralised, UTF-8 with BOM."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(frame: pd.DataFrame, sheet: str = "数据") -> bytes:
    """One xlsx sheet, formulas neutralised (openpyxl would otherwise store ``=…`` text as a formula)."""
    import io

    from openpyxl.utils import get_column_letter

    sheet = re.sub(r"[\[\]:*?/\\]", "、", sheet)[:31]  # characters a sheet name may not hold
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(frame).to_excel(writer, sheet_name=sheet, index=False)
        columns = writer.sheets[sheet].column_dimensions
        for i, name in enumerate(frame.columns, start=1):  # Chinese headers are twice as wide as Latin ones
            columns[get_column_letter(i)].width = max(10, min(50, 2 * len(str(name)) + 4))
    return buffer.getvalue()
