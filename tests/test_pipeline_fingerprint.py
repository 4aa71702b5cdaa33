"""A snapshot's prepared records and pair scores are reused only by the same rules: any change to the code
of the pure stages or to a reference file must change the pipeline fingerprint."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import core.config
from core.records import pipeline_fingerprint

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "dedupe", "hierarchy")


@pytest.fixture()
def tree(tmp_path, monkeypatch):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(core.config.REFERENCE_DIR, tmp_path / "data" / "reference",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(core.config, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(core.config, "REFERENCE_DIR", tmp_path / "data" / "reference")
    return tmp_path


def _checkout_fingerprint() -> str:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(core.config, "PROJECT_ROOT", ROOT)
        m.setattr(core.config, "REFERENCE_DIR", ROOT / "data" / "reference")
        return pipeline_fingerprint()


def test_the_same_files_elsewhere_have_the_same_fingerprint(tree):
    """An installed package (site-packages) and a checkout of the same commit reuse each other's snapshots."""
    assert pipeline_fingerprint() == _checkout_fingerprint()


def test_every_stage_module_and_reference_file_changes_the_fingerprint(tree):
    before = pipeline_fingerprint()
    files = [f for p in PACKAGES for f in sorted((tree / p).rglob("*.py"))]
    files += sorted(f for f in (tree / "data" / "reference").rglob("*") if f.is_file())
    assert any(f.name == "place_names.py" for f in files) and any(f.suffix == ".txt" for f in files)
    unchanged = []
    for f in files:
        original = f.read_bytes()
        f.write_bytes(original + b"\n")
        if pipeline_fingerprint() == before:
            unchanged.append(str(f.relative_to(tree)))
        f.write_bytes(original)
    assert unchanged == []
    assert pipeline_fingerprint() == before


def test_a_new_reference_file_changes_the_fingerprint(tree):
    before = pipeline_fingerprint()
    (tree / "data" / "reference" / "new_words.csv").write_text("variant,canonical\n", encoding="utf-8")
    assert pipeline_fingerprint() != before
