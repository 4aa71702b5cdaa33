"""Accounts for the review pages and API: argon2 password hashes, API tokens, session and CSRF."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import HTTPException, Request

from core.store import Store

ROLES = ("reviewer", "admin")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(store: Store, name: str, role: str, password: str) -> None:
    if role not in ROLES:
        raise ValueError(f"角色应为 {' 或 '.join(ROLES)}")
    if not name or len(password) < 8:
        raise ValueError("用户名不能为空，密码至少 8 位")
    if store.user(name):
        raise ValueError(f"用户 {name} 已存在")
    store.add_user(name, role, hash_password(password))


def new_token(store: Store, name: str) -> str:
    """A fresh API token for ``name`` (only its hash is stored; the old token stops working)."""
    if not store.user(name):
        raise ValueError(f"没有用户 {name}")
    token = secrets.token_urlsafe(32)
    store.set_token(name, token_hash(token))
    return token


def session_secret(configured: str, home: Path) -> str:
    """The configured secret, else one generated once and kept (0600) in the state directory."""
    if configured:
        return configured
    path = Path(home) / "session_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def current_user(request: Request, store: Store) -> dict | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return store.user_by_token(token_hash(header[7:].strip()))
    name = request.session.get("user") if "session" in request.scope else None
    return store.user(name) if name else None


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def require_user(request: Request, store: Store, role: str | None = None, write: bool = False) -> dict:
    """The signed-in user, or 401; 403 without the role; session writes must carry the CSRF token."""
    user = current_user(request, store)
    if user is None:
        raise HTTPException(401, "请先登录（或使用 Authorization: Bearer 令牌）",
                            headers={"WWW-Authenticate": "Bearer"})
    if role and user["role"] != role and user["role"] != "admin":
        raise HTTPException(403, f"需要 {role} 权限")
    if write and not request.headers.get("authorization", "").lower().startswith("bearer "):
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not hmac.compare_digest(sent, request.session.get("csrf", "")):
            raise HTTPException(403, "CSRF 校验失败：请刷新页面后重试")
    return user
