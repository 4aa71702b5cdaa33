import pandas as pd
import pytest

from core.config import load_settings
from core.store import open_store
from flows.nightly import nightly, schedule_of, with_dask
from tests.conftest import SAMPLE

pytestmark = pytest.mark.flow


def test_dask_cluster_gives_the_same_snapshot_as_in_process(tmp_path):
    from distributed import LocalCluster

    args = {"registry": str(SAMPLE / "registry.csv"), "activities": str(SAMPLE / "activities.csv")}
    nightly(home=str(tmp_path / "local"), **args)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with_dask(cluster.scheduler_address)(home=str(tmp_path / "dask"), **args)
    local = open_store(load_settings(home=tmp_path / "local")).live_snapshot()
    dask = open_store(load_settings(home=tmp_path / "dask")).live_snapshot()
    for name in ("id_map", "organizations", "merge_suggestions", "activity_visibility"):
        pd.testing.assert_frame_equal(local.frame(name), dask.frame(name))


def test_the_schedule_keeps_its_timezone():
    s = schedule_of("0 2 * * *", "Asia/Shanghai")
    assert s.cron == "0 2 * * *" and s.timezone == "Asia/Shanghai"
