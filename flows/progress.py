"""What an operator at the terminal sees of a run: rich progress bars fed by the flow's own stage log lines
(``event=stage_start``/``stage_end``, and the scoring shares' task runs), and the summary table at the end.

The bars listen to the log records the flow writes anyway (a handler on the root logger), so the flow
needs no knowledge of the terminal, and a scheduled run without one is unchanged.
"""
from __future__ import annotations

import logging
import re

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

STAGES = {"ingest": "读入导出文件", "validate_input": "校验输入", "normalise": "规范化名称与地区",
          "duplicates": "查重", "hierarchy": "重建上下级", "visibility": "活动可见性",
          "hosts": "链接主办/承办单位", "validate_result": "校验结果", "publish": "发布快照"}
STAGE_LINE = re.compile(r"event=stage_(start|end) stage=(\w+)(?:.*? seconds=([\d.]+))?")
COUNT_LABELS = {"registry_rows": "组织库行数", "registry_kept": "进入快照", "registry_quarantined": "组织库隔离",
                "activities_rows": "活动行数", "activities_quarantined": "活动隔离", "canonical_orgs": "规范单位",
                "auto_merged": "自动合并的记录", "suggestions_pending": "待复核配对", "parent_changes": "上级变更",
                "parents_need_review": "上级待复核", "newly_visible": "新近可见的活动"}


def progress_bars(console: Console) -> Progress:
    """The bars every long command shows: what, how far (done/total), time so far."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


class RunProgress(logging.Handler):
    """Progress of one nightly run in this process: a bar over the stages, one over the scoring shares.

    >>> import io
    >>> with RunProgress(Console(file=io.StringIO(), width=80), shares=2) as p:
    ...     for line in ("event=stage_start stage=ingest run_id=1",
    ...                  "event=stage_end stage=ingest run_id=1 seconds=1.25 rss_mb=1 peak_rss_mb=1"):
    ...         logging.getLogger("prefect.flow_runs").warning(line)
    >>> p.done, p.seconds
    (['ingest'], {'ingest': 1.25})
    """

    def __init__(self, console: Console, shares: int):
        super().__init__(logging.INFO)
        self.console, self.shares = console, shares
        self.bars = progress_bars(console)
        self.run = self.bars.add_task("正在启动 Prefect……", total=len(STAGES))
        self.scoring = None
        self.done: list[str] = []
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record of somebody else's: not ours to show
            return
        line = STAGE_LINE.match(message)
        if line:
            self._stage(*line.groups())
        elif (self.scoring is not None and getattr(record, "task_name", "") == "score_share"
              and message.startswith("Finished")):
            self.bars.advance(self.scoring)

    def _stage(self, kind: str, stage: str, seconds: str | None) -> None:
        label = STAGES.get(stage, stage)
        if kind == "start":
            self.bars.update(self.run, description=f"{label}……")
            if stage == "duplicates":
                self.scoring = self.bars.add_task("  配对打分（份）", total=self.shares)
            return
        self.done.append(stage)
        self.seconds[stage] = float(seconds) if seconds else 0.0
        self.bars.advance(self.run)
        self.bars.update(self.run, description=f"{label}：完成" if stage != "publish" else "夜间运行完成")
        if stage == "duplicates" and self.scoring is not None:
            self.bars.remove_task(self.scoring)  # an incremental run may score fewer shares than asked
            self.scoring = None
        self.bars.console.print(f"[green]✓[/] {label}  {self.seconds[stage]:.1f} 秒")

    def __enter__(self) -> "RunProgress":
        self.bars.start()
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().removeHandler(self)
        self.bars.stop()


def summary_table(result: dict) -> Table:
    """The counts of a published run, as the terminal shows them after the bars."""
    table = Table(title=f"第 {result['run_id']} 次运行：已发布快照 v{result['snapshot_version']}")
    table.add_column("指标")
    table.add_column("数值", justify="right")
    counts = result["counts"]
    for key, label in COUNT_LABELS.items():
        table.add_row(label, str(counts.get(key, "")))
    return table
