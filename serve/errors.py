"""Errors in Chinese: JSON ``{"detail": …}`` for the API, a page for a person's browser (404/405/422…)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

TITLES = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "页面不存在", 405: "不支持这种请求方式",
          409: "与已有决定冲突", 422: "请求参数不正确", 429: "请求太频繁", 500: "服务器出错", 503: "服务暂不可用"}
DEFAULT_DETAIL = {404: "找不到您要的页面或数据，请检查地址。", 405: "这个地址不接受这种请求方式（例如用浏览器打开了只接受提交的地址）。"}
# pydantic's error types, said in Chinese (its own messages are English)
MESSAGES = {"missing": "缺少这一项", "string_pattern_mismatch": "格式不正确", "string_too_long": "太长",
            "string_too_short": "太短", "literal_error": "取值不在允许的范围内", "int_parsing": "应为整数",
            "bool_parsing": "应为 true 或 false", "greater_than_equal": "太小", "less_than_equal": "太大",
            "date_from_datetime_parsing": "应为日期（如 2026-12-03）", "date_parsing": "应为日期（如 2026-12-03）",
            "list_type": "应为列表", "string_type": "应为文字", "too_short": "项数太少", "too_long": "项数太多",
            "json_invalid": "JSON 格式不正确", "model_attributes_type": "应为 JSON 对象", "dict_type": "应为 JSON 对象"}


def validation_message(errors: list[dict]) -> str:
    """One Chinese line naming each wrong field and what is wrong with it.

    >>> validation_message([{"loc": ("query", "province"), "type": "string_pattern_mismatch", "msg": "…"}])
    '请求参数不正确：province 格式不正确'
    """
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e["loc"][1:]) or str(e["loc"][0])
        parts.append(f"{where} {MESSAGES.get(e['type'], '不正确')}")
    return "请求参数不正确：" + "；".join(parts)


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _page(status: int, detail: str) -> HTMLResponse:
    from html import escape

    title = TITLES.get(status, "出错了")
    return HTMLResponse(f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{status} {title} · 组织库</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:4em auto;max-width:40em;color:#222}}
h1{{font-size:1.4em}} a{{color:#1677ff}}</style></head><body><h1>{status} {title}</h1><p>{escape(detail)}</p>
{'<p>如需查看其他地区或单位的数据，请联系全国管理员调整您的账号范围。</p>' if status == 403 else ''}
<p><a href="/admin">返回我的页面</a> · <a href="/review">审核台</a> · <a href="/login">换个账号登录</a></p></body></html>""", status_code=status)


def install_error_answers(app: FastAPI) -> None:
    """Chinese answers for every HTTP error and every invalid request."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii() \
            else DEFAULT_DETAIL.get(exc.status_code, TITLES.get(exc.status_code, "出错了"))
        if exc.status_code == 401 and request.method == "GET" and not request.url.path.startswith("/api/"):
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(back)}", status_code=303)  # and back after the login
        if _wants_page(request) and exc.status_code != 401:
            return _page(exc.status_code, detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        message = validation_message(exc.errors())
        if _wants_page(request):
            return _page(422, message)
        return JSONResponse({"detail": message}, status_code=422)
