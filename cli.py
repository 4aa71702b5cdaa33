"""The ``orgreg`` command: a thin typer layer over the library (each command a few lines)."""
from __future__ import annotations

import contextlib
import logging
import signal
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from core.command_options import HOME
from core.config import load_settings
from flows.home_commands import export, prune, publish, status
from serve.proposal_commands import proposals_app
from serve.terminal import review_app
from serve.user_commands import user_app

app = typer.Typer(help="orgreg：全国科普日组织库的清洗流水线与联想查询服务。", no_args_is_help=True,
                  rich_markup_mode="rich", pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)



@app.command()
def nightly(registry: Optional[Path] = typer.Option(None, help="组织库导出（csv/xlsx），默认使用内置样例"),
            activities: Optional[Path] = typer.Option(None, help="活动导出（csv/xlsx），默认使用内置样例"),
            home: Optional[Path] = HOME,
            full: bool = typer.Option(False, "--full", help="全量运行：不复用上次快照中未变的记录和配对得分"),
            accept_shrink: bool = typer.Option(False, "--accept-shrink",
                                               help="结果比当前快照明显缩小（如源记录 ID 消失超过 5%）时仍然发布"),
            dask_address: Optional[str] = typer.Option(None, "--dask-address",
                                                       help="在已有的 Dask 集群上运行配对打分，例如 tcp://10.0.0.5:8786")):
    """运行夜间清洗流程：读入 → 校验 → 规范化 → 查重 → 层级重建 → 可见性 → 发布。"""
    from core.failures import explain, log_to_file, record_traceback
    from flows.environment import configure_prefect, ensure_prefect_server, stop_orphaned_servers

    settings = load_settings(home=home, registry=registry, activities=activities)
    configure_prefect(settings.home)
    log = log_to_file(settings.home)  # Prefect's log lines and tracebacks go there, not to the console
    stop_orphaned_servers(settings.home)  # left by a run that was killed
    address = dask_address or settings.dask_address
    if address:
        console.print(f"Dask 集群：{address}；Prefect 服务器：{ensure_prefect_server(settings.home)}")
    from flows.progress import RunProgress

    with RunProgress(console, settings.scoring_chunks):  # bars fed by the flow's stage log lines
        from flows.nightly import nightly, with_dask
        from flows.notify import announced
        run_flow = announced(with_dask(address) if address else nightly)  # ORGREG_NOTIFY_WEBHOOK hears of it
        try:
            result = run_flow(registry=str(settings.registry), activities=str(settings.activities),
                              home=str(settings.home), full=full, accept_shrink=accept_shrink)
        except Exception as e:  # expected or not, one message; the last snapshot stays live
            message, code = explain(e, settings.home)
            title = {2: "输入被拒绝"}.get(code, "运行失败")
            if type(e).__name__ == "ShrinkHeld":
                title = "本次运行暂缓发布"
            record_traceback(settings.home, e) if log is None else logging.getLogger("orgreg").error(
                "event=cli_failure", exc_info=e)
            err.print(f"[bold red]{title}[/]：{message}")
            _print_last_report(settings, log)
            raise typer.Exit(code)
    _print_summary(result)


@app.command()
def schedule(cron: Optional[str] = typer.Option(None, help="cron 表达式（默认 0 2 * * *，每天凌晨两点）"),
             timezone: Optional[str] = typer.Option(None, help="时区（默认 Asia/Shanghai）"),
             registry: Optional[Path] = typer.Option(None, help="每次运行读取的组织库导出"),
             activities: Optional[Path] = typer.Option(None, help="每次运行读取的活动导出"),
             home: Optional[Path] = HOME):
    """按 cron 定时运行夜间流程（Prefect 的调度；没有配置 Prefect 服务器时自动启动一个）。"""
    from flows.environment import configure_prefect, ensure_prefect_server

    settings = load_settings(home=home, registry=registry, activities=activities)
    configure_prefect(settings.home)
    url = ensure_prefect_server(settings.home)
    from flows.nightly import serve_schedule

    cron, timezone = cron or settings.schedule_cron, timezone or settings.schedule_timezone
    console.print(f"定时：{cron}（{timezone}）；Prefect 界面：{url.removesuffix('/api')}")
    console.print("手动触发一次：[bold]prefect deployment run 'nightly/nightly'[/]；按 Ctrl+C 停止定时。")
    stop_on_signals()
    # Prefect 3.8.8's runner answers SIGTERM by calling its async stop() without awaiting it: harmless (the
    # runner stops anyway), but the RuntimeWarning would be the last thing an operator reads
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    try:
        serve_schedule(settings, cron, timezone)
    except KeyboardInterrupt:
        # a run in progress is abandoned safely: nothing half-published stays live, and the next start
        # marks it failed and takes its parent changes back
        pass
    finally:  # Prefect's runner ends a SIGTERM with SystemExit(0), which no except above sees
        err.print("定时已停止。")


@app.command()
def ui(home: Optional[Path] = HOME, port: int = typer.Option(4200, help="端口（默认 4200）")):
    """打开 Prefect 界面，查看本状态目录的运行（各阶段的用时、日志和产物）。

    以本状态目录的 Prefect 数据库启动 Prefect 服务器（前台运行，按 Ctrl+C 停止）；已有服务器在该端口时直接使用。
    """
    from flows.environment import configure_prefect, prefect_answers, prefect_ui

    settings = load_settings(home=home)
    configure_prefect(settings.home)
    if prefect_answers(f"http://127.0.0.1:{port}/api"):  # e.g. the one `orgreg schedule` leaves running
        console.print(f"Prefect 界面已在运行：[bold]http://127.0.0.1:{port}[/]")
        return
    console.print(f"Prefect 界面：[bold]http://127.0.0.1:{port}[/] → Runs（夜间运行）、Artifacts（nightly-summary 等）；"
                  f"运行记录在 {settings.home / 'prefect'}。按 Ctrl+C 停止。")
    stop_on_signals()
    code = prefect_ui(port)
    if code:
        err.print(f"Prefect 界面没有启动（退出码 {code}）：端口 {port} 可能已被占用，请用 --port 换一个。")
        raise typer.Exit(1)


def stop_on_signals() -> None:
    """SIGTERM (systemd, docker stop) stops the command the way Ctrl+C does, instead of killing it
    (Prefect's runner takes SIGTERM over once it serves, and stops the same way)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _print_last_report(settings, log: Path | None = None) -> None:
    from core.store import open_store

    try:
        runs = open_store(settings).recent_runs(1)
    except Exception:  # the database itself is what failed: the message above says so
        runs = []
    if runs and runs[0]["report_dir"]:
        folder = Path(runs[0]["report_dir"])
        err.print(f"报告：{folder / 'report.html'}" + ("（完整错误信息：error.txt）" if (folder / "error.txt").exists() else ""))
    if log is not None:
        err.print(f"日志：{log}")
    err.print("上一次发布的快照仍在提供服务。")


def _print_summary(result: dict) -> None:
    from flows.progress import summary_table

    console.print(summary_table(result))
    console.print("用时：" + "，".join(f"{k} {v:.1f}s" for k, v in result["timings"].items()))
    console.print(f"报告：{result['report']}")


@app.command()
def match(file: Path = typer.Argument(..., help="要匹配的表格（csv/xlsx）"),
          column: str = typer.Option(..., "--column", help="单位名称所在的列（表头）"),
          region_column: Optional[str] = typer.Option(None, "--region-column", help="所在地区列（6 位代码或地名，可选）"),
          category: Optional[str] = typer.Option(None, "--category", help="只匹配该组织类别（可选）"),
          output: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件（默认：原文件名.匹配结果.xlsx/csv）"),
          home: Optional[Path] = HOME):
    """把表格中一列单位名称匹配到组织库的规范单位，写出带 canonical_org_id、规范名称、得分、方式、候选 列的副本。"""
    from rich.progress import Progress

    from core.sources import InputRejected
    from core.store import open_store
    from serve.match_file import match_file
    from serve.matching import Matcher
    from serve.state import SnapshotHolder

    settings = load_settings(home=home)
    holder = SnapshotHolder(open_store(settings))
    holder.refresh()
    if holder.current is None:
        err.print("还没有发布过快照：请先运行 [bold]orgreg nightly[/]。")
        raise typer.Exit(1)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("匹配中", total=None)
        try:
            path, found = match_file(Matcher.of(holder.current), file, column, region_column, category, output,
                                     settings.auto_merge_threshold, settings.review_threshold,
                                     progress=lambda n: bar.advance(task, n),
                                     on_rows=lambda n: bar.update(task, total=n))
        except InputRejected as e:
            err.print(str(e))
            raise typer.Exit(2)
    counts = found["方式"].value_counts()
    names = {"exact": "名称一致", "auto": "自动匹配", "review": "需人工核对", "none": "未匹配"}
    console.print("、".join(f"{names[k]} {int(counts.get(k, 0))}" for k in names) + f"（共 {len(found)} 行）")
    console.print(f"已写出 {path}")


@app.command()
def serve(home: Optional[Path] = HOME, host: Optional[str] = typer.Option(None, help="监听地址（默认 127.0.0.1）"),
          port: Optional[int] = typer.Option(None, help="端口（默认 8000）")):
    """启动查询服务：联想、组织查询、查重、省级管理员视图和演示页（/docs 为接口文档）。"""
    import uvicorn

    from core.store import open_store
    from serve.app import create_app

    settings = load_settings(home=home)
    store = open_store(settings)
    snap = store.live_snapshot()
    if snap is not None and (missing := snap.missing_frames()):
        err.print(f"[red]当前生效的快照 v{snap.version}（{snap.path}）缺少 "
                  f"{'、'.join(m + '.parquet' for m in missing)}，查询服务无法读取它。[/]"
                  "请用 orgreg publish --rollback 回到上一个快照，或重新运行 orgreg nightly。")
        raise typer.Exit(2)
    console.print(f"服务地址：http://{host or settings.serve_host}:{port or settings.serve_port}/ （接口文档 /docs）")
    config = uvicorn.Config(create_app(settings, store), host=host or settings.serve_host,
                            port=port or settings.serve_port, log_level="info", access_log=settings.serve_access_log)
    _uvicorn_server()(config).run()
    console.print("查询服务已停止。")


def _uvicorn_server():
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn, ending with exit 0 after its graceful shutdown on SIGTERM or SIGINT.

        uvicorn re-raises the signal once it has shut down, so the process would end as killed by
        SIGTERM (-15); service managers and containers expect a clean exit after a clean stop.
        """

        @contextlib.contextmanager
        def capture_signals(self):
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.handle_exit)
            yield

    return QuietServer


# the review desk and the accounts in a terminal (light imports: the service's modules load on use)
for command in (export, status, publish, prune):  # what a home holds: flows/home_commands.py
    app.command()(command)
app.add_typer(review_app, name="review")
app.add_typer(proposals_app, name="proposals")
app.add_typer(user_app, name="user")


def main() -> None:
    """The command; an expected failure anywhere (locked or read-only database, full disk) ends in one
    Chinese message and exit 1, its traceback in the log file."""
    from core.failures import explain, record_traceback

    try:
        app()
    except Exception as e:
        argv = sys.argv[1:]
        given = argv[argv.index("--home") + 1] if "--home" in argv[:-1] else None
        try:
            home = load_settings(home=Path(given) if given else None).home
        except Exception:
            home = None
        message, code = explain(e, home)
        saved = record_traceback(home, e)
        err.print(f"[bold red]出错了[/]：{message}" + (f"\n完整错误信息：{saved}" if saved else ""))
        sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
