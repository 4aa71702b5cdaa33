"""The bundled sample's contract export, byte for byte, against the files in tests/golden/sample/.

A change of behaviour shows as a diff of these files; when it is intended, rewrite them with
``pytest tests/test_golden.py --update-golden`` (or ORGREG_UPDATE_GOLDEN=1) and commit the diff.
"""
import difflib

from core.config import load_settings
from core.snapshot import write_export
from flows.pipeline import read_inputs, run_pipeline
from tests.conftest import ROOT, SAMPLE

GOLDEN = ROOT / "tests" / "golden" / "sample"


def test_the_sample_export_matches_the_golden_files(tmp_path, update_golden):
    run = run_pipeline(read_inputs(SAMPLE / "registry.csv", SAMPLE / "activities.csv"), None,
                       load_settings(home=tmp_path / "home"))
    written = write_export(run.frames, tmp_path / "export")
    if update_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for path in written:
            (GOLDEN / path.name).write_bytes(path.read_bytes())
    differences = []
    for path in written:
        expected = (GOLDEN / path.name).read_text(encoding="utf-8").splitlines()
        got = path.read_text(encoding="utf-8").splitlines()
        if expected != got:
            diff = list(difflib.unified_diff(expected, got, f"golden/{path.name}", f"now/{path.name}", n=0, lineterm=""))
            differences.append(f"{path.name}: {sum(line[:1] in '+-' for line in diff[2:])} lines differ\n" + "\n".join(diff[:12]))
    assert not differences, "\n\n".join(differences) + "\n(intended? pytest tests/test_golden.py --update-golden)"
