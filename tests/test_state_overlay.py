"""Decisions applied to the served state in place equal a full load of the same live state, over
random decision sequences (accepts, rejects, explicit merges, undos); the autocomplete answers for the
units as they are now."""
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.store import Store
from serve.desk import Desk, Refused
from serve.state import SnapshotHolder, load
from tests import review_fixture

REVIEWER = {"name": "rev", "role": "reviewer"}
IN_PLACE_SEEN: list[int] = []  # how many refreshes of each example were applied in place (the test's reach)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    home = tmp_path_factory.mktemp("overlay") / "home"
    _, store = review_fixture.publish_queue(home, pairs=6)
    store.engine.dispose()
    return home


def fresh(template, tmp_path) -> Store:
    home = tmp_path / f"h{np.random.default_rng().integers(1 << 40)}"
    shutil.copytree(template, home)  # the database's snapshot paths point at the template's folders
    return Store(home, f"sqlite:///{home / 'orgreg.db'}")


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False)


def assert_equal_to_full_load(held, store):
    cur, full = held.current, load(store, held.regions)
    assert (cur.version, cur.generation, cur.label) == (full.version, full.generation, full.label)
    same(cur.orgs, full.orgs)
    same(cur.visibility, full.visibility)
    same(cur.records, full.records)
    same(cur.id_map, full.id_map)
    same(cur.suggestions, full.suggestions)
    assert cur.children == full.children
    for field in ("ids", "canonical", "how"):
        assert getattr(cur.canonical, field).tolist() == getattr(full.canonical, field).tolist()
    # every name the autocomplete knows finds the same units, each as it is now
    for name in sorted(set(full.orgs["name"])):
        now = cur.index.suggest(name, limit=50)
        assert {r["org_id"] for r in now} == {r["org_id"] for r in full.index.suggest(name, limit=50)}
        for r in now:
            row = full.orgs.loc[r["org_id"]]
            assert (r["name"], r["certified"], r["province_code"]) == (row["name"], bool(row["certified"]),
                                                                        row["province_code"])


actions = st.lists(st.tuples(st.sampled_from(["accept", "reject", "merge", "undo"]), st.integers(0, 40),
                             st.integers(0, 40)), min_size=1, max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_decisions_applied_in_place_equal_a_full_load(template, tmp_path, steps):
    store = fresh(template, tmp_path)
    held = SnapshotHolder(store)
    held.refresh()
    desk = Desk(store)
    ids = sorted(held.current.id_map["source_org_id"])
    in_place = 0
    for kind, i, j in steps:
        try:
            if kind == "undo":
                desk.undo(REVIEWER)
            elif kind == "merge":
                desk.merge([ids[i % len(ids)], ids[j % len(ids)]], REVIEWER)
            else:
                queue = desk.queue()
                if queue.empty:
                    continue
                desk.decide(queue["id"].iloc[i % len(queue)], kind, REVIEWER)
        except (Refused, LookupError, ValueError):
            continue  # refused (a conflict, nothing to undo): nothing changed
        before = held.current.generation
        held.refresh()
        in_place += held.current.index_generation != held.current.generation
        assert held.current.generation > before
        assert_equal_to_full_load(held, store)
    IN_PLACE_SEEN.append(in_place)
    store.engine.dispose()


def test_a_merge_is_applied_in_place_and_the_merged_name_finds_the_survivor(template, tmp_path):
    store = fresh(template, tmp_path)
    held = SnapshotHolder(store)
    held.refresh()
    built = held.current.built_index
    Desk(store).merge(["q0a", "q0b"], REVIEWER, "q0a")
    held.refresh()
    assert held.current.built_index is built and held.current.index_generation < held.current.generation
    found = [r["org_id"] for r in held.current.index.suggest("测试单位00乙协会")]
    assert found[0] == "q0a" and "q0b" not in found
    assert held.current.canonical.get("q0b") == "q0a"
    held.refresh(full=True)  # what the quiet rebuild does
    assert held.current.built_index is not built and held.current.index_generation == held.current.generation
    assert [r["org_id"] for r in held.current.index.suggest("测试单位00乙协会")][0] == "q0a"
    store.engine.dispose()


def test_a_correction_loads_in_full(template, tmp_path):
    store = fresh(template, tmp_path)
    held = SnapshotHolder(store)
    held.refresh()
    Desk(store).correct("q1a", {"name": "更正后的协会名称"}, REVIEWER)
    held.refresh()
    assert held.current.index_generation == held.current.generation  # new names to search: a fresh index
    assert held.current.index.suggest("更正后的协会名称")[0]["org_id"] == "q1a"
    store.engine.dispose()


def test_the_property_test_reached_the_in_place_path():
    """Runs after it (file order): some examples must have taken the in-place path, or it tested nothing."""
    assert IN_PLACE_SEEN and sum(IN_PLACE_SEEN) > 0
