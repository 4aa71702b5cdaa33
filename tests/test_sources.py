import pandas as pd
import pytest

from core.checks import check_activities, check_registry
from core.sources import InputRejected, parse_dates, read_table

ROWS = [
    {"org_id": "1", "name": "广州市科学技术协会", "category": "市级科协", "region_code": "440100", "certified": "是"},
    {"org_id": "2", "name": "广东省科学技术协会", "category": "省级科协", "region_code": "440000", "certified": "否"},
]
ZH = {"org_id": "组织ID", "name": "组织名称", "category": "组织类别", "region_code": "所在地区代码",
      "certified": "已认证"}


def write(tmp_path, frame, encoding="utf-8", name="registry.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False, encoding=encoding)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_every_contract_encoding_is_read(tmp_path, encoding):
    table = read_table(write(tmp_path, pd.DataFrame(ROWS), encoding), "registry")
    assert table.frame["name"].tolist() == ["广州市科学技术协会", "广东省科学技术协会"]
    assert table.encoding in ("utf-8-sig", "gb18030")


@pytest.mark.parametrize("headers", [ZH, {k: f"{v}({k})" for k, v in ZH.items()}, {k: f" {k.upper()} " for k in ZH}])
def test_chinese_and_variant_headers_map_to_contract_names(tmp_path, headers):
    frame = pd.DataFrame(ROWS).rename(columns=headers)
    table = read_table(write(tmp_path, frame, "gb18030"), "registry")
    assert {"org_id", "name", "category", "region_code", "certified"} <= set(table.frame.columns)


def test_unknown_columns_are_kept(tmp_path):
    frame = pd.DataFrame(ROWS).assign(联系人="张三")
    assert "联系人" in read_table(write(tmp_path, frame), "registry").frame.columns


def test_xlsx_is_read(tmp_path):
    path = tmp_path / "registry.xlsx"
    pd.DataFrame(ROWS).rename(columns=ZH).to_excel(path, index=False)
    table = read_table(path, "registry")
    assert table.encoding == "xlsx" and table.frame["org_id"].tolist() == ["1", "2"]


def test_lines_with_wrong_field_counts_are_reported_not_dropped(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text("org_id,name,category\n1,广州市科协,市级科协\n2,多了,一列,的行\n3,深圳市科协,市级科协\n",
                    encoding="utf-8")
    table = read_table(path, "registry")
    assert table.frame["org_id"].tolist() == ["1", "3"]
    assert table.unparsable[0]["_row"] == 2 and "4 个字段" in table.unparsable[0]["reason"]


def test_structural_problems_reject_with_a_clear_message(tmp_path, regions):
    with pytest.raises(InputRejected, match="找不到文件"):
        read_table(tmp_path / "missing.csv", "registry")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InputRejected, match="文件是空的"):
        read_table(tmp_path / "empty.csv", "registry")
    (tmp_path / "latin1.csv").write_bytes("org_id,name\n1,caf\xe9\udcff".encode("utf-8", "surrogateescape"))
    with pytest.raises(InputRejected, match="编码"):
        read_table(tmp_path / "latin1.csv", "registry")
    no_name = write(tmp_path, pd.DataFrame(ROWS).drop(columns=["name"]))
    with pytest.raises(InputRejected, match="缺少必需的列 name"):
        check_registry(read_table(no_name, "registry"), regions)


def test_dates_in_the_formats_offices_type():
    got = parse_dates(pd.Series(["2023-08-21", "2023/8/21", "2023年8月21日", "2023.8.21 10:00", "明天", ""]))
    assert got[:4].dt.strftime("%Y-%m-%d").tolist() == ["2023-08-21"] * 4
    assert got[4:].isna().all()


def _check(tmp_path, regions, rows):
    return check_registry(read_table(write(tmp_path, pd.DataFrame(rows)), "registry"), regions)


@pytest.mark.parametrize("bad, column, words", [
    ({"org_id": "", "name": "某单位"}, "org_id", "组织ID 为空"),
    ({"org_id": "9", "name": ""}, "name", "组织名称为空"),
    ({"org_id": "9", "name": "、、、123"}, "name", "不像单位名称"),
    ({"org_id": "9", "name": "某单位", "category": "省科协"}, "category", "不在允许的取值中"),
    ({"org_id": "9", "name": "某单位", "region_code": "99999"}, "region_code", "GB/T 2260"),
    ({"org_id": "9", "name": "某单位", "region_code": "990101"}, "region_code", "GB/T 2260"),
    ({"org_id": "9", "name": "某单位", "certified": "也许"}, "certified", "应为 是/否"),
    ({"org_id": "9", "name": "某单位", "created_at": "上周"}, "created_at", "无法识别为日期"),
])
def test_each_row_problem_is_quarantined_with_its_reason(tmp_path, regions, bad, column, words):
    checked = _check(tmp_path, regions, ROWS + [bad])
    assert len(checked.clean) == 2 and len(checked.quarantine) == 1
    q = checked.quarantine.iloc[0]
    assert q["column"] == column and words in q["reason"] and q["_row"] == 3


def test_repeated_ids_quarantine_every_copy(tmp_path, regions):
    checked = _check(tmp_path, regions, ROWS + [{"org_id": "1", "name": "另一个单位"}])
    assert checked.clean["org_id"].tolist() == ["2"]
    assert set(checked.quarantine["_row"]) == {1, 3} and all("重复" in r for r in checked.quarantine["reason"])


def test_codes_missing_from_the_table_resolve_to_their_prefecture(tmp_path, regions):
    checked = _check(tmp_path, regions, ROWS + [{"org_id": "3", "name": "某功能区单位", "region_code": "440199"}])
    assert len(checked.quarantine) == 0 and any("按其所属市或省处理" in w for w in checked.warnings)


def test_nothing_is_silently_dropped(tmp_path, regions):
    rows = ROWS + [{"org_id": "", "name": "x"}, {"org_id": "5", "name": "某单位", "region_code": "abc"}]
    checked = _check(tmp_path, regions, rows)
    assert len(checked.clean) + len(checked.quarantine) == len(rows)


def test_activity_checks(tmp_path, regions):
    frame = pd.DataFrame([{"activity_id": "a1", "org_id": "1", "region_code": "440100", "start_date": "2023/9/1"},
                          {"activity_id": "a1", "org_id": "2", "region_code": "", "start_date": ""},
                          {"activity_id": "a2", "org_id": "", "region_code": "440100", "start_date": "九月"}])
    checked = check_activities(read_table(write(tmp_path, frame, name="activities.csv"), "activities"), regions)
    assert len(checked.clean) == 0 and len(checked.quarantine) == 3
