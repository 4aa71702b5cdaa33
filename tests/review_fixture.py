"""A small registry whose nightly run leaves pairs for review, an automatic merge and activities."""
from pathlib import Path

import pandas as pd

MARKUP = "<script>alert('x')</script>"
REGISTRY = [
    ("root", "中国科学技术协会", "中国科协", "110000", "是"),
    ("gd", "广东省科学技术协会", "省级科协", "440000", "是"),
    ("c1", "广州市科学技术协会", "市级科协", "440100", "是"),
    ("c2", "广州市科协", "市级科协", "440100", "否"),  # merged automatically into c1
    ("w1", "西湖区科学技术协会", "县级科协", "", "否"),
    ("w2", "西湖区科学技术协会" + MARKUP, "县级科协", "", "否"),
    ("g1", "鼓楼区科学技术协会", "县级科协", "", "否"),
    ("g2", "鼓楼区科协", "县级科协", "", "否"),
    ("t1", "铁西区科学技术协会", "县级科协", "", "否"),
    ("t2", "铁西区科协", "县级科协", "", "否"),
    # a cluster the issue met: one placeless 铁西区科协 suggested with three in places that exclude each other
    ("x0", "铁西区科学技术协会（本级）", "县级科协", "", "否"),
    ("x1", "沈阳市铁西区科协", "县级科协", "210106", "否"),
    ("x2", "鞍山市铁西区科协", "县级科协", "210303", "是"),
    ("x3", "四平市铁西区科协", "县级科协", "220302", "否"),
]
ACTIVITIES = [("a1", "c2", "440100"), ("a2", "c1", "440100"), ("a3", "w1", "330106"), ("a4", "g2", "320106"),
              ("a5", "w2", "330106"),
              ("a6", "x2", "210303"), ("a7", "x2", "210303"), ("a8", "x1", "210106")]


# one company name at two places that exclude each other and once without a place: the placeless record
# is suggested with both (a name known at several places goes to review), two pending suggestions each
COMPANY_WORDS = "星河 蓝鲸 青松 金桥 银杏 紫藤 远帆 白鹭 红枫 翠竹 墨香 云杉 晨曦 雪莲 松涛 海棠 丹桂 碧波 苍鹰 飞燕 锦绣 玉兰 启明 恒信 瑞丰".split()
LONG_QUEUE = [row for i, w in enumerate(COMPANY_WORDS) for row in (
    (f"r{i}p", f"{w}生物科技有限公司", "其他", "440106", "否"), (f"r{i}q", f"{w}生物科技有限公司", "其他", "330106", "否"),
    (f"r{i}z", f"{w}生物科技有限公司", "其他", "", "否"))]


def write(folder: Path, rename: dict | None = None, extra: list[tuple] = ()) -> tuple[Path, Path]:
    """The fixture's two exports in ``folder`` (``extra`` registry rows added, e.g. ``LONG_QUEUE``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"org_id": o, "name": (rename or {}).get(o, n), "category": c, "region_code": r, "region": "",
             "parent_id": "", "certified": cert, "created_at": "2023-01-01", "updated_at": ""}
            for o, n, c, r, cert in REGISTRY + list(extra)]
    pd.DataFrame(rows).to_csv(folder / "registry.csv", index=False)
    pd.DataFrame([{"activity_id": a, "title": "科普日活动", "org_id": o, "region_code": r, "host_units": "",
                   "start_date": "2023-09-16"} for a, o, r in ACTIVITIES]).to_csv(folder / "activities.csv", index=False)
    return folder / "registry.csv", folder / "activities.csv"


def publish(home: Path):
    """Run the pipeline in-process on the fixture and publish the snapshot; returns (settings, store)."""
    from flows.pipeline import read_inputs, run_pipeline
    from core.config import load_settings
    from core.store import open_store

    settings = load_settings(home=home)
    store = open_store(settings)
    registry, activities = write(home / "input")
    store.publish(run_pipeline(read_inputs(registry, activities), None, settings).frames, None, {})
    return settings, store


def publish_queue(home: Path, pairs: int = 24):
    """The fixture with ``pairs`` more pending suggestions between unrelated units (a longer queue for
    the browser: ten decisions with the mouse, ten with the keyboard); returns (settings, store)."""
    from core.config import load_settings
    from flows.pipeline import read_inputs, run_pipeline
    from core.store import open_store

    global REGISTRY
    extra = [(f"q{i}{side}", f"测试单位{i:02d}{'甲乙'[k]}协会", "地方学会", "", "否")
             for i in range(pairs) for k, side in enumerate("ab")]
    saved, REGISTRY = REGISTRY, REGISTRY + extra
    try:
        settings = load_settings(home=home)
        store = open_store(settings)
        registry, activities = write(home / "input")
        frames = run_pipeline(read_inputs(registry, activities), None, settings).frames
    finally:
        REGISTRY = saved
    more = pd.DataFrame({"left_org_id": [f"q{i}a" for i in range(pairs)], "right_org_id": [f"q{i}b" for i in range(pairs)],
                         "score": [0.80 - i / 1000 for i in range(pairs)],
                         "explanation": "名称主体相近（相似度 0.80）；两条都没有地区信息；类别相同。判断依据：常见名称、一方缺少地区（得分 0.80）",
                         "status": "pending"})
    frames["merge_suggestions"] = pd.concat([frames["merge_suggestions"], more], ignore_index=True)
    store.publish(frames, None, {})
    return settings, store
