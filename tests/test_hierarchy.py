import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from dedupe.resolve import resolve_duplicates
from hierarchy.build import build_organizations, to_graph
from hierarchy.changes import parent_changes
from hierarchy.repair import repair_parents
from hierarchy.rollup import rollup
from hierarchy.visibility import admin_provinces, assign_activities, declared_provinces

BASE = [
    ("root", "中国科学技术协会", "中国科协", "", ""),
    ("gd", "广东省科学技术协会", "省级科协", "440000", "root"),
    ("gz", "广州市科学技术协会", "市级科协", "440100", "gd"),
    ("by", "白云区科学技术协会", "县级科协", "440111", "gz"),
    ("bj", "北京市科学技术协会", "省级科协", "110000", "root"),
    ("cy", "朝阳区科学技术协会", "县级科协", "110105", ""),  # municipality: hangs under the province
    ("hb", "湖北省科学技术协会", "省级科协", "420000", "root"),
    ("xt", "仙桃市科学技术协会", "县级科协", "429004", "gz"),  # 省直辖: hangs under the province
    ("moe", "教育部", "部委", "", "root"),
    ("chem", "中国化学会", "全国学会", "110108", "gd"),
]


def run(prepared, regions, rows):
    records = prepared([{"org_id": o, "name": n, "category": c, "region_code": r, "parent_id": p}
                        for o, n, c, r, p in rows])
    id_map = resolve_duplicates(records, auto_threshold=0.92, review_threshold=0.7).id_map
    orgs = repair_parents(build_organizations(records, id_map, regions), regions)
    orgs["province_code"] = admin_provinces(orgs, regions)
    return orgs.set_index("org_id"), id_map, records


def test_associations_follow_the_contract(prepared, regions):
    orgs, _, _ = run(prepared, regions, BASE)
    parent = orgs["parent_id"].to_dict()
    assert parent == {"root": "", "gd": "root", "gz": "gd", "by": "gz", "bj": "root", "cy": "bj", "hb": "root",
                      "xt": "hb", "moe": "", "chem": "root"}
    assert orgs.loc["by", "province_code"] == "440000" and orgs.loc["chem", "province_code"] == ""
    assert nx.is_branching(to_graph(orgs.reset_index()))


def test_local_units_hang_under_the_nearest_association(prepared, regions):
    rows = BASE + [("co", "润辉水务有限公司科协", "企业科协", "440111", ""),  # county has a 科协
                   ("sc", "广州市第一中学", "其他", "440100", "by"),  # city-level place, declared county: finer, kept
                   ("th", "天河区科技馆", "科普教育基地", "440106", "bj"),  # no 天河区科协: city; 北京 is wrong
                   ("xx", "某协会", "地方学会", "", "gz")]  # no place: the declared parent is used
    orgs, _, _ = run(prepared, regions, rows)
    assert orgs.loc["co", "parent_id"] == "by"
    assert orgs.loc["sc", "parent_id"] == "by"
    assert orgs.loc["th", "parent_id"] == "gz" and orgs.loc["th", "province_code"] == "440000"
    assert orgs.loc["xx", "parent_id"] == "gz"


def test_parents_pointing_at_duplicates_are_relabelled_to_the_survivor(prepared, regions):
    rows = BASE + [("gz2", "广州市科协", "市级科协", "440100", "gd"), ("co", "润辉水务有限公司科协", "企业科协", "440100", "gz2")]
    orgs, id_map, records = run(prepared, regions, rows)
    canon = dict(zip(id_map["source_org_id"], id_map["canonical_org_id"]))
    assert canon["gz2"] == canon["gz"]
    assert orgs.loc["co", "parent_id"] == canon["gz"]
    changes = parent_changes(orgs.reset_index(), set(records["org_id"]))
    assert "重复记录" in changes.set_index("org_id").loc["co", "reason"] or canon["gz2"] == "gz2"


def test_undecidable_parents_are_flagged_not_guessed(prepared, regions):
    orgs, _, _ = run(prepared, regions, BASE + [("zz", "某公司科协", "企业科协", "", "")])
    assert orgs.loc["zz", "parent_id"] == "" and orgs.loc["zz", "needs_review"]


def test_activity_visibility_rules(prepared, regions):
    orgs, id_map, _ = run(prepared, regions, BASE + [("co", "润辉水务有限公司科协", "企业科协", "440111", "")])
    acts = pd.DataFrame({"activity_id": ["a", "b", "c", "d", "e"], "org_id": ["co", "chem", "", "missing", "moe"],
                         "region_code": ["440111", "440100", "420100", "110105", "440100"]})
    vis = assign_activities(acts, id_map, orgs.reset_index(), regions).set_index("activity_id")
    assert vis["province_code"].to_dict() == {"a": "440000", "b": "", "c": "420000", "d": "110000", "e": ""}


def test_rollup_counts_subtrees(prepared, regions):
    orgs, id_map, _ = run(prepared, regions, BASE + [("co", "润辉水务有限公司科协", "企业科协", "440111", "")])
    stats = rollup(orgs.reset_index(), pd.Series(["co", "co", "gz"])).set_index("org_id")
    assert stats.loc["gd", "organizations"] == 4 and stats.loc["gd", "activities"] == 3
    assert stats.loc["by", "activities"] == 2 and stats.loc["root", "organizations"] == 10


CODES = ["440000", "440100", "440111", "440106", "110000", "110105", "420000", "429004", "220000", "220200",
         "220104", ""]
CATS = ["省级科协", "市级科协", "县级科协", "企业科协", "其他", "地方学会", "全国学会", "部委", "中国科协"]


@st.composite
def noisy_orgs(draw):
    n = draw(st.integers(1, 40))
    ids = [f"o{i}" for i in range(n)]
    rows = []
    for oid in ids:
        parent = draw(st.one_of(st.just(""), st.sampled_from(ids), st.just("missing")))  # self loops and cycles too
        rows.append({"org_id": oid, "name": oid, "category": draw(st.sampled_from(CATS)),
                     "region_code": draw(st.sampled_from(CODES)), "declared_parents": [parent] if parent else [],
                     "certified": draw(st.booleans()), "members": 1})
    return pd.DataFrame(rows)


@given(noisy_orgs())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_repair_always_gives_a_branching_and_is_a_fixed_point(regions, orgs):
    orgs["region_level"] = [regions.level(c) if c else 0 for c in orgs["region_code"]]
    out = repair_parents(orgs, regions)
    assert nx.is_branching(to_graph(out))
    again = repair_parents(out.assign(declared_parents=[[p] if p else [] for p in out["parent_id"]]), regions)
    assert again["parent_id"].tolist() == out["parent_id"].tolist()


def _walk_declared(registry, regions):
    """The status-quo rule read literally: walk each record's declared parents one by one."""
    parent = dict(zip(registry["org_id"], registry["parent_id"]))
    category = dict(zip(registry["org_id"], registry["category"]))
    region = dict(zip(registry["org_id"], registry["region_code"]))
    out = {}
    for start in registry["org_id"]:
        oid, seen, found = start, set(), ""
        while oid and oid not in seen:
            seen.add(oid)
            if category.get(oid) == "省级科协":
                found = regions.province(regions.resolve(region.get(oid)) or None) or ""
                break
            oid = parent.get(oid, "")
        out[start] = found
    return out


@st.composite
def raw_registries(draw):
    n = draw(st.integers(1, 30))
    ids = draw(st.lists(st.sampled_from([f"r{i}" for i in range(n)] + [""]), min_size=1, max_size=n + 5))
    parents = st.one_of(st.just(""), st.sampled_from(ids), st.just("missing"))
    return pd.DataFrame({"org_id": ids, "parent_id": [draw(parents) for _ in ids],
                         "category": [draw(st.sampled_from(CATS)) for _ in ids],
                         "region_code": [draw(st.sampled_from(CODES + ["4401", "999999"])) for _ in ids]})


@given(raw_registries())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_declared_provinces_follow_the_chains_as_a_walk_would(regions, registry):
    """Chains, loops, self-references, missing and blank ids, repeated ids (the last row counts)."""
    got = declared_provinces(registry, regions)
    assert got.to_dict() == _walk_declared(registry, regions)


@given(noisy_orgs(), st.lists(st.tuples(st.sampled_from(["o0", "o1", "o5", "gone", ""]), st.sampled_from(CODES)),
                              max_size=30))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_activity_visibility_column_wise_follows_the_rules_row_by_row(regions, orgs, acts):
    orgs["region_level"] = [regions.level(c) if c else 0 for c in orgs["region_code"]]
    orgs = repair_parents(orgs, regions)
    orgs["province_code"] = admin_provinces(orgs, regions)
    id_map = pd.DataFrame({"source_org_id": list(orgs["org_id"]) + ["o1x"],
                           "canonical_org_id": list(orgs["org_id"]) + [orgs["org_id"].iloc[0]]})
    activities = pd.DataFrame({"activity_id": [f"a{i}" for i in range(len(acts))],
                               "org_id": [o for o, _ in acts], "region_code": [c for _, c in acts]})
    got = assign_activities(activities, id_map, orgs, regions)
    canon = dict(zip(id_map["source_org_id"], id_map["canonical_org_id"]))
    info = orgs.set_index("org_id")
    for (org, code), row in zip(acts, got.itertuples(index=False)):
        c = canon.get(org, "")
        if c and info.loc[c, "category"] in ("中国科协", "部委", "全国学会"):
            want = (c, "", "归口单位为全国性单位")
        elif c and info.loc[c, "province_code"]:
            want = (c, info.loc[c, "province_code"], "归口单位所在省级科协")
        else:
            want = (c, (regions.province(code) or "") if code else "", "按活动所在地区")
        assert (row.canonical_org_id, row.province_code, row.basis) == want


def test_rollup_counts_match_a_walk_over_the_whole_tree(regions):
    """Leaves are folded into their parent before networkx sorts the 科协 tree; the totals must be
    those of walking every unit up to the root."""
    orgs = pd.DataFrame({"org_id": ["root", "gd", "gz", "by", "co1", "co2", "lone"],
                         "category": ["中国科协", "省级科协", "市级科协", "县级科协", "企业科协", "其他", "企业科协"],
                         "region_code": ["", "440000", "440100", "440111", "440111", "440100", ""],
                         "parent_id": ["", "root", "gd", "gz", "by", "gz", ""]})
    stats = rollup(orgs, pd.Series(["co1", "co1", "co2", "gz", "lone", "", "missing"])).set_index("org_id")
    assert stats["organizations"].to_dict() == {"root": 6, "gd": 5, "gz": 4, "by": 2}
    assert stats["activities"].to_dict() == {"root": 4, "gd": 4, "gz": 4, "by": 2}
    assert stats["activities_direct"].to_dict() == {"root": 0, "gd": 0, "gz": 1, "by": 0}


def _walk_admin(orgs, regions):
    """admin_provinces read literally: walk up from each unit, remembering what was found."""
    parent = dict(zip(orgs["org_id"], orgs["parent_id"]))
    category = dict(zip(orgs["org_id"], orgs["category"]))
    region = dict(zip(orgs["org_id"], orgs["region_code"]))
    memo = {}

    def province_of(oid):
        path = []
        while oid and oid not in memo:
            path.append(oid)
            cat = category.get(oid, "")
            if cat in ("中国科协", "部委", "全国学会"):
                memo[oid] = ""
                break
            if cat == "省级科协":
                memo[oid] = regions.province(region[oid]) or ""
                break
            nxt = parent.get(oid, "")
            if not nxt or nxt in path:
                memo[oid] = (regions.province(region.get(oid)) or "") if region.get(oid) else ""
                break
            oid = nxt
        found = memo.get(oid, "") if oid else ""
        for p in path:
            memo.setdefault(p, found)
        return found

    return [province_of(o) for o in orgs["org_id"]]


@given(noisy_orgs())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_admin_provinces_by_pointer_doubling_equal_the_walk_even_with_loops(regions, orgs):
    """Declared parents as they come (loops, self-references, missing ids), not only repaired trees."""
    orgs = orgs.assign(parent_id=[p[0] if p else "" for p in orgs["declared_parents"]])
    assert admin_provinces(orgs, regions).tolist() == _walk_admin(orgs, regions)
    repaired = repair_parents(orgs.assign(region_level=[regions.level(c) if c else 0 for c in orgs["region_code"]]),
                              regions)
    assert admin_provinces(repaired, regions).tolist() == _walk_admin(repaired, regions)
