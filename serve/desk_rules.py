"""The rules every path to the review desk shares: what a suggestion id is, who may unmerge, the
refusals (409/403) and the retry when another process moved the live state meanwhile."""
from __future__ import annotations

import re

from core.live import LiveMoved

RETRIES = 8  # moves of the live state by others while one decision is checked: more means a stuck writer
SUGGESTION_ID = re.compile(r"^([A-Za-z0-9_.:]{1,64})-([A-Za-z0-9_.:]{1,64})$")


class Refused(Exception):
    """A decision the rules do not allow (409): the reasons say why, in Chinese."""

    def __init__(self, message: str, conflicts: list[dict] | None = None):
        super().__init__(message)
        self.conflicts = conflicts or []


class NotAllowed(PermissionError):
    """The account's role may not do this (403)."""


def parse_suggestion_id(sid: str) -> tuple[str, str]:
    """``left-right`` of a suggestion; ValueError (422) when malformed or a record paired with itself.

    >>> parse_suggestion_id("101-202")
    ('101', '202')
    """
    m = SUGGESTION_ID.match(sid or "")
    if not m or m.group(1) == m.group(2):
        raise ValueError(f"建议编号格式不正确：{sid}（应为“左ID-右ID”，两个 ID 不同）")
    return m.group(1), m.group(2)


def require_admin(user: dict, what: str) -> None:
    """NotAllowed unless ``user`` is an admin (unmerge is theirs alone, by every path)."""
    if user.get("role") != "admin":
        raise NotAllowed(f"{what}需要管理员权限（当前账号 {user.get('name')} 是审核员）")



def retried(action):
    """Run a deciding method again on the new live state when another process moved it meanwhile."""
    def run(self, *args, **kwargs):
        for _ in range(RETRIES):
            try:
                return action(self, *args, **kwargs)
            except LiveMoved:
                continue
        raise LiveMoved("当前状态一直在被其他进程更新，决定未提交；请稍后重试。")
    run.__doc__, run.__name__ = action.__doc__, action.__name__
    return run
