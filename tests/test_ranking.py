"""Ranking of the autocomplete: the unit people mean comes first among equal matches (serve.ranking)."""
import pandas as pd
import pytest

from serve.lookup import SuggestIndex
from serve.ranking import rank_order

# org_id, name, category, region_code, subtree organizations, subtree activities
UNITS = [
    ("G1", "固镇县科学技术协会", "县级科协", "340323", 30, 40),
    ("G2", "广宗县科学技术协会", "县级科协", "130531", 25, 30),
    ("G3", "改则县科学技术协会", "县级科协", "542525", 20, 10),
    ("G4", "贵州省科学技术协会", "省级科协", "520000", 1500, 700),
    ("G5", "赣州市科学技术协会", "市级科协", "360700", 120, 60),
    ("G6", "广州市科学技术协会", "市级科协", "440100", 400, 300),
    ("G7", "贵阳市科学技术协会", "市级科协", "520100", 900, 500),  # gz only through 贵州省, which it does not say
    ("G8", "广州市越秀区科学技术协会", "县级科协", "440104", 60, 80),
    ("G9", "高州市第一中学", "其他", "440981", 0, 0),
    ("G10", "瓜州县科学技术协会", "县级科协", "620922", 15, 5),
]


@pytest.fixture(scope="module")
def index(regions):
    from core.records import prepare_registry
    from tests.conftest import registry

    records = prepare_registry(registry([{"org_id": o, "name": n, "category": c, "region_code": r}
                                         for o, n, c, r, _, _ in UNITS]), regions)
    orgs = pd.DataFrame([u[:4] for u in UNITS], columns=["org_id", "name", "category", "region_code"])
    orgs = orgs.assign(certified=True, members=1, province_code=[regions.province(c) or "" for c in orgs.region_code])
    roll = pd.DataFrame([(u[0], u[4], u[5]) for u in UNITS], columns=["org_id", "organizations", "activities"])
    id_map = pd.DataFrame({"source_org_id": records["org_id"], "canonical_org_id": records["org_id"]})
    return SuggestIndex(orgs, records, id_map, regions, rollup=roll)


def names(index, q, n):
    return [r["name"] for r in index.suggest(q, limit=n)]


def test_gzkx_finds_guangzhou_in_the_top_three(index):
    top = names(index, "gzkx", 3)
    assert "广州市科学技术协会" in top and top[0] == "贵州省科学技术协会"


def test_gz_finds_guangzhou_and_guizhou_in_the_top_five(index):
    top = names(index, "gz", 5)
    assert top[:2] == ["贵州省科学技术协会", "广州市科学技术协会"]
    # 贵阳 is bigger than 广州 here but is only gz… with the province its name does not state
    assert "贵阳市科学技术协会" not in top[:3]


def test_higher_level_then_bigger_subtree_first():
    orgs = pd.DataFrame({"org_id": ["c", "p", "big", "small", "school"],
                         "category": ["县级科协", "省级科协", "市级科协", "市级科协", "其他"],
                         "certified": [True] * 5, "members": [9, 1, 1, 1, 50]})
    roll = pd.DataFrame({"org_id": ["c", "p", "big", "small"], "organizations": [900, 10, 300, 20],
                         "activities": [900, 5, 200, 10]})
    assert [orgs.org_id[i] for i in rank_order(orgs, rollup=roll)] == ["p", "big", "small", "c", "school"]
    # without a rollup, units of one level are ordered by their own activities
    acts = pd.Series({"small": 30, "big": 1})
    assert [orgs.org_id[i] for i in rank_order(orgs, acts)][1:3] == ["small", "big"]
