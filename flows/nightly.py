"""The nightly Prefect flow: ingest → validation → normalisation → duplicates → hierarchy →
visibility → validation of the result → publish, then the report."""
from __future__ import annotations

import os
import socket
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import pandas as pd
from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from core.config import load_settings
from core.guards import Shrink, ShrinkHeld, measure_shrink, shrink_message
from core.lineage import (RETIRED_BASIS, empty_retired, keep_last_units, retire_ids, reused_ids,
                          units_through_retired)
from core.quality import ValidationOutcome
from core.records import apply_corrections, pipeline_fingerprint
from core.snapshot import snapshot_frames
from core.sources import InputRejected
from core.spreadsheet import write_for_people
from core.store import open_store
from flows import tasks
from flows.environment import process_alive
from flows.publishing import input_summary, publish_artifacts, write_run_report


PIPELINE = pipeline_fingerprint()


def resident_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MB (Linux; zeros elsewhere)."""
    try:
        status = dict(line.split(":", 1) for line in open("/proc/self/status", encoding="ascii"))
    except OSError:
        return 0.0, 0.0
    return tuple(int(status.get(k, "0 kB").split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))


def _record_parent_changes(store, run_id: int, changes: pd.DataFrame, run_dir) -> None:
    store.record_parent_changes(run_id, changes)
    write_for_people(changes, run_dir / "parent_changes.csv")


class SnapshotRejected(Exception):
    """The rebuilt snapshot failed its own validation; nothing was published."""


@contextmanager
def _stage(name: str, timings: dict, run_id: int):
    """Time one stage; log lines carry key=value fields (event, stage, run_id, seconds, memory) for log tools."""
    logger = get_run_logger()
    start = time.perf_counter()
    logger.info("event=stage_start stage=%s run_id=%s", name, run_id)
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start
        logger.info("event=stage_end stage=%s run_id=%s seconds=%.2f rss_mb=%.0f peak_rss_mb=%.0f", name, run_id,
                    timings[name], *resident_mb())


def schedule_of(cron: str, timezone: str):
    """The Prefect schedule of the nightly run (a plain ``cron=`` would lose the timezone)."""
    from prefect.schedules import Cron

    return Cron(cron, timezone=timezone)


def serve_schedule(settings, cron: str, timezone: str) -> None:
    """Register deployment ``nightly/nightly`` and run it on the schedule (blocks; needs a real server)."""
    nightly.serve(name="nightly", schedules=[schedule_of(cron, timezone)],
                  parameters={"registry": str(settings.registry), "activities": str(settings.activities),
                              "home": str(settings.home)})


def with_dask(address: str):
    """The nightly flow with its heavy stages on an existing Dask cluster (prefect-dask)."""
    from prefect_dask import DaskTaskRunner

    return nightly.with_options(task_runner=DaskTaskRunner(address=address))


def published_ids(live) -> dict:
    """What the live snapshot says about ids (all None without one): its id map, units, record names,
    retired ids and flagged reused ids."""
    if live is None:
        return dict.fromkeys(("id_map", "orgs", "names", "retired", "reused"))
    return {"id_map": live.frame("id_map", ["source_org_id", "canonical_org_id"]),
            "orgs": live.frame("organizations", ["org_id", "name", "category", "region_code", "province_code"]),
            "names": live.frame("records", ["org_id", "name", "name_norm"]),
            "retired": live.frame("retired_ids") if live.has("retired_ids") else None,
            "reused": live.frame("reused_ids") if live.has("reused_ids") else None}


def shrink_against(live, id_map: pd.DataFrame, orgs: pd.DataFrame, visibility: pd.DataFrame,
                   quarantined: float) -> Shrink:
    """This result's shrink against the live snapshot ``live`` (write-audit-publish)."""
    counts = live.counts or {}
    live_quarantined = counts.get("registry_quarantined", 0) / max(counts.get("registry_rows", 0), 1)
    kept_on_retired = visibility["basis"].str.startswith(RETIRED_BASIS)  # they lost their unit all the same
    visibility = visibility.assign(canonical_org_id=visibility["canonical_org_id"].where(~kept_on_retired, ""))
    return measure_shrink(live.frame("id_map", ["source_org_id"])["source_org_id"], id_map["source_org_id"],
                          len(live.frame("organizations", ["org_id"])), len(orgs),
                          live.frame("activity_visibility", ["activity_id", "canonical_org_id"]), visibility,
                          live_quarantined, quarantined)


@flow(name="nightly", log_prints=False)
def nightly(registry: str | None = None, activities: str | None = None, home: str | None = None,
            full: bool = False, accept_shrink: bool = False) -> dict:
    """Run the whole nightly job; returns a summary (run id, status, counts, report path)."""
    settings = load_settings(home=home, registry=registry, activities=activities)
    logger = get_run_logger()
    store = open_store(settings)
    for dead in store.abandon_dead_runs(process_alive):  # killed earlier: marked failed, changes taken back
        (settings.runs_dir / f"{dead:05d}" / "parent_changes.csv").unlink(missing_ok=True)
        logger.warning("event=run_abandoned run_id=%s", dead)
    inputs = {"registry": str(settings.registry), "activities": str(settings.activities),
              "pid": os.getpid(), "host": socket.gethostname()}
    run_id = store.start_run(inputs, full=full)
    run_dir = settings.runs_dir / f"{run_id:05d}"
    run_dir.mkdir(parents=True, exist_ok=True)
    docs = run_dir / "data_docs"
    timings: dict[str, float] = {}
    report: dict = {"run_id": run_id, "inputs": inputs, "timings": timings, "settings": settings,
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"), "validations": []}
    input_validation = before = recorded = None
    try:
        with _stage("ingest", timings, run_id):
            read = tasks.read_export.with_options(retries=settings.task_retries)
            raw_reg = read(str(settings.registry), "registry")
            raw_act = read(str(settings.activities), "activities")
            report["input_summary"] = input_summary(inputs, (raw_reg, raw_act), None)["rows"]
            for key, table in (("registry", raw_reg), ("activities", raw_act)):
                inputs[f"{key}_sha256"], inputs[f"{key}_encoding"] = table.sha256, table.encoding
                inputs[f"{key}_rows"] = len(table.frame) + len(table.unparsable)
            store.record_inputs(run_id, inputs)
        with _stage("validate_input", timings, run_id):
            reg_ck = tasks.check_export(raw_reg, "registry")
            act_ck = tasks.check_export(raw_act, "activities")
            summary = input_summary(inputs, (raw_reg, raw_act), (reg_ck, act_ck))
            report["input_summary"], report["quarantine_reasons"] = summary["rows"], summary["reasons"]
            report["input_warnings"] = summary["warnings"]
            report["quarantine_path"] = tasks.write_quarantine(reg_ck, act_ck, run_dir)
            # great-expectations checks the same rules again and renders Data Docs: on a thread of the
            # task runner while normalisation and duplicates run (5 s of a 1 M incremental run); its
            # outcome is awaited before anything is validated or published
            input_validation = tasks.validate_inputs.submit(raw_reg, reg_ck, raw_act, act_ck, docs)
            # what provincial admins saw before the run depends on the input alone: worked out alongside too
            before = tasks.provinces_before.submit(raw_reg.frame)
            share = len(reg_ck.quarantine) / max(len(raw_reg.frame) + len(raw_reg.unparsable), 1)
            if share > settings.quarantine_max_share:
                raise InputRejected(f"{raw_reg.path}: {share:.0%} 的行被隔离（上限 {settings.quarantine_max_share:.0%}），"
                                    f"很可能导出了错误的文件或列错位。请查看 {report['quarantine_path']} 中的原因。")
        live = store.live_snapshot()
        reuse = not full and live is not None and live.has("pairs") and live.meta().get("pipeline") == PIPELINE
        report["incremental"] = reuse
        with _stage("normalise", timings, run_id):
            previous_records = live.frame("records") if reuse else None
            # reviewers' corrections of names, categories and places hold in every run, like decisions
            reg_ck = replace(reg_ck, clean=apply_corrections(reg_ck.clean, store.corrections_frame()))
            records, acts, changed, previous_at = tasks.normalise(reg_ck, act_ck, previous_records)
            # a million-row run keeps only what later stages read (the registry as read feeds visibility)
            n_raw_reg = len(raw_reg.frame) + len(raw_reg.unparsable)
            n_raw_act = len(raw_act.frame) + len(raw_act.unparsable)
            n_reg_q, n_act_q = len(reg_ck.quarantine), len(act_ck.quarantine)
            del raw_reg, raw_act, reg_ck, act_ck
        with _stage("duplicates", timings, run_id):
            published = published_ids(live)
            previous = published["id_map"]["canonical_org_id"] if live else None  # last run's canonical ids
            decisions = store.decisions_frame()
            # ids that keep resolving: a survivor back after a night away gets its canonical id back; an id
            # now naming another unit is flagged and kept out of automatic merges until a person decides
            gone = published["retired"]
            returning = (gone.loc[gone["source_org_id"] == gone["last_canonical_org_id"], "source_org_id"]
                         if gone is not None else None)
            decided = set(decisions["left_org_id"]) | set(decisions["right_org_id"])
            flagged = reused_ids(records, published["names"], gone, published["reused"], decided, run_id)
            report["reused"] = flagged
            # pair scoring is the heavy part: one task per share, run by the flow's task runner
            # (threads in-process, or the workers of a Dask cluster with --dask-address); an
            # incremental run scores only what changed and reuses the last run's other scores
            chunks, stats, reused, keys = tasks.candidate_chunks(
                records, settings.max_block_size, settings.scoring_chunks, changed if reuse else None,
                previous_records, live.frame("pairs") if reuse else None,
                live.frame("blocking_keys") if reuse and live.has("blocking_keys") else None, previous_at)
            del previous_records
            scored = [reused] + [f.result() for f in tasks.score_share.map(chunks)]
            del chunks, reused
            # quote: Prefect would otherwise visit each of a million ids looking for futures (at 1 M the
            # settle task took 19 s in the flow against 6 s for the same call in-process)
            res = tasks.settle(records, scored, stats, acts, decisions, quote(previous),
                               settings.auto_merge_threshold, settings.review_threshold, quote(returning),
                               quote(flagged["org_id"]))
            del scored
            report["resolution"] = res
        with _stage("hierarchy", timings, run_id):
            # units whose evidence is unchanged keep last run's row and parent (equal to a rebuild)
            previous_orgs = live.frame("hierarchy_state") if reuse and live.has("hierarchy_state") else None
            orgs, changes, rebuilt = tasks.rebuild_hierarchy(records, res.id_map, previous_orgs)
            del previous_orgs
        # the run's record of parent changes (database rows and CSV) is written from here on, beside the
        # remaining stages; a run that then fails to publish takes it back (see below)
        recording = ThreadPoolExecutor(max_workers=1)
        recorded = recording.submit(_record_parent_changes, store, run_id, changes, run_dir)
        recording.shutdown(wait=False)  # its one thread ends when the record is written
        retired = (retire_ids(published["id_map"], published["orgs"], published["names"], gone, res.id_map, run_id)
                   if live is not None else empty_retired())
        with _stage("visibility", timings, run_id):
            # an activity whose unit left the registry keeps that unit (or the one its record went into)
            visibility, gains, roll = tasks.assign_visibility(acts, quote(before.result()),
                                                              units_through_retired(res.id_map, retired), orgs)
            visibility = keep_last_units(visibility, acts, retired)
            report["gains"] = gains
        with _stage("validate_result", timings, run_id):
            report["validations"] = list(input_validation.result()) + report["validations"]
            outcome: ValidationOutcome = tasks.validate_result(orgs, res.id_map, visibility, len(records), len(acts),
                                                                docs)
            report["validations"].append(outcome)
            if not outcome.success:
                raise SnapshotRejected("重建的快照未通过校验：" + "、".join(outcome.failed))
            if live is not None:  # write-audit-publish: a result much smaller than the live one is held back
                shrink = shrink_against(live, res.id_map, orgs, visibility, n_reg_q / max(n_raw_reg, 1))
                report["shrink"] = vars(shrink)
                if shrink.over(settings.shrink_limits) and not accept_shrink:
                    raise ShrinkHeld(shrink_message(shrink, settings.shrink_limits))
        frames = snapshot_frames(records, acts, res, orgs, changes, visibility, gains, roll, decisions)
        frames["blocking_keys"] = keys  # what the next incremental run blocks against
        frames["retired_ids"], frames["reused_ids"] = retired, flagged
        frames["meta"] = pd.DataFrame([{"pipeline": PIPELINE, "incremental": reuse}])
        counts = {
            "registry_rows": n_raw_reg, "registry_kept": len(records), "registry_quarantined": n_reg_q,
            "activities_rows": n_raw_act, "activities_kept": len(acts), "activities_quarantined": n_act_q,
            "canonical_orgs": len(orgs), "auto_merged": int((res.id_map["how"] == "auto").sum()),
            "reviewed_merged": int((res.id_map["how"] == "reviewed").sum()),
            "suggestions_pending": int((frames["merge_suggestions"]["status"] == "pending").sum()),
            "parent_changes": int(len(changes)), "parents_need_review": int(orgs["needs_review"].sum()),
            "newly_visible": int(gains["newly_visible"].sum()) if len(gains) else 0,
            "retired_ids": int((retired["retired_in_run"] == run_id).sum()), "reused_ids": len(flagged),
            "activities_of_retired_units": int(visibility["basis"].str.startswith(RETIRED_BASIS).sum()),
        }
        report["counts"] = counts
        with _stage("publish", timings, run_id):
            recorded.result()
            snap = store.publish(frames, run_id, counts)
            recorded = None  # published: the record stands
            store.prune(settings.keep_snapshots)
        report.update(status="succeeded", snapshot_version=snap.version)
        path = write_run_report(run_dir, report)
        publish_artifacts(report, path)
        store.finish_run(run_id, "succeeded", counts=counts, timings=timings, report_dir=str(run_dir),
                         snapshot_version=snap.version)
        logger.info("event=run_end run_id=%s status=succeeded snapshot=v%s report=%s", run_id, snap.version, path)
        return {"run_id": run_id, "status": "succeeded", "snapshot_version": snap.version, "counts": counts,
                "report": str(path), "timings": timings, "dedupe": res.stats, "hierarchy": rebuilt}
    except BaseException as e:
        for running in (input_validation, before):
            if running is not None:
                running.wait()  # its thread must not outlive the run
        if recorded is not None:  # nothing was published: take the run's parent changes back
            recorded.exception()  # waits; what it raised, if anything, is moot now
            try:
                store.forget_parent_changes(run_id)
                (run_dir / "parent_changes.csv").unlink(missing_ok=True)
            except Exception:  # must not hide the original failure
                logger.exception("event=parent_changes_not_taken_back run_id=%s", run_id)
        status = "rejected" if isinstance(e, InputRejected) else "held" if isinstance(e, ShrinkHeld) else "failed"
        message = str(e) or type(e).__name__
        report.update(status=status, error=message)
        try:  # a full disk or a read-only home must not hide the original failure
            (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
            path = write_run_report(run_dir, report)
        except Exception:
            path = run_dir / "error.txt"
        try:
            store.finish_run(run_id, status, error=message, timings=timings, report_dir=str(run_dir))
        except Exception:  # a locked database: the run is marked failed at the next start instead
            logger.exception("event=run_not_recorded run_id=%s", run_id)
        logger.error("event=run_end run_id=%s status=%s report=%s error=%s", run_id, status, path, message)
        raise
