"""Accounts: roles and scopes, the password policy, argon2 hashes, API tokens and server-side sessions.

Every change to an account is written to the audit log with who made it (``by``) and its before/after.
Roles: ``admin`` (national: everything), ``reviewer`` (national review desk only), ``province`` (one
province, scope ``440000``), ``society`` / ``ministry`` (one 全国学会 / 部委 unit and its subtree, scope = its
org id). Scoped roles review merge suggestions only when ``can_review`` is set, and then only in scope.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update

from core.store import Store, audit_log, now, sessions, users

ROLES = {"admin": "全国管理员", "reviewer": "审核员", "province": "省级管理员", "society": "全国学会管理员",
         "ministry": "部委管理员"}
SCOPED_ROLES = ("province", "society", "ministry")
PROVINCE_CODE = re.compile(r"^\d{2}0000$")
_hasher = PasswordHasher()
# answered for unknown or disabled accounts, so they cost the same argon2 work as a known one
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with ``stored=None`` it spends the same time and says False."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        return False


def token_hash(token: str) -> str:
    """SHA-256 of a token or session id: the database never holds the secret itself.

    >>> len(token_hash("x"))
    64
    """
    return hashlib.sha256(token.encode()).hexdigest()


def password_problem(password: str, name: str = "", min_length: int = 12, min_score: int = 3) -> str | None:
    """Why ``password`` is refused (Chinese), or None: too short, or a common password or pattern (zxcvbn).

    >>> password_problem("password")
    '密码至少 12 个字符（现在 8 个）'
    >>> password_problem("passwordpassword") is not None
    True
    >>> password_problem("湖北科协审核-tea-7-river") is None
    True
    """
    if len(password) < min_length:
        return f"密码至少 {min_length} 个字符（现在 {len(password)} 个）"
    from zxcvbn import zxcvbn  # loads its frequency lists (common passwords, words, names) on first use

    verdict = zxcvbn(password[:100], user_inputs=[name] if name else [])
    if verdict["score"] < min_score:
        common = any(m.get("dictionary_name") == "passwords" for m in verdict["sequence"])
        why = "含有常见密码" if common else "是容易猜到的组合（重复、顺序、键盘排列、常见词或用户名）"
        return f"密码太弱：{why}；请使用 {min_length} 个字符以上、不含常见词的密码或一句话"
    return None


def check_role(role: str, scope: str) -> None:
    """Raise ValueError (Chinese) unless ``scope`` fits ``role``.

    >>> check_role("province", "440000")
    >>> check_role("province", "4400")
    Traceback (most recent call last):
    ...
    ValueError: 省级管理员的范围应为 6 位省级代码，例如 --scope 440000
    """
    if role not in ROLES:
        raise ValueError(f"未知角色 {role}：应为 {'、'.join(ROLES)}")
    if role == "province" and not PROVINCE_CODE.match(scope or ""):
        raise ValueError("省级管理员的范围应为 6 位省级代码，例如 --scope 440000")
    if role in ("society", "ministry") and not scope:
        raise ValueError(f"{ROLES[role]}需要 --scope 单位ID（其全国学会或部委在组织库中的 ID）")
    if role not in SCOPED_ROLES and scope:
        raise ValueError(f"{ROLES[role]}是全国范围的角色，不能带 --scope")


class Accounts:
    """Users and sessions in the store's database."""

    def __init__(self, store: Store, min_length: int = 12, min_score: int = 3):
        self.store, self.engine = store, store.engine
        self.min_length, self.min_score = min_length, min_score

    def user(self, name: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(users).where(users.c.name == name)).mappings().first()
        return dict(row) if row else None

    def user_by_token(self, hashed: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(users).where(users.c.token_hash == hashed)).mappings().first()
        return dict(row) if row and not row["disabled"] else None

    def users(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(users).order_by(users.c.name)).mappings()]

    def _audit(self, c, by: str, action: str, detail: dict) -> None:
        c.execute(insert(audit_log).values(at=now(), user=by, action=action, detail=detail))

    def add(self, name: str, role: str, password: str, scope: str = "", can_review: bool = False,
            by: str = "") -> None:
        """Create an account; ValueError (Chinese) for a bad role, scope or password, or a taken name."""
        if not 0 < len(name) <= 64 or not name.isprintable() or any(c.isspace() for c in name):
            raise ValueError("用户名应为 1–64 个可见字符，不含空格")
        check_role(role, scope)
        self._check_password(password, name)
        if self.user(name):
            raise ValueError(f"用户 {name} 已存在")
        with self.engine.begin() as c:
            c.execute(insert(users).values(name=name, role=role, password_hash=hash_password(password),
                                           created_at=now(), scope=scope, can_review=can_review, disabled=False))
            self._audit(c, by, "user:add", {"name": name, "role": role, "scope": scope, "can_review": can_review})

    def _check_password(self, password: str, name: str) -> None:
        problem = password_problem(password, name, self.min_length, self.min_score)
        if problem:
            raise ValueError(problem)

    def change(self, name: str, by: str = "", *, role: str | None = None, scope: str | None = None,
               can_review: bool | None = None, password: str | None = None, disabled: bool | None = None) -> dict:
        """Change an account (audited with before/after); disabling or a new password ends its sessions and token."""
        before = self.user(name)
        if before is None:
            raise LookupError(f"没有用户 {name}")
        values: dict = {k: v for k, v in dict(role=role, scope=scope, can_review=can_review,
                                              disabled=disabled).items() if v is not None}
        if role is not None and scope is None and role not in SCOPED_ROLES:
            values["scope"] = ""
        check_role(values.get("role", before["role"]), values.get("scope", before["scope"]))
        if password is not None:
            self._check_password(password, name)
            values["password_hash"] = hash_password(password)
        ends_access = bool(disabled) or password is not None
        if ends_access:
            values["token_hash"] = None
        shown = {k: v for k, v in values.items() if k not in ("password_hash", "token_hash")}
        with self.engine.begin() as c:
            c.execute(update(users).where(users.c.name == name).values(**values))
            if ends_access:
                c.execute(delete(sessions).where(sessions.c.user == name))
            self._audit(c, by, "user:disable" if disabled else "user:enable" if disabled is False else "user:set", {
                "name": name, "before": {k: before[k] for k in shown}, "after": shown,
                "password_changed": password is not None, "sessions_ended": ends_access})
        return self.user(name)

    def remove(self, name: str, by: str = "") -> None:
        with self.engine.begin() as c:
            if not c.execute(delete(users).where(users.c.name == name)).rowcount:
                raise LookupError(f"没有用户 {name}")
            c.execute(delete(sessions).where(sessions.c.user == name))
            self._audit(c, by, "user:remove", {"name": name})

    def new_token(self, name: str, by: str = "") -> str:
        """A fresh API token (only its hash is kept; the previous token stops working)."""
        user = self.user(name)
        if user is None or user["disabled"]:
            raise ValueError(f"没有可用的用户 {name}")
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as c:
            c.execute(update(users).where(users.c.name == name).values(token_hash=token_hash(token)))
            self._audit(c, by, "user:token", {"name": name})
        return token

    def revoke_token(self, name: str, by: str = "") -> bool:
        """Revoke the account's API token; False when it had none."""
        user = self.user(name)
        if user is None:
            raise LookupError(f"没有用户 {name}")
        with self.engine.begin() as c:
            c.execute(update(users).where(users.c.name == name).values(token_hash=None))
            self._audit(c, by, "user:revoke-token", {"name": name, "had_token": user["token_hash"] is not None})
        return user["token_hash"] is not None

    # ---------------------------------------------------------------- sessions
    def start_session(self, name: str) -> str:
        """A new session id for ``name`` (the cookie carries it; the database only its hash)."""
        sid = secrets.token_urlsafe(32)
        with self.engine.begin() as c:
            c.execute(insert(sessions).values(id_hash=token_hash(sid), user=name, created_at=now(), last_seen=now()))
        return sid

    def session_user(self, sid: str, idle: timedelta, absolute: timedelta) -> dict | None:
        """The enabled account of a live session, or None (ended, idle or absolute timeout: then it is removed)."""
        hashed = token_hash(sid)
        with self.engine.connect() as c:
            row = c.execute(select(sessions).where(sessions.c.id_hash == hashed)).mappings().first()
        if row is None:
            return None
        moment = now()
        if moment - _aware(row["last_seen"]) > idle or moment - _aware(row["created_at"]) > absolute:
            self.end_session(sid)
            return None
        user = self.user(row["user"])
        if user is None or user["disabled"]:
            return None
        if moment - _aware(row["last_seen"]) > timedelta(seconds=30):  # one write per half minute, not per request
            with self.engine.begin() as c:
                c.execute(update(sessions).where(sessions.c.id_hash == hashed).values(last_seen=moment))
        return user

    def end_session(self, sid: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.id_hash == token_hash(sid)))

    def session_count(self, name: str) -> int:
        with self.engine.connect() as c:
            return len(c.execute(select(sessions.c.id_hash).where(sessions.c.user == name)).all())


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def add_user(store: Store, name: str, role: str, password: str, scope: str = "", can_review: bool = False,
             by: str = "") -> None:
    """Shorthand for ``Accounts(store).add(…)`` (the default policy)."""
    Accounts(store).add(name, role, password, scope, can_review, by)


def new_token(store: Store, name: str, by: str = "") -> str:
    """Shorthand for ``Accounts(store).new_token(…)``."""
    return Accounts(store).new_token(name, by)
