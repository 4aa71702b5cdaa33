"""The Prefect tasks: each wraps one stage of ``flows/pipeline.py`` (one for one), plus the flow's own
side work (quarantine file, great-expectations validation and Data Docs)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from core.spreadsheet import write_for_people
from core.quality import validate_raw_activities, validate_raw_registry, validate_snapshot
from flows import pipeline
from flows.shapes import CheckedInputs, Inputs

# DataFrames in and out: no input hashing, no pickled results (stack-notes §2f).
frame_task = task(cache_policy=NO_CACHE, persist_result=False)

# the pipeline's stages as tasks, keyed by the plain function (the flow's runner looks them up)
TASKS = {stage: frame_task(stage) for stage in pipeline.STAGES}
# reading files may meet a share that is briefly unavailable: retried
TASKS[pipeline.read_inputs] = task(pipeline.read_inputs, cache_policy=NO_CACHE, persist_result=False,
                                   retries=2, retry_delay_seconds=2)


@task(cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=2)
def write_quarantine(checked: CheckedInputs, run_dir: Path) -> Path:
    """Both files' quarantined rows with their reasons, in one CSV of the run."""
    path = run_dir / "quarantine.csv"
    frames = [checked.registry.quarantine.assign(file="registry"),
              checked.activities.quarantine.assign(file="activities")]
    return write_for_people(pd.concat(frames, ignore_index=True), path)


@frame_task
def validate_inputs(inputs: Inputs, checked: CheckedInputs, docs_dir: Path):
    """great-expectations on both exports as read (the same rules as the checks), with Data Docs."""
    return (validate_raw_registry(inputs.registry.frame, checked.registry.masks, docs_dir),
            validate_raw_activities(inputs.activities.frame, checked.activities.masks, docs_dir))


@frame_task
def validate_result(orgs, id_map, visibility, n_records: int, n_activities: int, docs_dir: Path):
    """great-expectations on the snapshot before it goes live, with Data Docs."""
    return validate_snapshot(orgs, id_map, visibility, n_records, n_activities, docs_dir)
