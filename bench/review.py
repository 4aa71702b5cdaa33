"""Review at scale: 10,000 pending suggestions over a generated registry; a reviewer clears 100.

    .venv/bin/python bench/review.py [--records 100000] [--pending 10000] [--decisions 100]

Prints the time of a page load (the page and its first queue request) and of each decision (which
republishes the snapshot), as p50 / p95 / max, over real HTTP on loopback.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import generated


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--pending", type=int, default=10_000)
    ap.add_argument("--decisions", type=int, default=100)
    args = ap.parse_args()
    folder = generated(args.records)
    import httpx
    import uvicorn

    from bench.inprocess import run_stages
    from core.config import load_settings
    from core.store import open_store
    from serve.app import create_app
    from serve.auth import add_user, new_token

    home = Path(tempfile.mkdtemp(prefix="orgreg-review-"))
    settings = load_settings(home=home)
    store = open_store(settings)
    frames = run_stages(folder / "registry.csv", folder / "activities.csv", settings=settings)["frames"]
    rng = np.random.default_rng(1)
    ids = frames["id_map"]["source_org_id"].to_numpy()
    a, b = rng.choice(ids, args.pending), rng.choice(ids, args.pending)
    keep = a != b
    frames["merge_suggestions"] = pd.DataFrame({
        "left_org_id": a[keep], "right_org_id": b[keep], "score": rng.uniform(0.7, 0.92, keep.sum()).round(4),
        "explanation": "名称主体相近；至少一方未写明地区；类别相同；结论：常见名称、一方缺少地区，得分 0.75",
        "status": "pending"}).drop_duplicates(["left_org_id", "right_org_id"])
    store.publish(frames, None, {})
    add_user(store, "rev", "reviewer", "password-1")
    auth = {"Authorization": f"Bearer {new_token(store, 'rev')}"}
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=8766,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    client = httpx.Client(base_url="http://127.0.0.1:8766", headers=auth, timeout=60)
    time.sleep(3)  # the service builds its queue at start-up, as it does when it starts for real
    loads, decisions = [], []
    for i in range(args.decisions):
        t = time.perf_counter()
        client.get("/review")
        queue = client.get("/api/review/suggestions", params={"status": "pending", "size": 50}).json()
        loads.append(time.perf_counter() - t)
        sid = queue["results"][0]["id"]
        t = time.perf_counter()
        r = client.post(f"/api/review/suggestions/{sid}", json={"decision": "accept" if i % 2 else "reject"})
        decisions.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
    server.should_exit = True

    def fig(xs):
        ms = np.array(xs) * 1000
        return f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms"

    print(f"{len(frames['id_map']):,} records, {len(frames['merge_suggestions']):,} pending suggestions")
    print(f"page load (page + first 50 of the queue), {len(loads)} times: {fig(loads)}")
    print(f"decision (record + republish), {len(decisions)} times: {fig(decisions)}")
    print(f"pending after: {queue['total'] - 1:,}")


if __name__ == "__main__":
    main()
