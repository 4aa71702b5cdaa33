"""Guards of the design, read from the source itself (AST), so a new file is checked without being listed."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from tests.conftest import ROOT

PACKAGES = ("core", "dedupe", "hierarchy", "flows", "serve")
# What each layer may import from the project: data flows one way, core ← dedupe, hierarchy ← flows, serve ← cli.
ALLOWED = {
    "core": {"core"},
    "dedupe": {"core", "dedupe"},
    "hierarchy": {"core", "hierarchy"},
    "flows": {"core", "dedupe", "hierarchy", "flows"},
    "serve": {"core", "dedupe", "hierarchy", "serve"},
    "cli": {"core", "dedupe", "hierarchy", "flows", "serve"},
}
PROJECT = set(ALLOWED) | {"bench", "tests"}


def production_files() -> list[Path]:
    """Every module of the installed packages, and the command."""
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")) + [ROOT / "cli.py"]


def module_name(path: Path) -> str:
    """`core/store.py` → `core.store`; `serve/__init__.py` → `serve`."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) of every import, including those inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(tree: ast.AST) -> list[tuple[str, int]]:
    """Private names taken from other project modules: `from m import _x` or `import m` … `m._x`."""
    found, aliases = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in PROJECT:
            found += [(f"{node.module}.{a.name}", node.lineno) for a in node.names if private(a.name)]
            aliases |= {a.asname or a.name for a in node.names if not private(a.name)}
        elif isinstance(node, ast.Import):
            aliases |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in PROJECT}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append((f"{ast.unparse(node.value)}.{node.attr}", node.lineno))
    return found


@pytest.mark.parametrize("path", production_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_imports_and_prefect_gx_only_where_they_belong(path):
    layer = module_name(path).split(".")[0]
    bad = []
    for module, _, line in imports(ast.parse(path.read_text(encoding="utf-8"))):
        top = module.split(".")[0]
        if top in PROJECT and top not in ALLOWED[layer]:
            bad.append(f"{line}: {module}")
        if top in ("prefect", "prefect_dask") and layer not in ("flows",):
            bad.append(f"{line}: {module} (Prefect only in flows/)")
        if top == "great_expectations" and module_name(path) != "core.quality":
            bad.append(f"{line}: {module} (great-expectations only in core/quality.py)")
    assert bad == [], bad


@pytest.mark.parametrize("path", production_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_across_modules(path):
    assert private_uses(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_guard_sees_private_names_and_upward_imports():
    """The checks above would catch what they claim to (a guard that cannot fail is a defect)."""
    tree = ast.parse("import dedupe.blocking as b\nfrom serve import review\nfrom core.x import _y\n"
                     "def f():\n    import flows.nightly\n    return b._z(review._w)\n")
    assert sorted(n for n, _ in private_uses(tree)) == ["b._z", "core.x._y", "review._w"]
    assert [m for m, _, _ in imports(tree)] == ["dedupe.blocking", "serve", "core.x", "flows.nightly"]


def test_tests_never_import_bench():
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in sorted((ROOT / "tests").rglob("*.py"))
           for module, _, line in imports(ast.parse(p.read_text(encoding="utf-8")))
           if module.split(".")[0] == "bench"]
    assert bad == []


def test_dedupe_and_hierarchy_do_no_io():
    for pkg in ("dedupe", "hierarchy"):
        for path in (ROOT / pkg).rglob("*.py"):
            calls = {ast.unparse(n.func) for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(n, ast.Call)}
            io = {c for c in calls if c == "open" or c.split(".")[-1] in ("read_csv", "to_csv", "read_parquet",
                                                                            "to_parquet", "now", "today")}
            assert io == set(), (path, io)


def test_the_service_and_the_pure_packages_import_without_prefect_or_gx():
    """Every module of serve/, dedupe/, hierarchy/ and core/ (but quality, GX's one home) and the command."""
    names = [module_name(p) for pkg in ("core", "dedupe", "hierarchy", "serve") for p in (ROOT / pkg).rglob("*.py")
             if module_name(p) != "core.quality"] + ["cli"]
    code = (f"import importlib, sys\nfor m in {names!r}: importlib.import_module(m)\n"
            "from serve.app import create_app\n"
            "bad = [m for m in ('prefect', 'great_expectations') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_doctests_are_collected_from_every_package():
    """``--doctest-modules`` only sees ``testpaths``: each package (and the command) must be among them."""
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"]
    assert set(PACKAGES) | {"cli.py"} <= set(options["testpaths"])


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"ORGREG_{name.upper()}" not in readme]
    assert missing == []
