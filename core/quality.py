"""great-expectations suites for the raw exports and the snapshot, with Data Docs per run
(``data_docs/<suite>/index.html``: ``registry_raw``, ``activities_raw``, ``snapshot``), offline and in
Chinese (``core/data_docs.py``; the vendored CSS/JS in ``data_docs/assets``).

The row masks computed in ``core.checks`` decide the quarantine (cheap at any failure rate); GX
checks the same rules plus the structural ones and renders them as Data Docs for operations staff.
This is the only module that imports great_expectations, and only when a validation runs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.data_docs import make_offline
from core.lookups import within
from core.schema import CATEGORIES


@dataclass
class ValidationOutcome:
    name: str
    success: bool
    failed: list[str]  # expectation types (with column) that failed
    docs_index: str  # file path of the Data Docs index, "" when not built


def _context(docs_dir: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    docs_dir.mkdir(parents=True, exist_ok=True)
    ctx.add_data_docs_site(site_name="orgreg", site_config={
        "class_name": "SiteBuilder", "show_how_to_buttons": False, "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())}})
    return gx, ctx


def _run(name: str, frame: pd.DataFrame, expectations: list, docs_dir: Path) -> ValidationOutcome:
    # one site per suite: each validation has its own ephemeral context, whose site build would
    # otherwise replace the index of the suites validated before it (the input's docs were lost so)
    docs_dir = docs_dir / name
    gx, ctx = _context(docs_dir)
    batch_def = (ctx.data_sources.add_or_update_pandas("orgreg").add_dataframe_asset(name)
                 .add_batch_definition_whole_dataframe("all"))
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for e in expectations:
        suite.add_expectation(e)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_validation", data=batch_def, suite=suite))
    checkpoint = ctx.checkpoints.add(gx.Checkpoint(
        name=f"{name}_checkpoint", validation_definitions=[vd],
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["orgreg"])],
        result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    failed = []
    for run in result.run_results.values():
        for r in run.results:
            if not r.success:
                cfg = r.expectation_config
                failed.append(f"{cfg.type}({cfg.kwargs.get('column', '')})")
    index = docs_dir / "index.html"
    if index.exists():  # one copy of the CDN files for all suites of the run, beside their folders
        make_offline(docs_dir, docs_dir.parent / "assets")
    return ValidationOutcome(name, bool(result.success), failed, str(index) if index.exists() else "")


def validate_raw_registry(frame: pd.DataFrame, masks: dict[str, pd.Series], docs_dir: Path) -> ValidationOutcome:
    """The contract's rules on the raw registry; row rules are expected to hold for ``mostly`` 100%."""
    import great_expectations.expectations as gxe

    f = frame[["org_id", "name", "category", "region_code"]].replace("", None)
    for rule, mask in masks.items():
        f[f"ok_{rule}"] = mask.to_numpy()
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="org_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="name"),
        gxe.ExpectColumnValuesToBeUnique(column="org_id"),
        gxe.ExpectColumnValuesToBeInSet(column="category", value_set=CATEGORIES),
        gxe.ExpectColumnValuesToMatchRegex(column="region_code", regex=r"^\d{6}$"),
    ] + [gxe.ExpectColumnValuesToBeInSet(column=f"ok_{rule}", value_set=[True]) for rule in masks]
    return _run("registry_raw", f, expectations, docs_dir)


def validate_raw_activities(frame: pd.DataFrame, masks: dict[str, pd.Series], docs_dir: Path) -> ValidationOutcome:
    import great_expectations.expectations as gxe

    f = frame[["activity_id", "org_id", "region_code"]].replace("", None)
    for rule, mask in masks.items():
        f[f"ok_{rule}"] = mask.to_numpy()
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="activity_id"),
        gxe.ExpectColumnValuesToBeUnique(column="activity_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="region_code", regex=r"^\d{6}$"),
    ] + [gxe.ExpectColumnValuesToBeInSet(column=f"ok_{rule}", value_set=[True]) for rule in masks]
    return _run("activities_raw", f, expectations, docs_dir)


def snapshot_checks(orgs: pd.DataFrame, id_map: pd.DataFrame, visibility: pd.DataFrame,
                    n_records: int, n_activities: int) -> pd.DataFrame:
    """One row per snapshot organization with boolean columns the snapshot suite expects to be True."""
    return pd.DataFrame({
        "org_id": orgs["org_id"],
        "parent_known": orgs["parent_id"].eq("").to_numpy() | within(orgs["parent_id"], orgs["org_id"]),
        "province_format": orgs["province_code"].str.fullmatch(r"(\d{2}0000)?"),
        "is_canonical": within(orgs["org_id"], id_map["canonical_org_id"]),
        "id_map_complete": len(id_map) == n_records and id_map["source_org_id"].is_unique,
        "visibility_complete": len(visibility) == n_activities and visibility["activity_id"].is_unique,
        "canonical_have_rows": bool(within(id_map["canonical_org_id"], orgs["org_id"]).all()),
    })


def validate_snapshot(orgs: pd.DataFrame, id_map: pd.DataFrame, visibility: pd.DataFrame,
                      n_records: int, n_activities: int, docs_dir: Path) -> ValidationOutcome:
    """The published snapshot must be a consistent whole before it goes live."""
    import great_expectations.expectations as gxe

    f = snapshot_checks(orgs, id_map, visibility, n_records, n_activities)
    expectations = [gxe.ExpectColumnValuesToBeUnique(column="org_id"),
                    gxe.ExpectColumnValuesToNotBeNull(column="org_id")]
    expectations += [gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True]) for c in f.columns if c != "org_id"]
    return _run("snapshot", f, expectations, docs_dir)
