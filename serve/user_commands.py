"""``orgreg user …``: the service's accounts (roles, scopes, review rights, API tokens) from a terminal;
every change is in the audit log with the operating-system account that made it."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from core.command_options import HOME

console = Console()
err = Console(stderr=True)

user_app = typer.Typer(help="账号：添加、列出、修改、停用、删除，API 令牌（每项操作记入审计日志）。", no_args_is_help=True)


def _accounts(home):
    from core.accounts import Accounts
    from core.config import load_settings
    from core.store import open_store

    settings = load_settings(home=home)
    return Accounts(open_store(settings), settings.password_min_length, settings.password_min_score)


def _operator() -> str:
    """Who ran the command, for the audit log (the operating-system account)."""
    import getpass

    return f"cli:{getpass.getuser()}"


def _read_password(from_stdin: bool) -> str:
    return sys.stdin.readline().rstrip("\n") if from_stdin else typer.prompt("密码", hide_input=True,
                                                                             confirmation_prompt=True)


def _account_call(call):
    try:
        return call()
    except (ValueError, LookupError) as e:
        err.print(str(e).strip("'\""))
        raise typer.Exit(2)


ROLE_HELP = "admin（全国管理员）、reviewer（审核员）、province（省级管理员，--scope 省级代码）、society / ministry（全国学会 / 部委管理员，--scope 单位ID）"


@user_app.command("add")
def user_add(name: str, role: str = typer.Option("reviewer", help=ROLE_HELP),
             scope: str = typer.Option("", help="省级代码（如 440000）或单位 ID"),
             review: bool = typer.Option(False, "--review", help="省级/学会/部委管理员也可审核本范围内的合并建议"),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码"),
             home: Optional[Path] = HOME):
    """添加账号（密码至少 12 位且不能是常见密码；以 argon2 哈希保存；记入审计日志）。"""
    accounts = _accounts(home)
    password = _read_password(password_stdin)
    _account_call(lambda: accounts.add(name, role, password, scope, review, by=_operator()))
    console.print(f"已添加用户 {name}（{role}{' · ' + scope if scope else ''}）")


@user_app.command("list")
def user_list(home: Optional[Path] = HOME):
    """列出账号：角色、范围、审核权限、状态、令牌和在线会话数。"""
    from core.accounts import ROLES

    accounts = _accounts(home)
    table = Table(title="账号")
    for col in ("用户名", "角色", "范围", "可审核", "状态", "API 令牌", "会话", "创建时间"):
        table.add_column(col)
    for u in accounts.users():
        table.add_row(u["name"], ROLES.get(u["role"], u["role"]), u["scope"] or "全国",
                      "是" if u["role"] in ("admin", "reviewer") or u["can_review"] else "否",
                      "已停用" if u["disabled"] else "正常", "有" if u["token_hash"] else "无",
                      str(accounts.session_count(u["name"])), f"{u['created_at']:%Y-%m-%d}" if u["created_at"] else "")
    console.print(table)


@user_app.command("set")
def user_set(name: str, role: Optional[str] = typer.Option(None, help=ROLE_HELP),
             scope: Optional[str] = typer.Option(None, help="新的范围（省级代码或单位 ID）"),
             review: Optional[bool] = typer.Option(None, "--review/--no-review", help="是否可审核本范围内的合并建议"),
             password: bool = typer.Option(False, "--password", help="设置新密码（结束该账号的所有会话和令牌）"),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="新密码从标准输入读取"),
             enable: bool = typer.Option(False, "--enable", help="重新启用已停用的账号"),
             home: Optional[Path] = HOME):
    """修改账号的角色、范围、审核权限或密码（记入审计日志）。"""
    accounts = _accounts(home)
    new_password = _read_password(password_stdin) if password or password_stdin else None
    user = _account_call(lambda: accounts.change(name, _operator(), role=role, scope=scope, can_review=review,
                                                 password=new_password, disabled=False if enable else None))
    console.print(f"已修改用户 {name}：{user['role']}{' · ' + user['scope'] if user['scope'] else ''}"
                  f"{'，可审核' if user['can_review'] else ''}")


@user_app.command("disable")
def user_disable(name: str, home: Optional[Path] = HOME):
    """停用账号：立即结束其所有会话并吊销其 API 令牌（可用 user set --enable 恢复）。"""
    _account_call(lambda: _accounts(home).change(name, _operator(), disabled=True))
    console.print(f"已停用用户 {name}：会话已结束，令牌已吊销")


@user_app.command("remove")
def user_remove(name: str, home: Optional[Path] = HOME):
    """删除账号（审计日志保留其历史）。"""
    _account_call(lambda: _accounts(home).remove(name, _operator()))
    console.print(f"已删除用户 {name}")


@user_app.command("token")
def user_token(name: str, revoke: bool = typer.Option(False, "--revoke", help="吊销令牌而不生成新的"),
               home: Optional[Path] = HOME):
    """为用户生成新的 API 令牌（脚本用 Authorization: Bearer 令牌；旧令牌随即失效），或 --revoke 吊销。"""
    accounts = _accounts(home)
    if revoke:
        had = _account_call(lambda: accounts.revoke_token(name, _operator()))
        console.print(f"已吊销 {name} 的令牌" if had else f"{name} 没有令牌")
        return
    print(_account_call(lambda: accounts.new_token(name, _operator())))
