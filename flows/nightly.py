"""The nightly Prefect flow: ingest → validation → normalisation → duplicates → hierarchy →
visibility → validation of the result → publish, then the report."""
from __future__ import annotations

import os
import socket
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pandas as pd

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from core.config import load_settings
from core.guards import Shrink, ShrinkHeld, measure_shrink, shrink_message
from core.lineage import RETIRED_BASIS
from core.memory import resident_mb
from core.proposals import linked_proposals
from core.quality import ValidationOutcome
from core.retention import apply_retention
from core.sources import InputRejected
from core.spreadsheet import write_for_people
from core.store import open_store
from flows import pipeline, tasks
from flows.environment import process_alive
from flows.notify import announced
from flows.pipeline import Runner, run_pipeline
from flows.publishing import input_summary, publish_artifacts, write_run_report
from flows.shapes import CheckedInputs, Inputs, PreviousRun
from hierarchy.changes import changes_since

NIGHTLY_LEASE_SECONDS = 12 * 3600  # released when the run ends; a killed run's lease runs out by itself


def _record_parent_changes(store, run_id: int, changes: pd.DataFrame, run_dir) -> None:
    store.record_parent_changes(run_id, changes)
    write_for_people(changes, run_dir / "parent_changes.csv")


class SnapshotRejected(Exception):
    """The rebuilt snapshot failed its own validation; nothing was published."""


class OnPrefect(Runner):
    """The pipeline's stages as Prefect tasks (``flows/tasks.py``), timed and logged, with the flow's side
    work once the rows are checked: the quarantine file, and great-expectations with its Data Docs on a
    task-runner thread while normalisation and duplicates run."""

    def __init__(self, run_id: int, run_dir, report: dict, inputs: dict):
        super().__init__()
        self.run_id, self.run_dir, self.report, self.inputs = run_id, run_dir, report, inputs
        self.side_work = []  # futures the run must await (also when it fails)
        self.input_validation = None

    @contextmanager
    def stage(self, name: str):
        """Log lines carry key=value fields (event, stage, run_id, seconds, memory) for log tools."""
        logger = get_run_logger()
        logger.info("event=stage_start stage=%s run_id=%s", name, self.run_id)
        try:
            with super().stage(name):
                yield
        finally:
            logger.info("event=stage_end stage=%s run_id=%s seconds=%.2f rss_mb=%.0f peak_rss_mb=%.0f", name,
                        self.run_id, self.timings[name], *resident_mb())

    # quote: Prefect would otherwise visit each of a million ids looking for futures (at 1 M the settle
    # task took 19 s in the flow against 6 s for the same call in-process)
    def call(self, fn, *args):
        return tasks.TASKS[fn](*(quote(a) for a in args))

    def map(self, fn, items):
        return [f.result() for f in tasks.TASKS[fn].map(items)]

    def submit(self, fn, *args):
        future = tasks.TASKS[fn].submit(*args)  # (quoted arguments reach a Dask worker still wrapped)
        self.side_work.append(future)
        return future

    def checked(self, inputs: Inputs, checked: CheckedInputs) -> str:
        raw, ck = (inputs.registry, inputs.activities), (checked.registry, checked.activities)
        summary = input_summary(self.inputs, raw, ck)
        self.report["input_summary"], self.report["quarantine_reasons"] = summary["rows"], summary["reasons"]
        self.report["input_warnings"] = summary["warnings"]
        self.report["quarantine_path"] = tasks.write_quarantine(checked, self.run_dir)
        # its outcome is awaited before anything is validated or published
        self.input_validation = tasks.validate_inputs.submit(inputs, checked, self.run_dir / "data_docs")
        self.side_work.append(self.input_validation)
        return str(self.report["quarantine_path"])


def schedule_of(cron: str, timezone: str):
    """The Prefect schedule of the nightly run (a plain ``cron=`` would lose the timezone)."""
    from prefect.schedules import Cron

    return Cron(cron, timezone=timezone)


def serve_schedule(settings, cron: str, timezone: str) -> None:
    """Register deployment ``nightly/nightly`` and run it on the schedule (blocks; needs a real server);
    every scheduled run is announced as ``orgreg nightly``'s are (``ORGREG_NOTIFY_WEBHOOK``)."""
    announced(nightly).serve(name="nightly", schedules=[schedule_of(cron, timezone)],
                             parameters={"registry": str(settings.registry), "activities": str(settings.activities),
                                         "home": str(settings.home)})


def with_dask(address: str):
    """The nightly flow with its heavy stages on an existing Dask cluster (prefect-dask)."""
    from prefect_dask import DaskTaskRunner

    return nightly.with_options(task_runner=DaskTaskRunner(address=address))


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


def _ingest(settings, store, run_id: int, inputs: dict, report: dict, runner: OnPrefect) -> Inputs:
    """Read both exports (retried) and record what was read: paths, checksums, encodings, rows."""
    with runner.stage("ingest"):
        read = tasks.TASKS[pipeline.read_inputs].with_options(retries=settings.task_retries)
        raw = read(str(settings.registry), str(settings.activities))
        report["input_summary"] = input_summary(inputs, (raw.registry, raw.activities), None)["rows"]
        for key, table in (("registry", raw.registry), ("activities", raw.activities)):
            inputs[f"{key}_sha256"], inputs[f"{key}_encoding"] = table.sha256, table.encoding
            inputs[f"{key}_rows"] = len(table.frame) + len(table.unparsable)
        store.record_inputs(run_id, inputs)
    return raw


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
    report: dict = {"run_id": run_id, "inputs": inputs, "settings": settings,
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"), "validations": []}
    runner = OnPrefect(run_id, run_dir, report, inputs)
    report["timings"] = timings = runner.timings
    recorded = None
    lease = f"nightly:run-{run_id}"
    try:
        live = store.live_snapshot()
        if live is not None:  # the snapshot this run builds on stays on disk until it has published
            store.hold(lease, live.version, NIGHTLY_LEASE_SECONDS)
        previous = PreviousRun.from_snapshot(live, full)
        report["incremental"] = previous is not None and previous.incremental
        # the decisions, corrections and the overlay operation they reach, read together: what is committed
        # later stays on top of this run's snapshot (publish folds only up to ``folded``), so none is lost
        decisions, corrections, folded = store.decisions_with_watermark()
        # read inline: the pipeline then holds the only reference to the exports and drops them once checked
        result = run_pipeline(_ingest(settings, store, run_id, inputs, report, runner), previous, settings,
                              decisions=decisions, corrections=corrections, runner=runner, run_id=run_id,
                              proposals=store.accepted_proposals())
        del previous
        res, orgs = result.resolution, result.hierarchy.organizations
        report["resolution"], report["gains"], report["reused"] = res, result.visibility.gains, result.lineage.reused
        # the run's record of parent changes (database rows and CSV) is written beside the validation
        # of the result; a run that then fails to publish takes it back (see below)
        recording = ThreadPoolExecutor(max_workers=1)
        # recorded: tonight's changes against the last published run's (the full list is the snapshot's frame)
        last = live.base_frame("parent_changes") if live is not None and live.has("parent_changes") else None
        tonight = changes_since(result.hierarchy.changes, last)
        report["parent_changes_tonight"] = len(tonight)
        recorded = recording.submit(_record_parent_changes, store, run_id, tonight, run_dir)
        recording.shutdown(wait=False)  # its one thread ends when the record is written
        with runner.stage("validate_result"):
            report["validations"] = list(runner.input_validation.result()) + report["validations"]
            outcome: ValidationOutcome = tasks.validate_result(orgs, res.id_map, result.visibility.activities,
                                                                len(result.normalised.records),
                                                                len(result.normalised.activities), run_dir / "data_docs")
            report["validations"].append(outcome)
            if not outcome.success:
                raise SnapshotRejected("重建的快照未通过校验：" + "、".join(outcome.failed))
            if live is not None:  # write-audit-publish: a result much smaller than the live one is held back
                c = result.counts
                shrink = shrink_against(live, res.id_map, orgs, result.visibility.activities,
                                        c["registry_quarantined"] / max(c["registry_rows"], 1))
                report["shrink"] = vars(shrink)
                if shrink.over(settings.shrink_limits) and not accept_shrink:
                    raise ShrinkHeld(shrink_message(shrink, settings.shrink_limits))
        counts = report["counts"] = result.counts
        with runner.stage("publish"):
            recorded.result()
            # compare-and-swap: published only if the live snapshot is still the one this run built on
            snap = store.publish(result.frames, run_id, counts, cache=result.cache,
                                 built_from=live.version if live else None, folded_upto=folded)
            recorded = None  # published: the record stands
            store.link_proposals(linked_proposals(res.id_map))  # 组织入驻 units the export now holds
            store.release(lease)
            apply_retention(store, settings)
        report.update(status="succeeded", snapshot_version=snap.version)
        path = write_run_report(run_dir, report)
        publish_artifacts(report, path)
        store.finish_run(run_id, "succeeded", counts=counts, timings=timings, report_dir=str(run_dir),
                         snapshot_version=snap.version)
        logger.info("event=run_end run_id=%s status=succeeded snapshot=v%s report=%s", run_id, snap.version, path)
        return {"run_id": run_id, "status": "succeeded", "snapshot_version": snap.version, "counts": counts,
                "report": str(path), "timings": timings, "dedupe": res.stats, "hierarchy": result.hierarchy.rebuilt}
    except BaseException as e:
        try:
            store.release(lease)
        except Exception:  # must not hide the original failure; the lease runs out by itself
            logger.exception("event=lease_not_released run_id=%s", run_id)
        for running in runner.side_work:
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
