import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import dedupe
from dedupe.blocking import block_pairs
from dedupe.canonical import choose_survivors
from dedupe.cluster import cluster_pairs
from dedupe.resolve import resolve_duplicates
from tests.conftest import ROOT


def test_dedupe_is_this_repository_not_the_pypi_package():
    # PyPI has a package called dedupe; ours must win
    assert dedupe.__file__.startswith(str(ROOT))


def resolve(prepared, rows, decisions=None):
    records = prepared(rows)
    res = resolve_duplicates(records, auto_threshold=0.92, review_threshold=0.70, decisions=decisions)
    return dict(zip(res.id_map["source_org_id"], res.id_map["canonical_org_id"])), res


def same(canon, a, b):
    return canon[a] == canon[b]


DUPLICATES = [
    [("1", "广州市科协", "市级科协", "440100"), ("2", "广州市科学技术协会", "市级科协", ""),
     ("3", "广东省广州市科学技术协会", "", "440100"), ("4", "廣州市科學技術協會（重复）", "市级科协", "440000")],
    [("5", "中国数学会", "全国学会", "110106"), ("6", "中国数学会（CMS）-", "其他", "110101"),
     ("7", "CMS中国数学会", "全国学会", "")],
    [("8", "润辉水务有限公司科协", "企业科协", "510105"), ("9", "四川省成都市润辉水务有限公司科学技术协会", "", "")],
    [("10", "开江县第五中学", "其他", "511723"), ("11", "开江第5中学(已认证)", "其他", "511723")],
    [("12", "辉晨信息技术集团有限公司科协", "企业科协", "500104"), ("13", "暉晨信息技術集團有限公司科學技術協會", "企业科协", "500104")],
    [("14", "襄樊市科协", "市级科协", ""), ("15", "襄阳市科学技术协会", "市级科协", "420600")],
]
DISTINCT = [
    (("20", "北京市朝阳区科协", "县级科协", "110105"), ("21", "长春市朝阳区科协", "县级科协", "220104")),
    (("22", "鼓楼区科学技术协会", "县级科协", "320106"), ("23", "鼓楼区科学技术协会", "县级科协", "350102")),
    (("24", "山东省科学技术协会", "省级科协", "370000"), ("25", "山西省科学技术协会", "省级科协", "140000")),
    (("26", "南京市科学技术协会", "市级科协", "320100"), ("27", "南宁市科学技术协会", "市级科协", "450100")),
    (("28", "吉林省科协", "省级科协", "220000"), ("29", "吉林市科协", "市级科协", "220200")),
    (("30", "中国化学会", "全国学会", ""), ("31", "中国化工学会", "全国学会", "")),
    (("32", "深圳市科协", "市级科协", "440300"), ("33", "深圳市科技馆", "科普教育基地", "440300")),
    (("34", "开江县第一中学", "其他", "511723"), ("35", "开江县第二中学", "其他", "511723")),
    (("36", "囊谦县林业科学研究所", "其他", "632725"), ("37", "囊谦县农业科学研究所", "其他", "632725")),
    (("38", "贵州省疾病预防控制中心", "其他", "520000"), ("39", "贵阳市疾病预防控制中心", "其他", "520100")),
    (("40", "中国地质大学（北京）科协", "高校科协", "110108"), ("41", "中国地质大学（武汉）科协", "高校科协", "420111")),
    (("42", "博丰电力工程有限公司科协", "企业科协", "430524"), ("43", "博丰电力工程有限公司科协", "企业科协", "440111")),
]


def rows_of(*groups):
    return [{"org_id": o, "name": n, "category": c, "region_code": r} for g in groups for (o, n, c, r) in g]


@pytest.mark.parametrize("group", DUPLICATES, ids=[g[0][1] for g in DUPLICATES])
def test_typed_variants_of_one_unit_merge_automatically(prepared, group):
    canon, res = resolve(prepared, rows_of(group))
    assert len({canon[o] for o, *_ in group}) == 1
    assert set(res.id_map["how"]) <= {"same", "auto"}


@pytest.mark.parametrize("pair", DISTINCT, ids=[f"{a[1]}/{b[1]}" for a, b in DISTINCT])
def test_look_alike_units_stay_apart(prepared, pair):
    canon, res = resolve(prepared, rows_of(pair))
    assert not same(canon, pair[0][0], pair[1][0])


def test_everything_together_keeps_precision(prepared):
    canon, res = resolve(prepared, rows_of(*DUPLICATES, *DISTINCT))
    truth = {o: i for i, g in enumerate(DUPLICATES) for o, *_ in g}
    truth.update({o: 100 + 2 * i + j for i, p in enumerate(DISTINCT) for j, (o, *_) in enumerate(p)})
    wrong = [(a, b) for a in canon for b in canon if a < b and same(canon, a, b) and truth[a] != truth[b]]
    assert wrong == []


def test_unknown_place_with_a_common_name_goes_to_review_not_merge(prepared):
    rows = rows_of([("1", "西湖区科学技术协会", "县级科协", ""), ("2", "西湖区科学技术协会", "县级科协", "")])
    canon, res = resolve(prepared, rows)
    assert not same(canon, "1", "2")
    assert len(res.suggestions) == 1 and "地区" in res.suggestions["explanation"][0]


def test_a_placeless_firm_joins_the_one_firm_with_its_full_name(prepared):
    """Heads are told apart with their generic suffix: a 有限公司 and a 集团有限公司 of one brand are two
    firms, so the 集团 record without a place still names exactly one unit."""
    rows = rows_of([("1", "远润联茶业集团有限公司科学技术协会", "企业科协", "370321"),
                    ("2", "远润联茶业集团有限公司科协", "企业科协", ""),
                    ("3", "远润联茶业有限公司科学技术协会", "企业科协", "140825"),
                    ("4", "海信兴电力工程集团有限公司科协", "企业科协", ""),
                    ("5", "海信兴电力工程集团有限公司科学技术协会", "企业科协", ""),
                    ("6", "海信兴电力工程集团有限公司科学技术协会", "企业科协", "331000")])
    canon, res = resolve(prepared, rows)
    assert same(canon, "1", "2") and not same(canon, "1", "3")
    assert same(canon, "4", "5") and same(canon, "4", "6")  # two placeless records: the name's one place
    # the same firm name in two places leaves a placeless record undecided: review, not a guess
    rows.append({"org_id": "7", "name": "远润联茶业集团有限公司科协", "category": "企业科协", "region_code": "110105"})
    canon, res = resolve(prepared, rows)
    assert not same(canon, "2", "1") and not same(canon, "2", "7")
    assert {"1", "2"} <= set(res.suggestions[["left_org_id", "right_org_id"]].to_numpy().ravel())


def test_a_brand_a_character_longer_in_one_place_is_suggested_never_merged(prepared):
    # 晨光/海晨光 may be two firms or one typed with a character added: where place and category agree a
    # person decides (issue 13: such a pair is at least a suggestion)
    a, b = "晨光信息技术股份有限公司科协", "海晨光信息技术股份有限公司科协"
    canon, res = resolve(prepared, rows_of([("1", a, "企业科协", "411330"), ("2", b, "企业科协", "411330")]))
    assert not same(canon, "1", "2")
    assert res.suggestions[["left_org_id", "right_org_id"]].to_numpy().tolist() == [["1", "2"]]
    assert "差一字" in res.suggestions["explanation"][0]


def test_a_firm_under_another_company_form_or_without_its_kexie_is_suggested_where_places_agree(prepared):
    # issue 13: 有限公司 / 股份有限公司, 集团 or not, a firm and its 科协 may be one unit: a person decides
    rows = rows_of([("1", "润辉水务有限公司科协", "企业科协", "411330"),
                    ("2", "润辉水务集团股份有限公司科学技术协会", "企业科协", "411330"),
                    ("3", "润辉水务有限责任公司", "企业科协", "411330"),
                    ("4", "润辉水务有限公司科协", "企业科协", "110105")])  # another province: another firm
    canon, res = resolve(prepared, rows)
    assert not any(same(canon, a, b) for a, b in (("1", "2"), ("1", "3"), ("2", "3"), ("1", "4")))
    pairs = {tuple(sorted(p)) for p in res.suggestions[["left_org_id", "right_org_id"]].to_numpy().tolist()}
    assert {("1", "2"), ("1", "3"), ("2", "3")} <= pairs and not {p for p in pairs if "4" in p}


def test_brands_two_characters_apart_are_neither_merged_nor_suggested(prepared):
    a, b = "宇海泰光电科技集团有限公司科协", "阳宇海光电科技集团有限公司科协"
    canon, res = resolve(prepared, rows_of([("1", a, "企业科协", "411330"), ("2", b, "企业科协", "411330")]))
    assert not same(canon, "1", "2") and res.suggestions.empty


def test_explanations_are_chinese_and_name_the_evidence(prepared):
    rows = rows_of([("1", "西湖区科学技术协会", "县级科协", ""), ("2", "西湖区科学技术协会", "", "")])
    text = resolve(prepared, rows)[1].suggestions["explanation"][0]
    assert "地名" in text and "类别" in text and "得分" in text and "（无）" not in text


def test_no_chaining_through_a_record_without_place(prepared):
    # B has no place and matches both A (北京) and C (长春); A and C are different units
    rows = rows_of([("A", "朝阳区青少年宫", "科普教育基地", "110105"), ("B", "朝阳区青少年宫", "科普教育基地", ""),
                    ("C", "朝阳区青少年宫", "科普教育基地", "220104")])
    canon, _ = resolve(prepared, rows)
    assert not same(canon, "A", "C")


def test_people_decisions_come_first(prepared):
    rows = rows_of([("1", "广州市科协", "市级科协", "440100"), ("2", "广州市科学技术协会", "市级科协", "440100"),
                    ("3", "西湖区科学技术协会", "县级科协", ""), ("4", "西湖区科学技术协会", "县级科协", "")])
    decisions = pd.DataFrame({"left_org_id": ["1", "3"], "right_org_id": ["2", "4"],
                              "decision": ["distinct", "match"]})
    canon, res = resolve(prepared, rows, decisions)
    assert not same(canon, "1", "2") and same(canon, "3", "4")
    assert dict(zip(res.id_map["source_org_id"], res.id_map["how"]))["4"] in ("reviewed", "same")
    pairs = set(zip(res.suggestions["left_org_id"], res.suggestions["right_org_id"]))
    assert ("1", "2") not in pairs and ("2", "1") not in pairs


def test_survivor_is_certified_then_busiest_then_oldest(prepared):
    rows = [{"org_id": "1", "name": "广州市科协", "region_code": "440100", "certified": "否", "created_at": "2020-01-01"},
            {"org_id": "2", "name": "广州市科学技术协会", "region_code": "440100", "certified": "是", "created_at": "2022-01-01"},
            {"org_id": "3", "name": "广州科协", "region_code": "440100", "certified": "否", "created_at": "2019-01-01"}]
    records = prepared(rows)
    roots = np.zeros(3, dtype=int)
    assert records["org_id"][choose_survivors(records, roots).iloc[0]] == "2"
    records["certified"] = False
    acts = pd.Series({"1": 5})
    assert records["org_id"][choose_survivors(records, roots, acts).iloc[0]] == "1"
    assert records["org_id"][choose_survivors(records, roots).iloc[0]] == "3"
    assert records["org_id"][choose_survivors(records, roots, previous_canonical={"1"}).iloc[0]] == "1"


names = st.sampled_from(["广州市科协", "广州市科学技术协会", "朝阳区科协", "第一中学", "润辉水务有限公司科协",
                         "北京市朝阳区第一中学", "科技馆", "中国化学会"])
codes = st.sampled_from(["", "440100", "110105", "220104", "440000"])


@given(st.lists(st.tuples(names, codes), min_size=1, max_size=25))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_blocking_yields_no_self_pairs_or_repeats_and_clusters_partition(prepared, rows):
    records = prepared([{"org_id": str(i), "name": n, "region_code": c} for i, (n, c) in enumerate(rows)])
    pairs, _ = block_pairs(records)
    assert (pairs["rid_l"] < pairs["rid_r"]).all()
    assert not pairs.duplicated().any()
    res = resolve_duplicates(records, auto_threshold=0.92, review_threshold=0.7)
    assert sorted(res.id_map["source_org_id"]) == sorted(records["org_id"])
    canon = dict(zip(res.id_map["source_org_id"], res.id_map["canonical_org_id"]))
    assert all(canon[c] == c for c in canon.values())  # no chains


def test_cluster_refuses_to_join_across_a_known_conflict():
    scored = pd.DataFrame({"rid_l": [0, 1, 0], "rid_r": [1, 2, 2], "score": [0.99, 0.98, 0.0]})
    roots, edges, review = cluster_pairs(3, scored, 0.92, 0.7)
    # 1 fits both 0 and 2, which are distinct: it joins neither (a guess either way), both go to review
    assert len(set(roots.tolist())) == 3 and len(review) == 2


def _partition(roots) -> set[frozenset]:
    groups: dict[int, set[int]] = {}
    for i, r in enumerate(np.asarray(roots).tolist()):
        groups.setdefault(r, set()).add(i)
    return {frozenset(g) for g in groups.values()}


PLACES = ["", "110000", "110100", "110101", "110102", "120000", "120101"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                       st.sampled_from([0.0, 0.5, 0.75, 0.8, 0.93, 0.95, 0.95, 0.99])), max_size=25),
    st.one_of(st.just([""] * n), st.lists(st.sampled_from(PLACES), min_size=n, max_size=n)),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans()), max_size=2))))
@example((3, [(0, 1, 0.95), (1, 2, 0.95), (0, 2, 0.0)], ["", "", ""], []))  # a chain through a distinct pair
@example((3, [(0, 1, 0.95), (1, 2, 0.95)], ["", "", ""], [(0, 1, True)]))  # a person's match first
@example((3, [(0, 1, 0.95), (1, 2, 0.95)], ["110101", "", "110102"], []))  # two counties
def test_clustering_only_refusable_components_one_by_one_equals_the_greedy_rule(case):
    """cluster_pairs runs the greedy rule only where a join can be refused; everywhere the result must
    be the rule's: the same clusters, the same automatic connections, the same suggestions."""
    from dedupe.canonical import how_merged
    from dedupe.cluster import _Places, _greedy

    n, raw, places, decisions = case
    seen, rows = set(), []
    for a, b, score in raw:
        if a != b and (min(a, b), max(a, b)) not in seen:
            seen.add((min(a, b), max(a, b)))
            rows.append((min(a, b), max(a, b), score))
    scored = pd.DataFrame(rows, columns=["rid_l", "rid_r", "score"]).astype({"rid_l": np.int64, "rid_r": np.int64})
    code = np.array(places, dtype=object)
    place = (code, np.array([c[:4] + "00" if c and not c.endswith("0000") else "" for c in places], dtype=object),
             np.array([c[:2] + "0000" if c else "" for c in places], dtype=object))
    decided = [(min(a, b), max(a, b), m) for a, b, m in decisions if a != b]
    must = pd.DataFrame([(a, b) for a, b, m in decided if m], columns=["rid_l", "rid_r"])
    cannot = pd.DataFrame([(a, b) for a, b, m in decided if not m], columns=["rid_l", "rid_r"])
    roots, edges, review = cluster_pairs(n, scored, 0.92, 0.7, must, cannot, place)

    candidates = scored[scored["score"] >= 0.7].sort_values(["score", "rid_l", "rid_r"], ascending=[False, True, True])
    want_roots, joined, want_review = _greedy(n, candidates, scored.loc[scored["score"] <= 0, ["rid_l", "rid_r"]],
                                              0.92, must, cannot, _Places(*place))
    assert _partition(roots) == _partition(want_roots)
    want_edges = pd.DataFrame(joined, columns=["rid_l", "rid_r", "score", "how"])
    survivor = pd.Series(np.arange(n))  # any survivor: auto connectivity must agree for each
    for s in range(n):
        survivor = pd.Series(np.where(want_roots == want_roots[s], s, np.arange(n)))
        assert (how_merged(n, edges, survivor) == how_merged(n, want_edges, survivor)).all()
    want = pd.DataFrame(want_review, columns=["rid_l", "rid_r", "score"])
    if len(want):
        lo = np.minimum(want_roots[want["rid_l"]], want_roots[want["rid_r"]])
        hi = np.maximum(want_roots[want["rid_l"]], want_roots[want["rid_r"]])
        want = want.assign(lo=lo, hi=hi)[lo != hi].sort_values(["score", "rid_l", "rid_r"], ascending=[False, True, True])
        want = want.drop_duplicates(["lo", "hi"])
    assert sorted(zip(review["rid_l"], review["rid_r"], review["score"])) == \
        sorted(zip(want["rid_l"], want["rid_r"], want["score"])) if len(want) else len(review) == 0


def _places_of(codes):
    code = np.array(codes, dtype=object)
    return (code, np.array([c[:4] + "00" if c and not c.endswith("0000") else "" for c in codes], dtype=object),
            np.array([c[:2] + "0000" if c else "" for c in codes], dtype=object))


def test_a_record_that_fits_two_units_merges_with_neither():
    # 0: 黑龙江康润物流 [230000] matches 1: 鸡西's [230300] and 2: 哈尔滨's [230100] automatically; 1 and 2
    # can never be one unit, so joining 0 to either is a guess: both pairs go to a person
    scored = pd.DataFrame({"rid_l": [0, 0], "rid_r": [1, 2], "score": [0.96, 0.95]})
    roots, edges, review = cluster_pairs(3, scored, 0.92, 0.7, places=_places_of(["230000", "230300", "230100"]))
    assert len(set(roots.tolist())) == 3 and edges.empty
    assert sorted(zip(review["rid_l"], review["rid_r"])) == [(0, 1), (0, 2)]


def test_a_record_whose_matches_are_one_unit_still_merges():
    scored = pd.DataFrame({"rid_l": [0, 0, 1], "rid_r": [1, 2, 2], "score": [0.96, 0.95, 0.99]})
    roots, _, review = cluster_pairs(3, scored, 0.92, 0.7, places=_places_of(["230000", "230300", "230302"]))
    assert len(set(roots.tolist())) == 1 and review.empty


def test_column_wise_scoring_gives_the_verdicts_of_the_reference_rules(regions):
    """dedupe.scoring scores all pairs at once; compare_records is the readable rule set. On the sample
    registry's candidate pairs plus random pairs (places, typos, suffixes, categories of every kind)
    both must agree on every field of every pair."""
    import numpy as np

    from core.records import prepare_registry
    from core.sources import read_table
    from core.checks import check_registry
    from dedupe.blocking import block_pairs
    from dedupe.compare import HeadPlaces, compare_records
    from dedupe.scoring import SCORING_COLUMNS, score_pairs
    from dedupe.typos import correct_common_heads
    from tests.conftest import SAMPLE

    raw = read_table(SAMPLE / "registry.csv", "registry")
    # firms under another company form, with 集团 or without, and without their 科协, at every kind of place
    kin = [(f"K{i}", name, cat, code) for i, (name, cat, code) in enumerate(
        (n, c, code) for n, c in (("润辉水务有限公司科协", "企业科协"), ("润辉水务股份有限公司科协", "企业科协"),
                                  ("润辉水务集团有限公司", "其他"), ("润辉水务有限责任公司", "企业科协"))
        for code in ("411330", "411300", "", "110105"))]
    extra = pd.DataFrame(kin, columns=["org_id", "name", "category", "region_code"])
    extra = extra.reindex(columns=raw.frame.columns, fill_value="").assign(_row=range(len(raw.frame) + 2, len(
        raw.frame) + 2 + len(extra)))
    raw.frame = pd.concat([raw.frame, extra.astype(raw.frame.dtypes.to_dict())], ignore_index=True)
    records = correct_common_heads(prepare_registry(check_registry(raw, regions).clean, regions))
    blocked, _ = block_pairs(records)
    rng = np.random.default_rng(3)
    random = rng.integers(0, len(records), size=(4000, 2))
    pairs = pd.concat([blocked, pd.DataFrame(random, columns=["rid_l", "rid_r"])], ignore_index=True)
    heads = HeadPlaces(records)
    batch = score_pairs(records, pairs, heads)
    rows = records[SCORING_COLUMNS].to_dict("records")
    for (a, b), got in zip(pairs.itertuples(index=False), batch.itertuples(index=False)):
        want = compare_records(rows[a], rows[b], heads)
        assert (got.score, got.head_similarity, got.name_place, got.place, got.category, got.note) == \
            (want.score, want.head_similarity, want.name_place, want.place, want.category, want.note), (a, b)
    assert len(set(batch["note"])) >= 8  # the pairs reach most rules, not only the first
    from dedupe.compare import KIN_NOTE
    assert KIN_NOTE in set(batch["note"])


def test_column_wise_blocking_keys_are_the_per_record_keys(regions):
    """record_keys builds the keys of head_keys/place_key for all records at once; same keys, each once."""
    import numpy as np

    from core.checks import check_registry
    from core.records import prepare_registry
    from core.sources import read_table
    from dedupe.blocking import COMMON_HEAD_PLACES, head_keys, place_key, record_keys
    from tests.conftest import SAMPLE

    records = prepare_registry(check_registry(read_table(SAMPLE / "registry.csv", "registry"), regions).clean, regions)
    records.loc[0, ["name_head", "place_token"]] = ["第一一中学实验", ""]  # a repeated character
    place = records["name_region_code"].where(records["name_region_code"] != "", records["region_text"])
    spread = records[records["prefecture_best"] != ""].groupby("name_head")["prefecture_best"].nunique()
    common = set(spread[spread > COMMON_HEAD_PLACES].index)
    expected = set()
    for rid, (h, s, p, t) in enumerate(zip(records["name_head"], records["name_suffix"], place, records["place_token"])):
        own = head_keys(h, s, p, h in common) | ({place_key(t, h, s)} - {None})
        expected |= {(k, rid) for k in own}
    strings = np.array([k for k, _ in expected], dtype=object)
    hashed = pd.util.hash_array(strings, categorize=False).view(np.int64).tolist()
    long = record_keys(records)
    assert len(long) == len(expected)
    assert set(zip(long["key"].tolist(), long["rid"].tolist())) == set(zip(hashed, [r for _, r in expected]))


def _correct_by_masking(records, common_places=3):
    """correct_common_heads read literally: every head masked at every position, looked up among the
    common heads' masks."""
    from core.typos import homophones
    from dedupe.typos import MIN_LENGTH, RATIO

    spread = records[records["prefecture_best"] != ""].groupby("name_head")["prefecture_best"].nunique()
    places = spread.to_dict()
    masked = {}
    for head in [h for h, n in places.items() if n > common_places and len(h) >= MIN_LENGTH]:
        for i in range(len(head)):
            masked.setdefault(head[:i] + "\0" + head[i + 1:], []).append(head)
    fixes = {}
    for head in records["name_head"].unique().tolist():
        if len(head) < MIN_LENGTH:
            continue
        mine = places.get(head, 1)
        found = {c for i in range(len(head)) for c in masked.get(head[:i] + "\0" + head[i + 1:], ())
                 if c != head and places[c] >= RATIO * mine and homophones(head[i], c[i])}
        if len(found) == 1:
            fixes[head] = found.pop()
    return [fixes.get(h, h) for h in records["name_head"]]


HEADS = ["青少年宫", "青少年官", "青少年管", "青少年馆", "科技馆所", "科枝馆所", "科技管所", "辉煌中学", "晖煌中学"]


@given(st.lists(st.tuples(st.one_of(st.sampled_from(HEADS), st.text("青少年宫官管馆科技枝辉晖第一中学", min_size=2,
                                                                    max_size=6)),
                          st.sampled_from(["", "110100", "120100", "130100", "140100", "150100", "210100"])),
                min_size=1, max_size=80))
@settings(max_examples=300, deadline=None)
def test_common_head_corrections_equal_masking_every_head(rows):
    """Going out from the few common heads finds what masking every head at every position finds."""
    from dedupe.typos import correct_common_heads

    records = pd.DataFrame({"name_head": [h for h, _ in rows], "prefecture_best": [p for _, p in rows]})
    assert correct_common_heads(records)["name_head"].tolist() == _correct_by_masking(records)
