import re
import subprocess
import sys

from core.config import Settings
from tests.conftest import ROOT


def test_pure_packages_and_the_service_never_import_prefect_or_gx():
    code = ("import sys, core.normalise, core.records, core.store, core.checks, dedupe.resolve, hierarchy.repair, "
            "hierarchy.visibility, hierarchy.rollup, cli\n"
            "bad = [m for m in ('prefect', 'great_expectations') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_dedupe_and_hierarchy_do_not_import_each_other_or_do_io():
    for pkg, other in (("dedupe", "hierarchy"), ("hierarchy", "dedupe")):
        for path in (ROOT / pkg).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(rf"^\s*(from|import) {other}\b", text, re.M), path
            assert "open(" not in text and "read_csv" not in text and "to_csv" not in text, path


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"ORGREG_{name.upper()}" not in readme]
    assert missing == []
