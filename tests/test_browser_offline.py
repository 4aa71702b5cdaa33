"""The service without internet: ``/docs`` renders from assets the service serves itself.
Every request that leaves 127.0.0.1 is refused in the browser and listed; none may be needed."""
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_browser import CHROMIUM, SCREENS, page, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")]


def offline(page):  # noqa: F811
    """Refuse every request that is not for the local service; returns the refused URLs."""
    refused = []

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    return refused


def test_api_docs_render_without_internet(server, page):  # noqa: F811
    url = server[0]
    refused = offline(page)
    page.goto(url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "orgreg 组织库查询服务" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/suggest"]')  # the operations are listed from /openapi.json
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "docs-offline.png"), full_page=False)
    assert refused == []
