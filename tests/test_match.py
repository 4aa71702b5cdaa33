"""``orgreg match``: a spreadsheet column of typed names matched to canonical units and written back."""
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from tests.newunit_fixture import publish

runner = CliRunner()

TYPED = [  # name, region (code, place name or empty), the unit it must link to ("" for none)
    ("广州市科协", "", "gzs"),
    ("中山大学科协", "440100", "zsu"),
    ("海珠区科协", "广东省广州市海珠区", "hz"),
    ("广州市科学技术协会", "440100", "gzs"),
    ("湖北省应急管理局", "420000", ""),
    ("", "", ""),
    ("=HYPERLINK(\"http://x\",\"y\")", "", ""),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("match")
    publish(home)
    return home


def sheet() -> pd.DataFrame:
    return pd.DataFrame({"序号": [str(i + 1) for i in range(len(TYPED))], "单位名称": [t[0] for t in TYPED],
                         "地区": [t[1] for t in TYPED]})


def orgreg(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, "".join(result.stdout.split()), "".join(result.stderr.split())


def test_an_xlsx_column_is_matched_and_written_back(home, tmp_path):
    source = tmp_path / "示范县名单.xlsx"
    sheet().to_excel(source, index=False)
    code, out, _ = orgreg("match", source, "--column", "单位名称", "--region-column", "地区", "--home", home)
    assert code == 0, out
    written = pd.read_excel(tmp_path / "示范县名单.匹配结果.xlsx", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["序号", "单位名称", "地区", "canonical_org_id", "规范名称", "得分", "方式", "候选"]
    assert written["canonical_org_id"].tolist() == [t[2] for t in TYPED]
    assert written["方式"].tolist()[:5] == ["exact", "exact", "exact", "exact", "none"]
    assert written.at[0, "规范名称"] == "广州市科学技术协会" and "广州市科学技术协会（gzs" in written.at[0, "候选"]
    assert "名称一致4" in out and "未匹配3" in out and "共7行" in out


def test_a_gbk_csv_gets_a_csv_back_with_bom(home, tmp_path):
    source = tmp_path / "list.csv"
    sheet().to_csv(source, index=False, encoding="gb18030")
    out = tmp_path / "result.csv"
    code, _, _ = orgreg("match", source, "--column", "单位名称", "-o", out, "--home", home)
    assert code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written["canonical_org_id"].tolist()[:4] == ["gzs", "zsu", "hz", "gzs"]
    assert written.at[6, "单位名称"].startswith("'=")  # a formula typed as a name stays text for Excel


def test_a_category_limits_the_candidates(home, tmp_path):
    source = tmp_path / "u.csv"
    pd.DataFrame({"名称": ["广州市科协", "中山大学科协"]}).to_csv(source, index=False)
    code, _, _ = orgreg("match", source, "--column", "名称", "--category", "高校科协", "--home", home)
    assert code == 0
    written = pd.read_csv(tmp_path / "u.匹配结果.csv", dtype=str, keep_default_na=False)
    assert written["canonical_org_id"].tolist() == ["", "zsu"]


def test_wrong_requests_are_explained(home, tmp_path):
    source = tmp_path / "a.csv"
    sheet().to_csv(source, index=False)
    code, _, err = orgreg("match", source, "--column", "名字", "--home", home)
    assert code == 2 and "没有名为“名字”的列" in err and "单位名称" in err
    code, _, err = orgreg("match", source, "--column", "单位名称", "--category", "大学", "--home", home)
    assert code == 2 and "组织类别“大学”不存在" in err
    code, _, err = orgreg("match", tmp_path / "missing.xlsx", "--column", "x", "--home", home)
    assert code == 2 and "文件不存在" in err
    code, _, err = orgreg("match", source, "--column", "单位名称", "--home", tmp_path / "empty")
    assert code == 1 and "还没有发布过快照" in err
