"""The dev set, end to end without Prefect, through the scorer in ../shared/data/dev/score.py."""
import json
import subprocess
import sys

import pytest

from tests.conftest import DEV


@pytest.mark.skipif(not (DEV / "score.py").exists(), reason="the shared dev set is not beside this checkout")
def test_dev_set_meets_the_targets(tmp_path):
    from core.config import load_settings
    from core.snapshot import write_export
    from flows.pipeline import read_inputs, run_pipeline

    run = run_pipeline(read_inputs(DEV / "registry.csv", DEV / "activities.csv"), None, load_settings(home=tmp_path))
    write_export(run.frames, tmp_path)
    out = subprocess.run([sys.executable, str(DEV / "score.py"), str(DEV), str(tmp_path)], capture_output=True,
                         text=True, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["dup_precision"] >= 0.998 and figures["dup_f1"] >= 0.98
    assert figures["review_recall"] >= 0.995
    left = figures["true_pairs"] - figures["true_positive_pairs"]
    assert figures["suggestions"] <= 1.5 * left
    assert figures["hierarchy_accuracy"] >= 0.99 and figures["visibility_accuracy"] >= 0.998
