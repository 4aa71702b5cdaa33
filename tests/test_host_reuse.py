"""Host linking is skipped when nothing it reads changed (activities, records, ids, units, thresholds) and
runs again, giving what a full run gives, when something did."""
import pandas as pd

from core.config import load_settings
from core.store import open_store
from flows.pipeline import Runner, read_inputs, run_pipeline
from flows.shapes import PreviousRun
from tests.conftest import SAMPLE

HOST_FRAMES = ("activity_hosts", "missing_units", "rollup")


class Counting(Runner):
    """The in-process runner, remembering which stages it ran."""

    def __init__(self):
        super().__init__()
        self.ran = []

    def call(self, fn, *args):
        self.ran.append(fn.__name__)
        return fn(*args)


def _published(tmp_path, registry, activities):
    settings = load_settings(home=tmp_path / "home")
    store = open_store(settings)
    first = run_pipeline(read_inputs(registry, activities), None, settings)
    store.publish(first.frames, None, first.counts, cache=first.cache)
    return settings, store, first


def test_an_unchanged_night_reuses_the_host_links(tmp_path):
    registry, activities = SAMPLE / "registry.csv", SAMPLE / "activities.csv"
    settings, store, first = _published(tmp_path, registry, activities)
    runner = Counting()
    again = run_pipeline(read_inputs(registry, activities), PreviousRun.from_snapshot(store.live_snapshot()),
                         settings, runner=runner)
    assert "link_hosts" not in runner.ran and "settle" in runner.ran
    assert len(first.frames["activity_hosts"]) > 0
    for name in HOST_FRAMES:
        pd.testing.assert_frame_equal(again.frames[name], first.frames[name])


def test_changed_activities_are_linked_again_as_a_full_run_would(tmp_path):
    registry = SAMPLE / "registry.csv"
    settings, store, _ = _published(tmp_path, registry, SAMPLE / "activities.csv")
    acts = pd.read_csv(SAMPLE / "activities.csv", dtype=str, keep_default_na=False)
    changed = tmp_path / "activities.csv"
    acts.iloc[5:].to_csv(changed, index=False)  # five activities (and their hosts) gone tonight
    runner = Counting()
    incremental = run_pipeline(read_inputs(registry, changed), PreviousRun.from_snapshot(store.live_snapshot()),
                               settings, runner=runner)
    full = run_pipeline(read_inputs(registry, changed), None, settings)
    assert "link_hosts" in runner.ran
    for name in HOST_FRAMES:
        pd.testing.assert_frame_equal(incremental.frames[name], full.frames[name])
