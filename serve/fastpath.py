"""A direct answer to well-formed autocomplete requests, in front of the FastAPI application.

The form fires one request per keystroke, so ``/api/suggest`` is the one hot path: a lookup takes a
fraction of a millisecond, and FastAPI's routing, dependency solving and middleware stack cost more
than that. A request whose parameters are all valid is answered here with the same function the
documented FastAPI route uses; anything else (a bad parameter, nothing published yet) goes on to
that route, which gives the usual JSON error.
"""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import parse_qs

from core.schema import CATEGORIES

_REGION = re.compile(r"^\d{6}$")
_LIMIT = re.compile(r"^\d{1,4}$")
PARAMS = {"q", "category", "region", "limit"}


class SuggestFastPath:
    def __init__(self, app, answer: Callable[[str, str | None, str | None, int], bytes | None],
                 max_query: int, max_limit: int):
        self.app = app
        self.answer = answer  # (q, category, region, limit) -> JSON bytes, or None when it cannot answer
        self.max_query = max_query
        self.max_limit = max_limit

    def _valid(self, query_string: bytes) -> tuple[str, str | None, str | None, int] | None:
        params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
        if not params.keys() <= PARAMS or any(len(v) != 1 for v in params.values()) or "q" not in params:
            return None
        q = params["q"][0]
        category = params.get("category", [None])[0] or None
        region = params.get("region", [None])[0]
        limit = params.get("limit", ["10"])[0]
        if not 1 <= len(q) <= self.max_query or (category is not None and category not in CATEGORIES):
            return None
        if (region is not None and not _REGION.match(region)) or not _LIMIT.match(limit):
            return None
        if not 1 <= int(limit) <= self.max_limit:
            return None
        return q, category, region, int(limit)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/api/suggest":
            args = self._valid(scope["query_string"])
            body = self.answer(*args) if args else None
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
