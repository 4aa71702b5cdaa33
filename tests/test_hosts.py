"""Host units (主办/承办单位 typed on activities) linked to units, the names no unit has, and what each
unit hosts: the nightly pipeline's ``activity_hosts`` and ``missing_units`` frames."""
import pandas as pd
import pytest

from core.snapshot import write_export
from dedupe.linking import split_hosts
from tests.newunit_fixture import ACTIVITIES, publish


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return publish(tmp_path_factory.mktemp("hosts"))[2]


def link(frames, activity_id, text):
    hosts = frames["activity_hosts"]
    row = hosts[(hosts["activity_id"] == activity_id) & (hosts["host_text"] == text)]
    assert len(row) == 1, (activity_id, text, hosts.to_string())
    return row.iloc[0]["canonical_org_id"], row.iloc[0]["how"]


def test_every_typed_host_is_listed_once_with_its_unit(frames):
    typed = [(a, n.strip()) for a, _, _, text in ACTIVITIES for n in text.replace("，", "、").split("、") if n.strip()]
    assert sorted(zip(frames["activity_hosts"]["activity_id"], frames["activity_hosts"]["host_text"])) == sorted(typed)
    assert link(frames, "a1", "广州市科学技术协会") == ("gzs", "exact")
    assert link(frames, "a1", "中山大学科协") == ("zsu", "exact")
    assert link(frames, "a2", "海珠区科协")[0] == "hz"  # the activity's place (440105) says which 海珠区
    assert link(frames, "a2", "广州市海珠区科技馆") == ("hzkjg", "exact")
    assert link(frames, "a3", "湖北省科协")[0] == "hbkx"
    assert link(frames, "a5", "武汉大学")[0] == "whdx"
    for activity in ("a3", "a4", "a5"):
        assert link(frames, activity, "湖北省应急管理局") == ("", "none")


def test_a_university_is_never_linked_to_the_city_association(frames):
    hosts = frames["activity_hosts"]
    assert not ((hosts["host_text"] == "中山大学科协") & (hosts["canonical_org_id"] == "gzs")).any()


def test_names_no_unit_has_are_grouped_with_a_suggestion(frames):
    missing = frames["missing_units"]
    assert missing["name"].tolist() == ["湖北省应急管理局"]
    row = missing.iloc[0]
    assert (row["activities"], row["places"]) == (3, 1)
    assert row["suggested_region_code"] == "420000"  # the place the name states, not the activities' city
    assert row["suggested_parent_id"] == "hbkx" and row["suggested_category"] == "其他"


def test_hosted_activities_are_counted_per_unit(frames):
    hosted = frames["rollup"].set_index("org_id")["hosted_activities"]
    assert hosted["gzs"] == 1 and hosted["hbkx"] == 1 and hosted["hz"] == 1 and hosted["gzp"] == 0


def test_the_export_writes_them_beside_the_contract_files(frames, tmp_path):
    names = {p.name for p in write_export(frames, tmp_path)}
    assert {"activity_hosts.csv", "missing_units.csv", "organizations.csv"} <= names
    hosts = pd.read_csv(tmp_path / "activity_hosts.csv", dtype=str, keep_default_na=False)
    assert list(hosts.columns) == ["activity_id", "host_text", "canonical_org_id", "score", "how"]
    assert (tmp_path / "missing_units.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # for a spreadsheet


def test_separators_and_repeats():
    a = pd.DataFrame({"activity_id": ["1"], "region_code": [""],
                      "host_units": ["甲单位；乙单位/甲单位, 丙单位\n丁单位"]})
    assert split_hosts(a)["host_text"].tolist() == ["甲单位", "乙单位", "丙单位", "丁单位"]


def test_a_host_typed_with_its_abbreviation_in_brackets_links_to_the_unit(frames):
    from core.records import prepare_activities
    from core.regions import default_regions
    from flows.pipeline import link_hosts

    acts = prepare_activities(pd.DataFrame([{"activity_id": "b1", "title": "科普日活动", "org_id": "", "region_code": "110000",
                                             "host_units": "中国科学技术协会（中国科协）、中国地质大学（北京）",
                                             "start_date": "2023-09-16", "_row": 1}]).astype({"_row": "int64"}),
                              default_regions())
    hosts = link_hosts(acts, frames["records"], frames["id_map"], frames["organizations"], 0.92, 0.70).links
    got = dict(zip(hosts["host_text"], zip(hosts["canonical_org_id"], hosts["how"])))
    assert got["中国科学技术协会（中国科协）"] == ("root", "exact")
    assert got["中国地质大学（北京）"] == ("", "none")
