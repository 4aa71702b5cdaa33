"""Row checks of the raw exports: every row either passes or is quarantined with a reason.

Pure pandas (the masks are the source of truth); ``core.quality`` reports the same rules through
great-expectations for the Data Docs.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.lookups import member_of, per_distinct, within
from core.regions import RegionTable
from core.schema import CATEGORIES, FALSE_WORDS, PLAIN_ID, TRUE_WORDS
from core.sources import InputRejected, RawTable, parse_dates

_HAS_TEXT = re.compile(r"[\u3400-\u9fffA-Za-z]")


@dataclass
class Checked:
    clean: pd.DataFrame
    quarantine: pd.DataFrame  # original columns + _row, column, reason
    warnings: list[str]
    masks: dict[str, pd.Series]  # rule name -> True where the row passes (for GX and the report)


NOT_PLAIN = "不是普通的标识符（只允许字母、数字和 _ - .，不超过 64 位）：请在源系统中更正后重新导出"


def plain_ids(values: pd.Series) -> pd.Series:
    """True where an id is empty (its own rule) or a plain identifier (``PLAIN_ID``).

    >>> plain_ids(pd.Series(["123", "A-7", "", "=HYPERLINK(1)", "1 2", "-5"])).tolist()
    [True, True, True, False, False, False]
    """
    ok = pc.match_substring_regex(pa.array(values, type=pa.string(), from_pandas=True), PLAIN_ID)
    return pd.Series(ok.to_numpy(zero_copy_only=False), index=values.index) | (values == "")


def _nfkc(values: pd.Series) -> pd.Series:
    return per_distinct(values, lambda vs: [unicodedata.normalize("NFKC", v).strip() for v in vs], "").astype("str")


def _date_ok(values: pd.Series) -> pd.Series:
    def ok(vs):
        u = pd.Series(vs, dtype=object)
        return ((u == "") | parse_dates(u).notna()).tolist()
    return per_distinct(values, ok, False).astype(bool)


def require_columns(table: RawTable, required: list[str], kind_zh: str) -> None:
    missing = [c for c in required if c not in table.frame.columns]
    if missing:
        found = "、".join(c for c in table.frame.columns if c not in ("_row", "_sheet") and c not in table.absent)
        raise InputRejected(f"{table.path}: {kind_zh}缺少必需的列 {', '.join(missing)}（现有列：{found}）。"
                            "请用合同中的英文或中文表头（如 org_id 或 组织ID）导出后重试。")


def absent_warning(table: RawTable) -> list[str]:
    """The report's note on optional columns the file did not have."""
    if not table.absent:
        return []
    return [f"{table.path.name} 没有列 {'、'.join(table.absent)}：这些列按空值处理"]


def _bad_code(codes: pd.Series, regions: RegionTable) -> pd.Series:
    unique = codes.unique()
    bad = {c for c in unique if c and regions.resolve(c) is None}
    return member_of(codes, bad)


def _approximate_codes(codes: pd.Series, regions: RegionTable) -> int:
    """Codes that are well formed but not in the table: they resolve to their prefecture or province."""
    unique = codes.unique()
    approx = {c for c in unique if c and not regions.is_exact(c) and regions.resolve(c)}
    return int(member_of(codes, approx).sum())


def _flag(reasons: list[tuple[pd.Series, str, object]], frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for mask, column, message in reasons:
        if mask.any():
            bad = frame.loc[mask]
            text = [message(r) for r in bad.itertuples(index=False)] if callable(message) else [message] * len(bad)
            out.append(pd.DataFrame({"_index": bad.index, "column": column, "reason": text}))
    if not out:
        return pd.DataFrame(columns=["_index", "column", "reason"])
    return pd.concat(out, ignore_index=True)


def _quarantine(frame: pd.DataFrame, flags: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    grouped = flags.groupby("_index").agg(column=("column", "；".join), reason=("reason", "；".join))
    quarantine = frame.loc[grouped.index].assign(column=grouped["column"], reason=grouped["reason"])
    clean = frame.drop(index=grouped.index)
    return clean, quarantine.reset_index(drop=True)


def check_registry(table: RawTable, regions: RegionTable) -> Checked:
    require_columns(table, ["org_id", "name"], "组织库导出")
    f = table.frame.copy()
    f["category"] = _nfkc(f["category"])
    repeated = f["org_id"].duplicated(keep=False)
    rows_of = f[repeated].groupby("org_id")["_row"].apply(lambda s: "、".join(map(str, s.tolist()[:5])))
    # a name per row, most of them distinct: normalised in pyarrow's C kernels, not once per value
    name_text = pd.Series(pc.utf8_trim_whitespace(pc.utf8_normalize(pa.array(f["name"], from_pandas=True), "NFKC")),
                          index=f.index, dtype="str")
    masks = {
        "org_id_present": f["org_id"] != "",
        "org_id_unique": ~repeated | (f["org_id"] == ""),
        "org_id_plain": plain_ids(f["org_id"]),
        "name_present": name_text != "",
        "name_sensible": (name_text == "") | (name_text.str.contains(_HAS_TEXT) & (name_text.str.len() <= 100)),
        "category_known": member_of(f["category"], set(CATEGORIES) | {""}),
        "region_code_valid": ~_bad_code(f["region_code"], regions),
        "certified_readable": member_of(f["certified"].str.lower(), TRUE_WORDS | FALSE_WORDS),
        "created_at_parseable": _date_ok(f["created_at"]),
        "updated_at_parseable": _date_ok(f["updated_at"]),
    }
    flags = _flag([
        (~masks["org_id_present"], "org_id", "组织ID 为空：每条记录都需要源系统中的 ID"),
        (~masks["org_id_unique"], "org_id",
         lambda r: f"组织ID {r.org_id} 重复（第 {rows_of[r.org_id]} 行）：同一 ID 不能对应多条记录，请在源系统中更正后重新导出"),
        (~masks["org_id_plain"], "org_id", lambda r: f"组织ID “{r.org_id[:40]}” {NOT_PLAIN}"),
        (~masks["name_present"], "name", "组织名称为空"),
        (~masks["name_sensible"], "name", lambda r: f"组织名称 “{r.name[:40]}” 不像单位名称（没有汉字或字母，或超过 100 字）"),
        (~masks["category_known"], "category",
         lambda r: f"组织类别 “{r.category}” 不在允许的取值中（{'、'.join(CATEGORIES)}，或留空）"),
        (~masks["region_code_valid"], "region_code",
         lambda r: f"所在地区代码 “{r.region_code}” 不是有效的 GB/T 2260 六位代码（应为 6 位数字，前两位是省级代码）"),
        (~masks["certified_readable"], "certified", lambda r: f"已认证 “{r.certified}” 应为 是/否（或 true/false、1/0）"),
        (~masks["created_at_parseable"], "created_at", lambda r: f"创建时间 “{r.created_at}” 无法识别为日期"),
        (~masks["updated_at_parseable"], "updated_at", lambda r: f"更新时间 “{r.updated_at}” 无法识别为日期"),
    ], f)
    clean, quarantine = _quarantine(f, flags)
    quarantine = _with_unparsable(quarantine, table)
    dangling = int(((clean["parent_id"] != "").to_numpy() & ~within(clean["parent_id"], clean["org_id"])).sum())
    warnings = [f"{dangling} 条记录的上级组织ID 指向不存在的组织，层级重建时修复"] if dangling else []
    warnings += absent_warning(table)
    approx = _approximate_codes(clean["region_code"], regions)
    if approx:
        warnings.append(f"{approx} 条记录的所在地区代码不在 2025 年行政区划表中（如功能区代码），按其所属市或省处理")
    return Checked(clean.reset_index(drop=True), quarantine, warnings, masks)


def check_activities(table: RawTable, regions: RegionTable) -> Checked:
    require_columns(table, ["activity_id", "org_id"], "活动导出")
    f = table.frame.copy()
    counts = f["activity_id"].map(f["activity_id"].value_counts())
    masks = {
        "activity_id_present": f["activity_id"] != "",
        "activity_id_unique": (counts == 1) | (f["activity_id"] == ""),
        "activity_id_plain": plain_ids(f["activity_id"]),
        "region_code_valid": ~_bad_code(f["region_code"], regions),
        "start_date_parseable": _date_ok(f["start_date"]),
    }
    flags = _flag([
        (~masks["activity_id_present"], "activity_id", "活动ID 为空"),
        (~masks["activity_id_unique"], "activity_id", lambda r: f"活动ID {r.activity_id} 重复：请在源系统中更正后重新导出"),
        (~masks["activity_id_plain"], "activity_id", lambda r: f"活动ID “{r.activity_id[:40]}” {NOT_PLAIN}"),
        (~masks["region_code_valid"], "region_code",
         lambda r: f"所在地区代码 “{r.region_code}” 不是有效的 GB/T 2260 六位代码"),
        (~masks["start_date_parseable"], "start_date", lambda r: f"活动开始时间 “{r.start_date}” 无法识别为日期"),
    ], f)
    clean, quarantine = _quarantine(f, flags)
    approx = _approximate_codes(clean["region_code"], regions)
    warnings = [f"{approx} 条活动的所在地区代码不在 2025 年行政区划表中，按其所属市或省处理"] if approx else []
    warnings += absent_warning(table)
    return Checked(clean.reset_index(drop=True), _with_unparsable(quarantine, table), warnings, masks)


def _with_unparsable(quarantine: pd.DataFrame, table: RawTable) -> pd.DataFrame:
    if not table.unparsable:
        return quarantine
    extra = pd.DataFrame(table.unparsable).assign(column="(整行)")
    return pd.concat([quarantine, extra], ignore_index=True)
