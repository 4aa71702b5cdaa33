"""Write-audit-publish on the bundled sample: a registry cut at 40% is held back, --accept-shrink publishes."""

import pandas as pd
import pytest

from core.config import load_settings
from core.guards import ShrinkHeld
from core.store import open_store
from tests.conftest import SAMPLE
from tests.flows.conftest import run

pytestmark = pytest.mark.flow


def test_a_truncated_registry_is_held_back_and_accept_shrink_publishes_it(home, tmp_path):
    lines = (SAMPLE / "registry.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "registry.csv"
    cut.write_text("".join(lines[: int(len(lines) * 0.4)]), encoding="utf-8")  # the export stopped at 40%
    store = open_store(load_settings(home=home))
    live = store.live_snapshot().version
    with pytest.raises(ShrinkHeld, match=r"消失的源记录 ID 6\d\.\d%（上限 5\.0%）.*--accept-shrink"):
        run(home, registry=cut)
    held = store.recent_runs(1)[0]
    assert held["status"] == "held" and store.live_snapshot().version == live
    report = (home / "runs" / f"{held['id']:05d}" / "report.html").read_text(encoding="utf-8")
    assert "结果缩小，暂缓发布" in report and "失去归口单位的活动" in report
    assert not (home / "runs" / f"{held['id']:05d}" / "parent_changes.csv").exists()
    from flows.nightly import nightly

    result = nightly(registry=str(cut), activities=str(SAMPLE / "activities.csv"), home=str(home),
                     accept_shrink=True)
    assert result["status"] == "succeeded" and store.live_snapshot().version == live + 1


def test_a_small_change_publishes(home, tmp_path):
    registry = pd.read_csv(SAMPLE / "registry.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "registry.csv"
    registry.iloc[: int(len(registry) * 0.97)].to_csv(path, index=False)  # 3% gone: under every limit
    assert run(home, registry=path)["status"] == "succeeded"
