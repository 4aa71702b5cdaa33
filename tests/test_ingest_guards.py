"""Input guards of issue 14: sheets, short lines, repeated headers, header-only files, optional columns,
plain ids and invisible characters."""
import pandas as pd
import pytest

from core.checks import check_activities, check_registry
from core.sources import InputRejected, read_table
from hierarchy.visibility import declared_provinces
from tests.test_sources import ROWS, ZH, write


def test_every_sheet_of_a_workbook_is_read(tmp_path):
    path = tmp_path / "registry.xlsx"
    more = [{"org_id": "3", "name": "深圳市科学技术协会", "category": "市级科协", "region_code": "440300"}]
    with pd.ExcelWriter(path) as book:
        pd.DataFrame(ROWS).rename(columns=ZH).to_excel(book, sheet_name="广州", index=False)
        pd.DataFrame(more).rename(columns=ZH).to_excel(book, sheet_name="深圳", index=False)
        pd.DataFrame().to_excel(book, sheet_name="空白页", index=False)
    table = read_table(path, "registry")
    assert table.frame["org_id"].tolist() == ["1", "2", "3"]
    assert table.frame["_sheet"].tolist() == ["广州", "广州", "深圳"] and table.frame["_row"].tolist() == [1, 2, 1]


def test_a_workbook_whose_sheets_disagree_is_refused_naming_them(tmp_path):
    path = tmp_path / "registry.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame(ROWS).to_excel(book, sheet_name="组织", index=False)
        pd.DataFrame([{"说明": "本表由某某导出"}]).to_excel(book, sheet_name="说明", index=False)
    with pytest.raises(InputRejected, match="2 个非空工作表.*“说明” 没有 org_id"):
        read_table(path, "registry")


def test_a_short_line_is_quarantined_with_its_line(tmp_path, regions):
    path = tmp_path / "registry.csv"
    path.write_text("org_id,name,category,region_code\n1,广州市科学技术协会,市级科协,440100\n2,深圳市科协\n"
                    "3,广东省科学技术协会,省级科协,440000\n", encoding="utf-8")
    checked = check_registry(read_table(path, "registry"), regions)
    assert checked.clean["org_id"].tolist() == ["1", "3"]
    short = checked.quarantine.iloc[0]
    assert short["_row"] == 2 and "2 个字段" in short["reason"] and "字段少了" in short["reason"]


@pytest.mark.parametrize("header", ["org_id,name,org_id", "组织ID,name,org_id"])
def test_a_repeated_header_is_a_clear_rejection(tmp_path, header):
    path = tmp_path / "registry.csv"
    path.write_text(f"{header}\n1,广州市科学技术协会,2\n", encoding="utf-8")
    with pytest.raises(InputRejected, match="表头重复"):
        read_table(path, "registry")


def test_a_repeated_header_in_a_workbook_is_a_clear_rejection(tmp_path):
    path = tmp_path / "registry.xlsx"
    pd.DataFrame([["1", "广州市科协", "2"]], columns=["org_id", "name", "组织ID"]).to_excel(path, index=False)
    with pytest.raises(InputRejected, match="表头重复"):
        read_table(path, "registry")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_only_file_is_a_clear_rejection(tmp_path, suffix):
    path = tmp_path / f"registry{suffix}"
    empty = pd.DataFrame(columns=["org_id", "name", "category"])
    empty.to_csv(path, index=False) if suffix == ".csv" else empty.to_excel(path, index=False)
    with pytest.raises(InputRejected, match="只有表头，没有数据行"):
        read_table(path, "registry")


def test_every_optional_column_may_be_missing(tmp_path, regions):
    path = write(tmp_path, pd.DataFrame([{"org_id": "1", "name": "广州市科学技术协会"},
                                         {"org_id": "2", "name": "广东省科学技术协会"}]))
    table = read_table(path, "registry")
    checked = check_registry(table, regions)
    assert len(checked.clean) == 2 and any("没有列 category" in w for w in checked.warnings)
    assert declared_provinces(table.frame, regions).tolist() == ["", ""]  # was a KeyError on category
    acts = write(tmp_path, pd.DataFrame([{"activity_id": "a1", "org_id": "1"}]), name="activities.csv")
    assert len(check_activities(read_table(acts, "activities"), regions).clean) == 1


@pytest.mark.parametrize("bad_id", ['=HYPERLINK("http://evil.example","x")', "+SUM(1,1)", "@SUM(A1)", "-5",
                                    "12 34", "12\u200b34", "1\x00"])
def test_an_id_that_is_not_a_plain_identifier_is_quarantined(tmp_path, regions, bad_id):
    rows = ROWS + [{"org_id": bad_id, "name": "某单位"}]
    checked = check_registry(read_table(write(tmp_path, pd.DataFrame(rows)), "registry"), regions)
    assert checked.clean["org_id"].tolist() == ["1", "2"]
    assert checked.quarantine.iloc[0]["column"] == "org_id" and "不是普通的标识符" in checked.quarantine.iloc[0]["reason"]


def test_control_bidi_and_zero_width_characters_are_removed_from_names(tmp_path):
    rows = [{"org_id": "1", "name": "广州市\u202e科学技术协会\u200b", "region": "广东省\x00广州市"},
            {"org_id": "2", "name": "\ufeff广东省\u2066科学\u200d技术协会\u2069"}]
    table = read_table(write(tmp_path, pd.DataFrame(rows)), "registry")
    assert table.frame["name"].tolist() == ["广州市科学技术协会", "广东省科学技术协会"]
    assert table.frame["region"].tolist() == ["广东省广州市", ""]


def test_a_formula_looking_name_is_neutralised_for_people_but_not_in_the_contract(tmp_path):
    from core.snapshot import write_export
    from core.spreadsheet import write_for_people

    name = '=HYPERLINK("http://evil.example","x")'
    orgs = pd.DataFrame([{"org_id": "1", "name": name, "category": "其他", "region_code": "440100", "parent_id": "",
                          "province_code": "440000", "aliases": "+SUM(1,1)|@SUM(A1)"}])
    frames = {"organizations": orgs,
              "id_map": pd.DataFrame([{"source_org_id": "1", "canonical_org_id": "1", "how": "same"}]),
              "merge_suggestions": pd.DataFrame(columns=["left_org_id", "right_org_id", "score", "status"]),
              "activity_visibility": pd.DataFrame(columns=["activity_id", "canonical_org_id", "province_code"])}
    write_export(frames, tmp_path / "export")
    contract = pd.read_csv(tmp_path / "export" / "organizations.csv", dtype=str, keep_default_na=False)
    assert contract["name"].tolist() == [name] and contract["aliases"].tolist() == ["+SUM(1,1)|@SUM(A1)"]
    people = pd.read_csv(write_for_people(orgs, tmp_path / "people.csv"), dtype=str, keep_default_na=False,
                         encoding="utf-8-sig")
    assert people["name"].tolist() == ["'" + name] and people["aliases"].tolist() == ["'+SUM(1,1)|@SUM(A1)"]
    assert people["org_id"].tolist() == ["1"]
