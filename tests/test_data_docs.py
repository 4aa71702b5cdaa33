"""great-expectations' Data Docs of a run: every page loads only files of the run folder (no CDN), and the
labels people read are Chinese; the rules of ``core/data_docs.py`` on GX's real output."""
import re

import pandas as pd
import pytest

from core.data_docs import CDN_FILES, ASSETS_DIR
from core.quality import validate_raw_registry

LOADS = re.compile(r'<(?:script|link|img)\b[^>]*?(?:src|href)="(https?://[^"]+)"')


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """The registry suite's Data Docs on three rows, one of them with a category outside the list."""
    folder = tmp_path_factory.mktemp("run") / "data_docs"
    frame = pd.DataFrame({"org_id": ["a1", "a2", "a3"], "name": ["广州市科协", "深圳市科协", "某某学会"],
                          "category": ["市级科协", "市级科协", "不存在的类别"], "region_code": ["440100", "440300", "44"]})
    outcome = validate_raw_registry(frame, {}, folder)
    assert not outcome.success and outcome.docs_index
    return folder


def test_no_page_loads_anything_from_the_internet(docs):
    pages = list((docs / "registry_raw").rglob("*.html"))
    assert len(pages) >= 2  # the index and the validation page
    for page in pages:
        assert LOADS.findall(page.read_text(encoding="utf-8")) == [], page
    for css in (docs / "registry_raw" / "static" / "styles").glob("*.css"):
        assert "https://" not in css.read_text(encoding="utf-8")


def test_every_asset_a_page_names_is_in_the_run_folder(docs):
    for page in (docs / "registry_raw").rglob("*.html"):
        for ref in re.findall(r'(?:src|href)="([^"#:]+\.(?:js|css|png))"', page.read_text(encoding="utf-8")):
            assert (page.parent / ref).resolve().is_file(), (page, ref)
    assert {p.relative_to(ASSETS_DIR) for p in ASSETS_DIR.rglob("*.*") if p.name != "README.md"} == {
        p.relative_to(docs / "assets") for p in (docs / "assets").rglob("*.*")}
    assert all((ASSETS_DIR / local).is_file() for local in CDN_FILES.values())


def test_the_pages_read_in_chinese(docs):
    index = (docs / "registry_raw" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in index and "<title>数据校验文档</title>" in index and "校验结果" in index
    assert "'title': '运行时间'" in index and "'title': 'Run Time'" not in index  # the table's columns
    page = next((docs / "registry_raw" / "validations").rglob("*.html")).read_text(encoding="utf-8")
    for words in ("概览", "检查的规则", "通过率", "实际情况", "的值必须属于：", "只看未通过"):
        assert words in page, words
    assert "newsletter" not in page and "Overview<" not in page
