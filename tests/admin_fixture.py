"""Two provinces (广东, 湖北), a 全国学会 and a 部委 with activities, published twice (the second run
adds activities) so pages can show what is newly visible since the last run; accounts of every role."""
from pathlib import Path

import pandas as pd

PASSWORD = "科普-harbor-lantern-58"
REGISTRY = [
    ("root", "中国科学技术协会", "中国科协", "110000", ""),
    ("gd", "广东省科学技术协会", "省级科协", "440000", "root"),
    ("gz", "广州市科学技术协会", "市级科协", "440100", "gd"),
    ("th", "广州市天河区科学技术协会", "县级科协", "440106", "gz"),
    ("by", "广州市白云区科学技术协会", "县级科协", "440111", "gz"),
    ("sz", "深圳市科学技术协会", "市级科协", "440300", "gd"),
    ("gzu", "广州大学科学技术协会", "高校科协", "440100", ""),
    ("ns1", "深圳市南山区科学技术协会", "县级科协", "440305", ""),
    ("ns2", "南山区科协", "县级科协", "", ""),
    ("hb", "湖北省科学技术协会", "省级科协", "420000", "root"),
    ("wh", "武汉市科学技术协会", "市级科协", "420100", "hb"),
    ("hs1", "武汉市洪山区科学技术协会", "县级科协", "420111", ""),
    ("hs2", "洪山区科协", "县级科协", "", ""),
    ("chem", "中国化学会", "全国学会", "110000", "root"),
    ("most", "科学技术部", "部委", "110000", ""),
]
FIRST = [("a1", "天河科普周", "th", "440106", "2026-09-01"), ("a2", "白云区科学之夜", "by", "440111", "2026-09-10"),
         ("a3", "深圳创客节", "sz", "440300", "2026-09-12"), ("a4", "武汉科普游园", "wh", "420100", "2026-09-05"),
         ("a5", "化学开放日", "chem", "110000", "2026-09-15")]
SECOND = FIRST + [("a6", "广州大学科学营", "gzu", "440100", "2026-09-20"),
                  ("a7", "天河社区讲座", "", "440106", "2026-09-21"),  # no 归口单位: by the activity's place
                  ("a8", "洪山科技周", "hs1", "420111", "2026-09-22"),
                  ("a9", "=HYPERLINK(\"http://x\",\"点我\")", "gz", "440100", "2026-10-01")]
ACCOUNTS = [("nat", "admin", ""), ("rev", "reviewer", ""), ("gd_admin", "province", "440000"),
            ("hb_admin", "province", "420000"), ("chem_admin", "society", "chem"), ("most_admin", "ministry", "most")]


def write(folder: Path, activities: list) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"org_id": o, "name": n, "category": c, "region_code": r, "region": "", "parent_id": p,
                   "certified": "是", "created_at": "2023-01-01", "updated_at": ""} for o, n, c, r, p in REGISTRY]
                 ).to_csv(folder / "registry.csv", index=False)
    pd.DataFrame([{"activity_id": a, "title": t, "org_id": o, "region_code": r, "host_units": "", "start_date": d}
                  for a, t, o, r, d in activities]).to_csv(folder / "activities.csv", index=False)
    return folder / "registry.csv", folder / "activities.csv"


def publish_two_runs(home: Path):
    """Publish the first run, then the second (the live one); returns (settings, store)."""
    from core.accounts import Accounts
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline

    settings = load_settings(home=home)
    store = open_store(settings)
    for n, acts in enumerate((FIRST, SECOND), start=1):
        registry, activities = write(home / f"input{n}", acts)
        run_id = store.start_run({})
        store.publish(run_pipeline(read_inputs(registry, activities), None, settings).frames, run_id, {})
        store.finish_run(run_id, "succeeded")
    accounts = Accounts(store)
    for name, role, scope in ACCOUNTS:
        accounts.add(name, role, PASSWORD, scope)
    accounts.add("gd_rev", "province", PASSWORD, "440000", can_review=True)
    return settings, store
