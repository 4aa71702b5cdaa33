"""``orgreg nightly`` through typer's CliRunner: 0 and the summary on success, 2 and the reason for a
rejected input (the snapshot stays live), 2 for a bad option."""
import logging

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import SAMPLE
from tests.review_fixture import write

pytestmark = pytest.mark.flow


@pytest.fixture
def orgreg():
    """Run one command; (exit code, stdout, stderr without whitespace). The command's log file handler is taken off again."""
    runner, before = CliRunner(), list(logging.getLogger().handlers)

    def run(*args):
        result = runner.invoke(app, [str(a) for a in args])
        # rich wraps lines at the terminal's width: compared without the wrapping
        return result.exit_code, "".join(result.stdout.split()), "".join(result.stderr.split())

    yield run
    for handler in set(logging.getLogger().handlers) - set(before):
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_nightly_exit_codes_and_messages(orgreg, tmp_path):
    registry, activities = write(tmp_path / "input")
    code, out, _ = orgreg("nightly", "--registry", registry, "--activities", activities, "--home", tmp_path / "home")
    assert code == 0 and "已发布快照v1" in out and "报告：" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("组织名称,组织类别\n广州市科协,市级科协\n", encoding="utf-8")
    code, _, err = orgreg("nightly", "--registry", bad, "--activities", activities, "--home", tmp_path / "home")
    assert code == 2 and "输入被拒绝" in err and "缺少必需的列org_id" in err and "上一次发布的快照仍在提供服务" in err
    code, _, err = orgreg("nightly", "--no-such-option")
    assert code == 2 and "--no-such-option" in err
    code, out, _ = orgreg("status", "--home", tmp_path / "home")
    assert code == 0 and "当前状态：v1" in out and "输入被拒绝" in out


def test_the_robot_hears_of_a_rejected_run_and_if_asked_of_a_published_one(orgreg, tmp_path, robot, monkeypatch):
    monkeypatch.setenv("ORGREG_NOTIFY_WEBHOOK", robot["url"])
    registry, activities = write(tmp_path / "input")
    home = tmp_path / "home"
    assert orgreg("nightly", "--registry", registry, "--activities", activities, "--home", home)[0] == 0
    assert robot["received"] == []  # a published run is not announced unless asked
    bad = tmp_path / "bad.csv"
    bad.write_text("组织名称,组织类别\n广州市科协,市级科协\n", encoding="utf-8")
    assert orgreg("nightly", "--registry", bad, "--activities", activities, "--home", home)[0] == 2
    text = robot["received"][-1][1]["text"]["content"]
    assert text.startswith("【组织库夜间清洗】第 2 次运行：输入被拒绝，未发布") and "缺少必需的列 org_id" in text
    assert f"报告：{home / 'runs' / '00002' / 'report.html'}" in text
    monkeypatch.setenv("ORGREG_NOTIFY_ON_SUCCESS", "true")
    assert orgreg("nightly", "--registry", registry, "--activities", activities, "--home", home)[0] == 0
    assert "第 3 次运行：成功，已发布快照 v2" in robot["received"][-1][1]["text"]["content"]


def test_orgreg_schedule_announces_its_runs_as_nightly_does(orgreg, tmp_path, robot, monkeypatch):
    """The flow ``orgreg schedule`` serves carries the same hooks: a scheduled run with a bad export reaches
    the robot with its reason (the deployment's run is the served flow called with its parameters)."""
    import signal

    import flows.environment
    from prefect.flows import Flow

    served = {}
    monkeypatch.setattr(Flow, "serve", lambda self, **kw: served.update(flow=self, **kw))
    monkeypatch.setattr(flows.environment, "ensure_prefect_server", lambda home: "http://127.0.0.1:4200/api")
    monkeypatch.setenv("ORGREG_NOTIFY_WEBHOOK", robot["url"])
    registry, activities = write(tmp_path / "input")
    home = tmp_path / "home"
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        code, out, _ = orgreg("schedule", "--cron", "0 3 * * *", "--registry", registry, "--activities", activities,
                              "--home", home)
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    assert code == 0 and "定时：03***（Asia/Shanghai）" in out
    assert served["name"] == "nightly" and served["schedules"][0].cron == "0 3 * * *"
    assert served["flow"](**served["parameters"])["status"] == "succeeded"
    assert robot["received"] == []  # published: not announced unless asked
    bad = tmp_path / "bad.csv"
    bad.write_text("组织名称,组织类别\n广州市科协,市级科协\n", encoding="utf-8")
    with pytest.raises(Exception, match="org_id"):
        served["flow"](**{**served["parameters"], "registry": str(bad)})
    text = robot["received"][-1][1]["text"]["content"]
    assert text.startswith("【组织库夜间清洗】第 2 次运行：输入被拒绝，未发布") and "缺少必需的列 org_id" in text
    assert f"报告：{home / 'runs' / '00002' / 'report.html'}" in text
