"""Review at scale: 100,000 pending suggestions over a generated registry; a reviewer clears 100.

    .venv/bin/python bench/review.py [--records 100000] [--pending 100000] [--decisions 100]

Prints, as p50 / p95 / max over real HTTP on loopback: a page load (the page, its first queue page
and the place lists), a search with filters, the cluster view, each decision (checked, then committed
with its overlay operation; no snapshot is copied) and undo. Run it with nothing else heavy on the machine.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import free_port, generated


def fig(xs: list[float]) -> str:
    ms = np.array(xs) * 1000
    return f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--decisions", type=int, default=100)
    args = ap.parse_args()
    folder = generated(args.records)
    import httpx
    import uvicorn

    from flows.pipeline import read_inputs, run_pipeline
    from core.config import load_settings
    from core.store import open_store
    from serve.app import create_app
    from serve.auth import add_user, new_token

    home = Path(tempfile.mkdtemp(prefix="orgreg-review-"))
    settings = load_settings(home=home)
    store = open_store(settings)
    frames = run_pipeline(read_inputs(folder / "registry.csv", folder / "activities.csv"), None, settings).frames
    # the generated registry leaves few suggestions: pair random units until the queue is national-sized
    rng = np.random.default_rng(1)
    ids = frames["organizations"]["org_id"].to_numpy()
    a, b = rng.choice(ids, int(args.pending * 1.1)), rng.choice(ids, int(args.pending * 1.1))
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    frames["merge_suggestions"] = pd.DataFrame({
        "left_org_id": lo, "right_org_id": hi, "score": rng.uniform(0.7, 0.92, keep.sum()).round(4),
        "explanation": "名称主体相近（相似度 0.85）；一条没有地区信息；类别相同。判断依据：常见名称、一方缺少地区（得分 0.75）",
        "status": "pending"}).drop_duplicates(["left_org_id", "right_org_id"]).head(args.pending)
    store.publish(frames, None, {})
    add_user(store, "rev", "reviewer", "基准-review-river-41")
    folders = len(list(store.snapshots_dir.iterdir()))
    auth = {"Authorization": f"Bearer {new_token(store, 'rev')}"}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=120)
    start = time.perf_counter()
    while client.get("/api/review/suggestions", params={"size": 1}).status_code != 200:
        time.sleep(0.2)  # the service builds its queue at start-up, as it does when it starts for real
    print(f"queue built at start-up in {time.perf_counter() - start:.1f} s")
    loads, searches, clusters, decisions, undos = [], [], [], [], []
    for i in range(args.decisions):
        t = time.perf_counter()
        client.get("/review")
        queue = client.get("/api/review/suggestions", params={"status": "pending", "size": 20}).json()
        client.get("/api/review/places")
        loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        client.get("/api/review/suggestions", params={"q": "科协", "band": "mid", "page": 2, "size": 20})
        searches.append(time.perf_counter() - t)
        sid = queue["results"][i % 10]["id"]
        t = time.perf_counter()
        client.get(f"/api/review/clusters/{sid}")
        clusters.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = client.post(f"/api/review/suggestions/{sid}", json={"decision": "accept" if i % 2 else "reject"})
        decisions.append(time.perf_counter() - t)
        assert r.status_code in (200, 409), r.text  # 409: a random pair may join exclusive places
        if i % 10 == 9:
            t = time.perf_counter()
            assert client.post("/api/review/undo").status_code == 200
            undos.append(time.perf_counter() - t)
    after = client.get("/api/review/suggestions", params={"size": 1}).json()
    server.should_exit = True
    print(f"{len(frames['id_map']):,} records, {len(frames['merge_suggestions']):,} pending suggestions")
    print(f"page load (page + first 20 of the queue + place lists), {len(loads)} times: {fig(loads)}")
    print(f"search + filter + page 2, {len(searches)} times: {fig(searches)}")
    print(f"cluster view, {len(clusters)} times: {fig(clusters)}")
    print(f"decision (checked, committed with its overlay operation), {len(decisions)} times: {fig(decisions)}")
    print(f"undo, {len(undos)} times: {fig(undos)}")
    print(f"pending after: {after['total_pending']:,}; live state {store.live_state().label}; "
          f"snapshot folders before/after: {folders}/{len(list(store.snapshots_dir.iterdir()))}")


if __name__ == "__main__":
    main()
