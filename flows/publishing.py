"""The run report and the Prefect artifacts that link to it."""
from __future__ import annotations

from pathlib import Path

from core.guards import LABELS
from core.regions import default_regions
from flows.report import plot_cluster_sizes, plot_scores, plot_visibility, render_report


def input_summary(inputs: dict, raw: tuple | None, checked: tuple | None) -> dict:
    """What the report says about the input files, so the run need not keep the frames themselves."""
    rows = []
    for i, (label, key) in enumerate((("组织库", "registry"), ("活动", "activities"))):
        row = {"label": label, "path": inputs[key], "rows": "", "kept": "", "quarantined": "", "encoding": ""}
        if raw:
            row.update(rows=len(raw[i].frame) + len(raw[i].unparsable), encoding=raw[i].encoding)
        if checked:
            row.update(kept=len(checked[i].clean), quarantined=len(checked[i].quarantine))
        rows.append(row)
    reasons = []
    if checked and len(checked[0].quarantine):
        reasons = list(checked[0].quarantine["column"].value_counts().items())[:8]
    warnings = (checked[0].warnings + checked[1].warnings) if checked else []
    return {"rows": rows, "reasons": reasons, "warnings": warnings}


def _input_rows(report: dict) -> list[dict]:
    return report.get("input_summary") or input_summary(report["inputs"], None, None)["rows"]


def _short_province(regions, code: str) -> str:
    name = regions.by_code[code].name if code in regions.by_code else code
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def write_run_report(run_dir: Path, report: dict) -> Path:
    """Plots and the HTML page of one run (also of a failed one: it says why and what stays live)."""
    settings = report["settings"]
    plots = []
    res = report.get("resolution")
    if res is not None:
        plots.append({"file": plot_scores(res.stats["score_histogram"], settings.auto_merge_threshold,
                                          settings.review_threshold, run_dir / "scores.png").name,
                      "title": "候选配对得分分布与阈值"})
        plots.append({"file": plot_cluster_sizes(res.id_map, run_dir / "clusters.png").name,
                      "title": "合并后每个单位包含的记录数"})
    gains = report.get("gains")
    regions = default_regions()
    if gains is not None and len(gains):
        gains = gains.assign(province_name=[_short_province(regions, c) for c in gains["province_code"]])
        plots.append({"file": plot_visibility(gains, run_dir / "visibility.png").name,
                      "title": "各省管理员可见的活动：清洗前后"})
    reasons = report.get("quarantine_reasons", [])
    validations = [{"label": {"registry_raw": "组织库输入", "activities_raw": "活动输入", "snapshot": "发布前的快照"}
                    .get(v.name, v.name), "success": v.success, "failed": v.failed,
                    "docs": Path(v.docs_index).relative_to(run_dir).as_posix() if v.docs_index else ""}
                   for v in report.get("validations", [])]
    context = {
        "run_id": report["run_id"], "status": report.get("status", "failed"), "error": report.get("error"),
        "started": report.get("started", ""), "total_seconds": sum(report["timings"].values()),
        "snapshot_version": report.get("snapshot_version"), "inputs": _input_rows(report),
        "quarantine_path": "quarantine.csv" if report.get("quarantine_path") else "",
        "quarantine_reasons": reasons,
        "warnings": report.get("input_warnings", []),
        "counts": report.get("counts"), "dedupe": res.stats if res is not None else {},
        "auto_threshold": settings.auto_merge_threshold, "review_threshold": settings.review_threshold,
        "plots": plots, "timings": list(report["timings"].items()), "validations": validations,
        "gains": [dict(g, province_name=regions.by_code[g["province_code"]].name
                       if g["province_code"] in regions.by_code else "")
                  for g in gains.to_dict("records")] if gains is not None else [],
        "parent_changes_path": "parent_changes.csv" if (run_dir / "parent_changes.csv").exists() else "",
        "reused": report["reused"].to_dict("records") if report.get("reused") is not None else [],
        "shrink": [{"label": LABELS[k], "value": v, "limit": settings.shrink_limits[k],
                    "over": v > settings.shrink_limits[k]} for k, v in (report.get("shrink") or {}).items()],
    }
    return render_report(run_dir, context)


def publish_artifacts(report: dict, path: Path) -> None:
    """The same figures as Prefect artifacts, so the Prefect UI shows them next to the flow run."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    counts = report.get("counts") or {}
    lines = ["| 指标 | 数值 |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    lines += ["", "| 阶段 | 秒 |", "|---|---|"] + [f"| {k} | {v:.2f} |" for k, v in report["timings"].items()]
    create_markdown_artifact(key="nightly-summary", markdown="\n".join(lines), description="夜间清洗结果")
    gains = report.get("gains")
    if gains is not None and len(gains):
        create_table_artifact(key="nightly-visibility", table=gains.to_dict(orient="records"),
                              description="各省新近可见的活动")
    create_link_artifact(key="nightly-report", link=path.resolve().as_uri(), description="运行报告（HTML）")
