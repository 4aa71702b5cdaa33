"""A small registry for the new-unit check, proposals and reconciliation: a city 科协 with universities
in the same city, a province that reads alike (贵州/广州), and activities whose hosts are typed freely."""
from pathlib import Path

import pandas as pd

REGISTRY = [  # org_id, name, category, region_code, certified
    ("root", "中国科学技术协会", "中国科协", "110000", "是"),
    ("gd", "广东省科学技术协会", "省级科协", "440000", "是"),
    ("gzs", "广州市科学技术协会", "市级科协", "440100", "是"),
    ("hz", "广州市海珠区科学技术协会", "县级科协", "440105", "是"),
    ("zsu", "中山大学科学技术协会", "高校科协", "440100", "是"),
    ("scnu", "华南师范大学科学技术协会", "高校科协", "440100", "否"),
    ("scau", "华南农业大学科学技术协会", "高校科协", "440100", "否"),
    ("gzp", "贵州省科学技术协会", "省级科协", "520000", "是"),
    ("hzkjg", "广州市海珠区科技馆", "科普教育基地", "440105", "否"),
    ("hbkx", "湖北省科学技术协会", "省级科协", "420000", "是"),
    ("whdx", "武汉大学", "其他", "420100", "否"),
]
ACTIVITIES = [  # activity_id, org_id, region_code, host_units
    ("a1", "gzs", "440100", "广州市科学技术协会、中山大学科协"),
    ("a2", "hz", "440105", "海珠区科协，广州市海珠区科技馆"),
    ("a3", "hbkx", "420100", "湖北省应急管理局、湖北省科协"),
    ("a4", "hbkx", "420100", "湖北省应急管理局"),
    ("a5", "", "420100", "湖北省应急管理局、武汉大学"),
    ("a6", "gzs", "440100", ""),
]


def write(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"org_id": o, "name": n, "category": c, "region_code": r, "region": "", "parent_id": "",
                   "certified": cert, "created_at": "2023-01-01", "updated_at": ""}
                  for o, n, c, r, cert in REGISTRY]).to_csv(folder / "registry.csv", index=False)
    pd.DataFrame([{"activity_id": a, "title": "科普日活动", "org_id": o, "region_code": r, "host_units": h,
                   "start_date": "2023-09-16"} for a, o, r, h in ACTIVITIES]).to_csv(folder / "activities.csv",
                                                                                     index=False)
    return folder / "registry.csv", folder / "activities.csv"


def publish(home: Path, **settings_overrides):
    """Run the stages in-process on the fixture and publish the snapshot; returns (settings, store, frames)."""
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline

    settings = load_settings(home=home, **settings_overrides)
    store = open_store(settings)
    registry, activities = write(home / "input")
    frames = run_pipeline(read_inputs(registry, activities), None, settings).frames
    store.publish(frames, None, {})
    return settings, store, frames
