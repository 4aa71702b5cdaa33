"""``orgreg export|status|publish|prune``: what a home holds (the live state, its snapshots, runs and disk use)
and the operator's hand on it; registered on the ``orgreg`` command by cli.py."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from core.command_options import HOME
from core.config import load_settings

console = Console()
err = Console(stderr=True)



def export(outdir: Path = typer.Argument(..., help="输出目录"), home: Optional[Path] = HOME):
    """把当前生效的快照写成 CSV：数据合同的四个文件，另有停用的 ID、主办/承办单位链接和缺失单位（有则写出）。"""
    from core.snapshot import write_export
    from core.store import open_store

    from flows.progress import progress_bars

    snap = open_store(load_settings(home=home)).live_snapshot()
    if snap is None:
        err.print("还没有发布过快照：请先运行 [bold]orgreg nightly[/]。")
        raise typer.Exit(1)
    names = [n for n in ("organizations", "id_map", "merge_suggestions", "activity_visibility", "retired_ids",
                         "activity_hosts", "missing_units") if snap.has(n)]
    with progress_bars(console) as bars:  # a million-record snapshot takes a while to read and write
        step = bars.add_task(f"导出快照 v{snap.version}", total=2 * len(names))
        frames = {}
        for name in names:
            frames[name] = snap.frame(name)
            bars.advance(step)
        written = write_export(frames, outdir, on_file=lambda path: bars.advance(step))
    for path in written:
        console.print(f"已写出 {path}")


def status(home: Optional[Path] = HOME, limit: int = typer.Option(10, help="显示最近几次运行")):
    """显示当前生效的状态（夜间快照 + 审核决定）、保留的快照、服务进程、磁盘占用和最近的运行。"""
    from core.retention import disk_usage, human_bytes
    from core.store import open_store

    settings = load_settings(home=home)
    store = open_store(settings)
    state = store.live_state()
    rows = store.snapshot_rows()
    if state is None:
        console.print("当前状态：无（尚未发布）")
    else:
        source = next((r for r in rows if r["version"] == state.version), {})
        run = f"第 {source['run_id']} 次运行" if source.get("run_id") else (source.get("note") or "直接发布")
        console.print(f"当前状态：[bold]{state.label}[/]（第 {state.generation} 代）= 夜间快照 v{state.version}"
                      f"（{run}）+ 其后的 {state.on_top} 个审核操作")
    holders = {h["version"]: h["holder"] for h in store.holders()}
    table = Table(title="磁盘上的快照")
    for col in ("快照", "来源", "发布时间（UTC）", "已并入的审核操作", "状态"):
        table.add_column(col)
    for r in rows:
        if not Path(r["path"]).exists():
            continue
        mark = "" if state is None else ("当前" if r["version"] == state.version else
                                          "可回退" if r["version"] < state.version else "较新（已回退离开）")
        if r["version"] in holders:
            mark = "、".join(x for x in (mark, f"被 {holders[r['version']]} 使用") if x)
        table.add_row(f"v{r['version']}", f"第 {r['run_id']} 次运行" if r["run_id"] else (r["note"] or ""),
                      f"{r['created_at']:%Y-%m-%d %H:%M:%S}", f"≤ #{r['folded_upto'] or 0}", mark)
    console.print(table)
    history = Table(title="当前状态的来历（最近的变化）")
    for col in ("代", "状态", "原因", "操作人", "时间（UTC）"):
        history.add_column(col)
    for h in store.live_history(limit):
        extra = h["on_top"] or 0
        history.add_row(str(h["generation"]), f"v{h['version']}" + (f"+{extra}" if extra > 0 else ""), h["cause"] or "",
                        h["user"] or "", f"{h['at']:%Y-%m-%d %H:%M:%S}")
    console.print(history)
    usage = disk_usage(store, settings)
    names = {"snapshots": "快照", "runs": "运行目录", "database": "数据库", "prefect": "Prefect", "home": "合计"}
    console.print("磁盘占用：" + "，".join(f"{names[k]} {human_bytes(v)}" for k, v in usage.items()))
    runs_table = Table(title="最近的运行")
    for col in ("运行", "开始（UTC）", "状态", "快照", "说明"):
        runs_table.add_column(col)
    labels = {"succeeded": "成功", "failed": "失败", "rejected": "输入被拒绝", "held": "暂缓发布（结果缩小）",
              "running": "运行中/中断"}
    for r in store.recent_runs(limit):
        runs_table.add_row(str(r["id"]), f"{r['started_at']:%Y-%m-%d %H:%M:%S}", labels.get(r["status"], r["status"]),
                           f"v{r['snapshot_version']}" if r["snapshot_version"] else "", (r["error"] or "")[:60])
    console.print(runs_table)


def publish(rollback: bool = typer.Option(False, "--rollback", help="回退到上一个夜间快照（审核决定仍然生效）"),
            home: Optional[Path] = HOME):
    """管理发布的快照：--rollback 回到上一个夜间快照，其后所有的审核决定仍叠加在它上面。"""
    import getpass

    from core.live import LiveMoved
    from core.store import open_store

    if not rollback:
        err.print("请指定操作，例如 [bold]orgreg publish --rollback[/]。")
        raise typer.Exit(2)
    store = open_store(load_settings(home=home))
    state = store.live_state()
    try:
        snap = store.rollback(expected=state.generation if state else None, user=getpass.getuser())
    except (LookupError, LiveMoved) as e:
        err.print(str(e))
        raise typer.Exit(1)
    console.print(f"已回退到夜间快照 v{snap.version}，当前状态 {store.live_state().label}"
                  f"（{len(snap.ops)} 个审核操作叠加在其上，仍然生效）")


def prune(home: Optional[Path] = HOME):
    """按保留设置清理：旧快照、已并入快照的审核操作、旧运行目录和数据库历史（当前的和正在使用的从不删除）。"""
    from core.retention import apply_retention, disk_usage, human_bytes
    from core.store import open_store

    settings = load_settings(home=home)
    store = open_store(settings)
    removed = apply_retention(store, settings)
    console.print(f"已删除：快照 {removed['snapshots']} 个，运行目录 {removed['run_folders']} 个，"
                  f"运行记录 {removed['run_rows']} 条，状态历史 {removed['live_history_rows']} 条，"
                  f"请求键 {removed['request_keys']} 个")
    console.print(f"现在占用 {human_bytes(disk_usage(store, settings)['home'])}")
