"""The run report operations staff read: one HTML page in Chinese per run, with plots."""
from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
_FONT_CANDIDATES = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei",
                    "DejaVu Sans"]


def _pyplot():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    if not any(f in available for f in _FONT_CANDIDATES[:-1]):
        # fonts installed after matplotlib cached its font list are not in it
        for path in glob.glob("/usr/share/fonts/**/*CJK*.tt[cf]", recursive=True) + \
                glob.glob("/usr/share/fonts/**/wqy*.tt[cf]", recursive=True):
            font_manager.fontManager.addfont(path)
        available = {f.name for f in font_manager.fontManager.ttflist}
    # Axis labels are ASCII when no CJK font is installed, so the plots never show empty boxes.
    cjk = next((f for f in _FONT_CANDIDATES[:-1] if f in available), None)
    plt.rcParams["font.family"] = [cjk] if cjk else ["DejaVu Sans"]
    return plt, bool(cjk)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scores(histogram: list[int], auto: float, review: float, path: Path) -> Path:
    plt, cjk = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    edges = np.linspace(0, 1, len(histogram) + 1)
    ax.bar(edges[:-1], histogram, width=edges[1] - edges[0], align="edge", color="#5b8ff9", log=True)
    ax.axvline(auto, color="#d9363e", label=("自动合并阈值" if cjk else "auto-merge") + f" {auto}")
    ax.axvline(review, color="#faad14", label=("人工复核阈值" if cjk else "review") + f" {review}")
    ax.set_xlabel("配对得分" if cjk else "pair score")
    ax.set_ylabel("配对数（对数）" if cjk else "pairs (log)")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_cluster_sizes(id_map: pd.DataFrame, path: Path) -> Path:
    plt, cjk = _pyplot()
    sizes = id_map.groupby("canonical_org_id").size()
    counts = sizes[sizes > 1].value_counts().sort_index()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(counts.index.astype(str), counts.to_numpy(), color="#5ad8a6")
    ax.set_xlabel("合并后每个单位的记录数" if cjk else "records per merged unit")
    ax.set_ylabel("单位数" if cjk else "units")
    return _save(plt, fig, path)


def plot_visibility(gains: pd.DataFrame, path: Path) -> Path:
    plt, cjk = _pyplot()
    g = gains.sort_values("province_code")
    x = np.arange(len(g))
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.bar(x - 0.2, g["visible_before"], width=0.4, label="清洗前可见" if cjk else "before", color="#bfbfbf")
    ax.bar(x + 0.2, g["visible_now"], width=0.4, label="清洗后可见" if cjk else "after", color="#5b8ff9")
    labels = g["province_name"] if cjk and "province_name" in g else g["province_code"].str[:2]
    ax.set_xticks(x, labels, fontsize=7, rotation=60 if cjk else 0)
    ax.set_ylabel("活动数" if cjk else "activities")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def render_report(run_dir: Path, context: dict) -> Path:
    """Write ``report.html`` into ``run_dir``; ``context`` holds the run's figures (see the template)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    path = run_dir / "report.html"
    path.write_text(env.get_template("report.html").render(**context), encoding="utf-8")
    return path
