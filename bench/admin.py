"""The admin list at a million activities: p50/p99 of the pages a provincial admin uses, over HTTP.

A generated registry (``--records``, cached under bench/out/) runs through the stages in-process; its
activities are then resampled to ``--activities`` rows (new ids, dates spread over September) and
published twice — the last run with 1% fewer activities — so "newly visible since the last run" has
work to do. A real uvicorn server answers a signed-in 广东-style admin of the busiest province.

    .venv/bin/python bench/admin.py --activities 1000000 --requests 60
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import free_port, generated, peak_rss_mb


def scaled(visibility: pd.DataFrame, n: int, seed: int = 5) -> pd.DataFrame:
    """``n`` activities drawn from ``visibility`` with fresh ids and September dates."""
    rng = np.random.default_rng(seed)
    out = visibility.iloc[rng.integers(0, len(visibility), n)].reset_index(drop=True)
    out["activity_id"] = [f"B{i:08d}" for i in range(n)]
    out["start_date"] = pd.Timestamp("2026-09-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=30000, help="registry size (units come from it)")
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=60, help="requests per kind of page")
    args = ap.parse_args()

    import httpx
    import uvicorn

    from core.accounts import Accounts
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline
    from serve.app import create_app

    folder = generated(args.records)
    home = Path(tempfile.mkdtemp(prefix="orgreg-admin-bench-"))
    settings = load_settings(home=home)
    store = open_store(settings)
    t = time.perf_counter()
    frames = run_pipeline(read_inputs(folder / "registry.csv", folder / "activities.csv"), None, settings).frames
    big = scaled(frames["activity_visibility"], args.activities)
    for share in (0.99, 1.0):  # the last run, then the live one
        run = store.start_run({})
        store.publish(dict(frames, activity_visibility=big.iloc[: int(len(big) * share)]), run, {})
        store.finish_run(run, "succeeded")
    province = big["province_code"][big["province_code"] != ""].value_counts().index[0]
    in_province = int((big["province_code"] == province).sum())
    password = "基准-benchmark-river-77"
    Accounts(store).add("bench", "province", password, province)
    token = Accounts(store).new_token("bench")
    print(f"prepared {len(big):,} activities ({in_province:,} in {province}) in {time.perf_counter() - t:.1f}s")

    app = create_app(settings, store, poll_seconds=3600)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    t = time.perf_counter()
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=120)
    first = client.get(f"/admin/{province}")
    assert first.status_code == 200, first.text[:300]
    print(f"first page (builds the area's frames) {1000 * (time.perf_counter() - t):.0f} ms")
    # the province's busiest city (a county's code read up to its city; the province's own code is no city)
    region = big["region_code"].fillna("")
    codes = region[(big["province_code"] == province) & region.str.fullmatch(r"\d{6}")]
    cities = (codes.str[:4] + "00")
    city = cities[~cities.str.endswith("0000")].value_counts().index[0]
    print(f"city filter: {city} ({int((cities == city).sum()):,} activities)")
    pages = {
        "first page": {},
        "page 100": {"page": 100},
        "city filter": {"place": city},
        "date range": {"date_from": "2026-09-10", "date_to": "2026-09-12"},
        "newly visible": {"new": "true"},
        "keyword": {"q": "科普"},
        "city + dates + new": {"place": city, "date_from": "2026-09-05", "date_to": "2026-09-25", "new": "true"},
    }
    for name, params in pages.items():
        times = []
        for _ in range(args.requests):
            t = time.perf_counter()
            r = client.get(f"/admin/{province}", params=params)
            times.append(1000 * (time.perf_counter() - t))
            assert r.status_code == 200
        times.sort()
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"{name:22s} p50 {statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms   ({args.requests} requests)")
    for fmt in ("csv", "xlsx"):
        t = time.perf_counter()
        r = client.get(f"/admin/{province}", params={"place": city, "format": fmt})
        print(f"download {fmt} of the city ({len(r.content) / 1e6:.1f} MB) {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    r = client.get(f"/admin/{province}", params={"format": "csv"})
    print(f"download csv of the province ({in_province:,} rows, {len(r.content) / 1e6:.1f} MB) "
          f"{time.perf_counter() - t:.1f} s")
    print(f"peak memory {peak_rss_mb():,.0f} MB")
    server.should_exit = True


if __name__ == "__main__":
    main()
