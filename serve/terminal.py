"""``orgreg review …``: the review desk in a terminal, acting as a named, authenticated account.

Every command signs in first (an API token from ``--token`` or ``ORGREG_TOKEN``, or ``--user`` with a
password prompt) and goes through the same ``Desk`` as the web page: the same rules, the same role
checks (an admin-only action by a reviewer is refused) and the same audit log.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from core.command_options import HOME

review_app = typer.Typer(help="在终端审核合并建议（以已登录的账号操作；规则、权限和审计与网页相同）。",
                         no_args_is_help=True)
console = Console()
err = Console(stderr=True)
TOKEN = typer.Option(None, "--token", help="API 令牌（orgreg user token 生成；也可设 ORGREG_TOKEN）")
USER = typer.Option(None, "--user", help="账号名（随后提示输入密码）")
PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="从标准输入读取密码（脚本用）")
EXIT_REFUSED, EXIT_AUTH, EXIT_CONFLICT = 1, 4, 3


def signed_in(home, token, user, password_stdin):
    """The desk and the account the command acts as; exits 4 with a Chinese message when sign-in fails."""
    from core.config import load_settings
    from core.store import open_store
    from core.accounts import Accounts, check_password, token_hash
    from serve.desk import Desk

    settings = load_settings(home=home)
    store = open_store(settings)
    token = token or settings.token
    account = None
    if user:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("密码", hide_input=True)
        found = Accounts(store).user(user)
        usable = found is not None and not found["disabled"]  # same argon2 work for unknown and disabled names
        account = found if check_password(found["password_hash"] if usable else None, password) else None
        if account is None:
            err.print("用户名或密码不正确")
    elif token:
        account = Accounts(store).user_by_token(token_hash(token))
        if account is None:
            err.print("令牌无效或已失效：请用 orgreg user token 重新生成")
    else:
        err.print("请先登录：--token 令牌（或设置 ORGREG_TOKEN），或 --user 账号名（随后输入密码）")
    if account is None:
        raise typer.Exit(EXIT_AUTH)
    return Desk(store), account


def _run(action):
    """Carry out a desk action; refusals become a Chinese message and a non-zero exit."""
    from core.store import DecisionConflict, LiveMoved
    from serve.desk import NotAllowed, Refused

    try:
        return action()
    except (DecisionConflict, Refused, LiveMoved) as e:
        err.print(str(e))
        raise typer.Exit(EXIT_CONFLICT)
    except NotAllowed as e:
        err.print(str(e))
        raise typer.Exit(EXIT_AUTH)
    except (LookupError, ValueError) as e:
        if isinstance(e, KeyError):
            raise
        err.print(str(e))
        raise typer.Exit(EXIT_REFUSED)


@review_app.command("list")
def review_list(q: Optional[str] = typer.Option(None, help="按名称、ID 或地区搜索"),
                province: Optional[str] = typer.Option(None, help="省级代码，如 210000"),
                city: Optional[str] = typer.Option(None, help="地级代码，如 210300"),
                category: Optional[str] = None, band: Optional[str] = typer.Option(None, help="high / mid / low"),
                limit: int = 20, page: int = 1, home: Optional[Path] = HOME, token: Optional[str] = TOKEN,
                user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """列出待审核的合并建议（按影响排序，可搜索、筛选、翻页）。"""
    from serve.queue import filter_queue

    desk, _ = signed_in(home, token, user, password_stdin)
    queue = _run(lambda: filter_queue(desk.queue(), province, category, band, city, q))
    table = Table(title=f"待审核 {len(queue)} 条（第 {page} 页）")
    for col in ("ID", "得分", "左", "右", "活动"):
        table.add_column(col)
    for r in queue.iloc[(page - 1) * limit: page * limit].itertuples():
        table.add_row(r.id, f"{r.score:.2f}", f"{r.left_name}（{r.left_region_path or '未知地区'}）",
                      f"{r.right_name}（{r.right_region_path or '未知地区'}）", str(r.activities))
    console.print(table if len(queue) else "没有符合条件的待审核建议。")


@review_app.command("show")
def review_show(suggestion: str, home: Optional[Path] = HOME, token: Optional[str] = TOKEN,
                user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """显示一条建议所在的整组：每个单位、之间的建议和已知冲突。"""
    desk, _ = signed_in(home, token, user, password_stdin)
    view = _run(lambda: desk.cluster(suggestion))
    for u in view["units"]:
        console.print(f"[bold]{u['name']}[/] ID {u['org_id']} · {u['category'] or '未填类别'} · "
                      f"{u['region_path'] or '未知地区'} · 上级 {u['parent'] or '无'} · 活动 {u['activities']}"
                      + (" · 已认证" if u["certified"] else "") + (" · 默认保留" if u["org_id"] == view["survivor"] else ""))
    for s in view["suggestions"]:
        console.print(f"  {s['id']}（{s['score']:.2f}）：{s['explanation']}")
    for c in view["conflicts"]:
        console.print(f"[red]冲突[/] {c['a']} 与 {c['b']}：{c['reason']}")


def _done(result: dict, what: str) -> None:
    console.print(f"{what}（操作 {result.get('batch') or result.get('undone')}），当前状态 {result.get('live', '')}")


@review_app.command("accept")
def review_accept(suggestion: str, survivor: Optional[str] = typer.Option(None, help="保留的单位 ID（须是两者之一）"),
                  home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                  password_stdin: bool = PASSWORD_STDIN):
    """接受合并（只能是待审核的建议；与每晚聚类相同的冲突检查）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    _done(_run(lambda: desk.decide(suggestion, "accept", account, survivor)), f"已接受 {suggestion}")


@review_app.command("reject")
def review_reject(suggestion: str, home: Optional[Path] = HOME, token: Optional[str] = TOKEN,
                  user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """拒绝合并：这一对以后不会再被建议或合并。"""
    desk, account = signed_in(home, token, user, password_stdin)
    _done(_run(lambda: desk.decide(suggestion, "reject", account)), f"已拒绝 {suggestion}")


@review_app.command("split")
def review_split(suggestion: str, group: list[str] = typer.Option(..., "--group", help="一组一起合并的单位 ID，逗号分隔；可重复"),
                 home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                 password_stdin: bool = PASSWORD_STDIN):
    """把整组建议分成几组：组内合并、组与组之间拒绝（每组先过冲突检查）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    groups = [[x.strip() for x in g.split(",") if x.strip()] for g in group]
    _done(_run(lambda: desk.decide_cluster(suggestion, "accept", account, groups)), f"已按 {len(groups)} 组处理 {suggestion}")


@review_app.command("merge")
def review_merge(org_ids: list[str], survivor: Optional[str] = typer.Option(None, help="保留的单位 ID（须是其中之一）"),
                 home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                 password_stdin: bool = PASSWORD_STDIN):
    """“这两个是同一单位”：合并未被建议的记录（经过与每晚聚类相同的冲突检查）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    _done(_run(lambda: desk.merge(org_ids, account, survivor)), f"已合并 {'、'.join(org_ids)}")


@review_app.command("correct")
def review_correct(org_id: str, name: Optional[str] = typer.Option(None, help="更正后的名称"),
                   category: Optional[str] = typer.Option(None, help="更正后的组织类别"),
                   region_code: Optional[str] = typer.Option(None, "--region-code", help="更正后的地区代码（6 位）"),
                   home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                   password_stdin: bool = PASSWORD_STDIN):
    """更正单位的名称、类别或地区（以后每晚运行都保留，如同审核决定）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    changes = {k: v for k, v in (("name", name), ("category", category), ("region_code", region_code)) if v is not None}
    _done(_run(lambda: desk.correct(org_id, changes, account)), f"已更正 {org_id}")


@review_app.command("undo")
def review_undo(home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                password_stdin: bool = PASSWORD_STDIN):
    """撤销自己最近的一次操作（再次运行继续往前撤销）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    _done(_run(lambda: desk.undo(account)), "已撤销")


@review_app.command("unmerge")
def review_unmerge(org_id: str, home: Optional[Path] = HOME, token: Optional[str] = TOKEN,
                   user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """把一条记录从它被合并进的单位中拆出来，以后不再合并（需要管理员）。"""
    desk, account = signed_in(home, token, user, password_stdin)
    _done(_run(lambda: desk.unmerge(org_id, account)), f"已拆出 {org_id}")
