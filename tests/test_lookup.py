"""The autocomplete index on a small registry built here: every way of typing a unit the issue names,
filters, ranking; and the sorted-array search against brute force (property tests)."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from serve import prefix
from serve.lookup import SuggestIndex

UNITS = [  # org_id, name, category, region_code, certified, members
    ("U01", "广东省广州市科学技术协会", "市级科协", "440100", True, 3),
    ("U02", "广东省科学技术协会", "省级科协", "440000", True, 2),
    ("U03", "广州市白云区科学技术协会", "县级科协", "440111", False, 1),
    ("U04", "贵阳市白云区科学技术协会", "县级科协", "520113", False, 1),
    ("U05", "重庆市科学技术协会", "省级科协", "500000", False, 1),
    ("U06", "长沙市科学技术协会", "市级科协", "430100", False, 1),
    ("U07", "厦门市科学技术协会", "市级科协", "350200", False, 1),
    ("U08", "蚌埠市科学技术协会", "市级科协", "340300", False, 1),
    ("U09", "中国化学会", "全国学会", "", True, 1),
    ("U10", "中国化工学会", "全国学会", "", False, 1),
    ("U11", "贵州省科学技术协会", "省级科协", "520000", False, 1),
    ("U12", "广州市第一中学", "其他", "440100", False, 1),
    ("U13", "北京市第一中学", "其他", "110000", True, 1),
    ("U14", "深圳市华强科技有限公司", "企业科协", "440300", False, 1),
    ("U15", "广州市科技馆", "其他", "440100", False, 1),
]
MERGED = [("U01b", "广州科协", "U01"), ("U01c", "广州市科协（原）", "U01"), ("U09b", "化学会", "U09")]


@pytest.fixture(scope="module")
def index(regions):
    from core.records import prepare_registry
    from tests.conftest import registry

    rows = [{"org_id": o, "name": n, "category": c, "region_code": r} for o, n, c, r, _, _ in UNITS]
    rows += [{"org_id": o, "name": n, "region_code": next(u[3] for u in UNITS if u[0] == s)} for o, n, s in MERGED]
    records = prepare_registry(registry(rows), regions)
    orgs = pd.DataFrame(UNITS, columns=["org_id", "name", "category", "region_code", "certified", "members"])
    orgs["province_code"] = [regions.province(c) or "" for c in orgs["region_code"]]
    survivor = {o: s for o, _, s in MERGED}
    id_map = pd.DataFrame({"source_org_id": records["org_id"],
                           "canonical_org_id": records["org_id"].map(lambda o: survivor.get(o, o))})
    return SuggestIndex(orgs, records, id_map, regions)


def ids(index, q, **kw):
    return [r["org_id"] for r in index.suggest(q, **kw)]


@pytest.mark.parametrize("q, expected", [
    ("广东省广州市科学技术协会", "U01"),  # exact
    ("广州市科协", "U01"),  # fixed abbreviation (an alias as well)
    ("广州市科学技术协会", "U01"),  # without the province prefix
    ("廣州市科學技術協會", "U01"),  # traditional characters
    ("广州科协", "U01"),  # loosened place, the name of a merged record
    ("广州市科学技术协合", "U01"),  # a wrong character after a place the unit's name writes longer (广东省广州市)
    ("白云区科协", "U03"), ("白云区科协", "U04"),  # a substring; both 白云区 are offered
    ("技术协会", "U02"),  # substring anywhere in the name
    ("guangzhoukexie", "U01"), ("gzkx", "U01"), ("guangdongshengguangzhoushikexie", "U01"),
    ("chongqing", "U05"), ("changsha", "U06"), ("xiamen", "U07"), ("bengbu", "U08"),  # places read as phrases
    ("cqkx", "U05"), ("baiyunqukexie", "U03"),  # initials; pinyin without the city
    ("深圳市华墙科技有限公司", "U14"),  # a homophone typo (墙 for 强)
    ("深圳市华强科枝有限公司", "U14"),  # a look-alike typo (枝 for 技)
])
def test_a_unit_is_found_however_it_is_typed(index, q, expected):
    assert expected in ids(index, q, limit=5), q


def test_exact_name_comes_first_and_says_how_it_matched(index):
    first = index.suggest("中国化学会")[0]
    assert first["org_id"] == "U09" and first["matched"] == {"field": "name", "text": "中国化学会", "how": "exact"}
    assert "U10" not in ids(index, "中国化学会")  # 化学会 / 化工学会 are two societies


def test_merged_names_give_their_survivor_once(index):
    found = index.suggest("广州市科协（原）", limit=10)
    assert [r["org_id"] for r in found].count("U01") == 1
    assert not {"U01b", "U01c"} & {r["org_id"] for r in found}
    alias = next(r for r in found if r["org_id"] == "U01")
    assert alias["matched"]["field"] in ("alias", "name")


def test_ranking_exact_then_prefix_then_the_rest_and_certified_first(index):
    found = index.suggest("广东省", limit=10)
    assert [r["matched"]["how"] for r in found][:2] == ["prefix", "prefix"]
    # the higher administrative level first (serve.ranking): the province's 科协, then its city's
    assert [r["org_id"] for r in found][:2] == ["U02", "U01"]
    schools = ids(index, "第一中学")
    assert schools.index("U13") < schools.index("U12")  # certified first among substrings


def test_category_and_region_filters(index):
    assert set(ids(index, "科协", category="省级科协", limit=50)) == {"U02", "U05", "U11"}
    assert set(ids(index, "科协", region="440000", limit=50)) == {"U01", "U02", "U03"}
    assert ids(index, "科协", region="440111", limit=50) == ["U03"]
    assert ids(index, "gzkx", region="520000") == ["U11"]  # 贵州 in Guizhou, never 广州
    assert ids(index, "科协", category="不存在") == []


def test_place_names_are_read_as_places(index):
    assert "U05" not in ids(index, "zhongqing") and "U06" not in ids(index, "zhangsha")


def test_no_match_and_empty_queries_return_nothing(index):
    assert index.suggest("") == [] and index.suggest("   ") == []
    assert index.suggest("量子引力研究所") == []


# --------------------------------------------------------------------------- the data structures
words = st.text(alphabet="abcd", min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=3), min_size=1, max_size=60), words,
       st.integers(1, 8), st.integers(0, 3))
def test_prefix_search_walk_and_direct_read_agree_with_brute_force(forms_per_text, q, want, seed):
    rng = np.random.default_rng(seed)
    text_org = np.sort(rng.integers(0, max(len(forms_per_text) // 2, 1), len(forms_per_text))).astype(np.int32)
    strings = [f for fs in forms_per_text for f in fs]
    owners = np.array([t for t, fs in enumerate(forms_per_text) for _ in fs], dtype=np.int32)
    index = prefix.PrefixIndex(np.array(strings, dtype="S5"), owners)
    accept = lambda t: t % 3 != 1  # noqa: E731
    lo, eq, hi = index.range(q)
    assert sorted(index.sorted[lo:hi].astype(str).tolist()) == sorted(s for s in strings if s.startswith(q))
    assert all(s == q for s in index.sorted[lo:eq].astype(str).tolist())
    matching = sorted({t for t, fs in enumerate(forms_per_text) if any(f.startswith(q) for f in fs) and t % 3 != 1})
    expected, seen = [], set()
    for t in matching:
        if text_org[t] not in seen:
            seen.add(text_org[t])
            expected.append(t)
    expected = expected[:want]
    direct = index.best(lo, hi, want, text_org, accept).tolist()
    old = prefix.DIRECT, prefix.CHUNK
    try:
        prefix.DIRECT, prefix.CHUNK = 0, 7  # force the walk in rank order, in small steps
        walked = index.best(lo, hi, want, text_org, accept).tolist()
    finally:
        prefix.DIRECT, prefix.CHUNK = old
    assert direct == expected and walked == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 300), max_size=120), min_size=1, max_size=3), st.integers(1, 20))
def test_intersection_walk_agrees_with_brute_force(sets, want):
    text_org = (np.arange(301) // 2).astype(np.int32)
    lists = [np.array(sorted(s), dtype=np.int32) for s in sets]
    verify = lambda t: t % 5 != 0  # noqa: E731
    both = sorted(set.intersection(*map(set, sets)))
    expected, seen = [], set()
    for t in both:
        if t % 5 and text_org[t] not in seen:
            seen.add(text_org[t])
            expected.append(t)
    if any(len(x) == 0 for x in lists):
        return
    assert prefix.intersect_walk(lists, want, verify, text_org, 10_000).tolist() == expected[:want]
