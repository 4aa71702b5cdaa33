"""A run's summary sent to a chat group's robot (企业微信 or 钉钉) when it fails or is held back, and, if
asked, when it succeeds, so operators hear about a night without watching it.

Both robots take the same JSON POST (``{"msgtype": "text", "text": {"content": …}}``) and answer
``{"errcode": 0, …}``; a 钉钉 robot with 加签 also needs ``timestamp`` and ``sign`` in its URL
(``ORGREG_NOTIFY_SECRET``). A notification that cannot be delivered is logged and never fails the run.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
import urllib.parse

STATUS_WORDS = {"succeeded": "成功，已发布", "failed": "失败，未发布", "rejected": "输入被拒绝，未发布",
                "held": "暂缓发布（结果比当前快照明显缩小）"}
NEXT_STEP = {"failed": "上一次发布的快照仍在提供服务；原因见报告和 error.txt。",
             "rejected": "上一次发布的快照仍在提供服务；请按上面的说明更正导出文件后重新运行。",
             "held": "当前快照仍在提供服务；核对无误后可运行 orgreg nightly --accept-shrink 发布。"}

log = logging.getLogger("orgreg.notify")


def wanted(status: str, on_success: bool) -> bool:
    """Whether a run ending in ``status`` is announced (failures and held-back runs always are).

    >>> wanted("held", False), wanted("succeeded", False), wanted("succeeded", True)
    (True, False, True)
    """
    return status != "succeeded" or on_success


def run_message(run_id: int, status: str, counts: dict | None, seconds: float, report: str,
                error: str | None = None, snapshot_version: int | None = None) -> str:
    """The Chinese text of a run's notification.

    >>> print(run_message(7, "held", None, 12.04, "/h/runs/00007/report.html", "消失的源记录 ID 60.0%"))
    【组织库夜间清洗】第 7 次运行：暂缓发布（结果比当前快照明显缩小）
    原因：消失的源记录 ID 60.0%
    当前快照仍在提供服务；核对无误后可运行 orgreg nightly --accept-shrink 发布。
    用时 12.0 秒
    报告：/h/runs/00007/report.html
    """
    head = f"【组织库夜间清洗】第 {run_id} 次运行：{STATUS_WORDS.get(status, status)}"
    if status == "succeeded" and snapshot_version:
        head += f"快照 v{snapshot_version}"
    lines = [head]
    if error:
        lines.append(f"原因：{error}")
    if counts:
        lines.append(f"组织库 {counts.get('registry_rows', 0):,} 行（隔离 {counts.get('registry_quarantined', 0):,}），"
                     f"规范单位 {counts.get('canonical_orgs', 0):,}，自动合并 {counts.get('auto_merged', 0):,} 条记录，"
                     f"待复核配对 {counts.get('suggestions_pending', 0):,}")
    if status in NEXT_STEP:
        lines.append(NEXT_STEP[status])
    lines += [f"用时 {seconds:.1f} 秒", f"报告：{report}"]
    return "\n".join(lines)


def signed(url: str, secret: str, now_ms: int | None = None) -> str:
    """``url`` with 钉钉's 加签 parameters (HMAC-SHA256 of ``timestamp\\nsecret``); unchanged without a secret.

    >>> signed("https://oapi.dingtalk.com/robot/send?access_token=T", "S", 1700000000000)
    'https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000&sign=1MQOO0c3gn9bi6PFoJOVxNJxZSKlorSUJa0EKM6BEbs%3D'
    """
    if not secret:
        return url
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"


def send(url: str, text: str, secret: str = "", timeout: float = 10) -> bool:
    """POST ``text`` to the robot at ``url``; False (and a log line) when it was not delivered."""
    import httpx

    try:
        answer = httpx.post(signed(url, secret), json={"msgtype": "text", "text": {"content": text}}, timeout=timeout)
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code >= 300 or body.get("errcode", 0) != 0:
            log.warning("event=notify_refused status=%s answer=%s", answer.status_code, answer.text[:200])
            return False
        return True
    except (httpx.HTTPError, ValueError) as e:
        log.warning("event=notify_failed error=%s", e)
        return False


def notify_run(settings, run_id: int, status: str, counts: dict | None, timings: dict, report,
               error: str | None = None, snapshot_version: int | None = None) -> bool | None:
    """Announce a finished run as the settings ask; None when nothing was to be sent."""
    if not settings.notify_webhook or not wanted(status, settings.notify_on_success):
        return None
    text = run_message(run_id, status, counts, sum(timings.values()), str(report), error, snapshot_version)
    return send(settings.notify_webhook, text, settings.notify_secret)


def announce(flow, flow_run, state) -> None:
    """Prefect state hook of the nightly flow (on completion and on failure): the run as the store recorded
    it, so a failed, rejected or held-back run is told with its reason and report."""
    from pathlib import Path

    from core.config import load_settings
    from core.store import open_store

    try:
        settings = load_settings(home=flow_run.parameters.get("home"))
        if not settings.notify_webhook:
            return
        run = open_store(settings).recent_runs(1)[0]
        report = Path(run["report_dir"] or settings.runs_dir / f"{run['id']:05d}") / "report.html"
        notify_run(settings, run["id"], run["status"], run["counts"], run["timings"] or {}, report,
                   error=run["error"], snapshot_version=run["snapshot_version"])
    except Exception:  # telling people must never change how the run ends
        log.exception("event=notify_failed")


def announced(nightly_flow):
    """The flow with ``announce`` on its completion and failure."""
    return nightly_flow.with_options(on_completion=[announce], on_failure=[announce])
