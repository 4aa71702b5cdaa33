"""组织入驻: how long from a proposal's acceptance until the autocomplete suggests it.

    .venv/bin/python bench/proposals.py [--records 20000] [--proposals 20]

Publishes a generated registry, serves it twice over real HTTP on loopback (two services on one
state directory, as two processes of ``orgreg serve`` would be), submits proposals to the first and
accepts each there, then polls ``/api/suggest`` on both until the unit is among the answers. Prints
p50 / p95 / max of accepted → suggestible for the accepting service and the other one (the target is
≤ 5 s), and the accept request itself.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from common import free_port, generated


def fig(xs: list[float]) -> str:
    ms = np.array(xs) * 1000
    return f"p50 {np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms"


def serve(app):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def until_suggested(client, name: str, pid: str, start: float) -> float:
    while True:
        results = client.get("/api/suggest", params={"q": name, "limit": 10}).json()["results"]
        if any(r["org_id"] == pid for r in results):
            return time.perf_counter() - start
        if time.perf_counter() - start > 60:
            raise SystemExit(f"{pid} not suggested after 60 s")
        time.sleep(0.02)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--proposals", type=int, default=20)
    args = ap.parse_args()
    folder = generated(args.records)
    import httpx

    from core.accounts import add_user, new_token
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline
    from serve.app import create_app

    home = Path(tempfile.mkdtemp(prefix="orgreg-proposals-"))
    settings = load_settings(home=home, check_rate_limit="100000/minute")
    store = open_store(settings)
    store.publish(run_pipeline(read_inputs(folder / "registry.csv", folder / "activities.csv"), None, settings).frames,
                  None, {})
    add_user(store, "ops", "reviewer", "基准-ruzhu-river-41")
    auth = {"Authorization": f"Bearer {new_token(store, 'ops')}"}
    first, second = (httpx.Client(base_url=serve(create_app(settings, store)), timeout=120) for _ in range(2))
    for c in (first, second):
        while c.get("/healthz").status_code != 200:
            time.sleep(0.1)
    print(f"{args.records} records published; poll every {settings.proposal_poll_seconds} s "
          "(ORGREG_PROPOSAL_POLL_SECONDS)")
    same, other, accepts = [], [], []
    for i in range(args.proposals):
        name = f"武汉市洪山区第{i + 1}号科普驿站"
        r = first.post("/api/orgs/proposals", json={"name": name, "region_code": "420111", "category": "其他",
                                                    "contact": {"name": "王老师", "phone": "027-1"}})
        pid = r.json()["proposal_id"]
        start = time.perf_counter()
        r = first.post(f"/api/proposals/{pid}", json={"action": "accept", "reason": "基准"}, headers=auth)
        assert r.status_code == 200, r.text
        accepts.append(time.perf_counter() - start)
        same.append(until_suggested(first, name, pid, start))
        other.append(until_suggested(second, name, pid, start))
        time.sleep(0.3)  # proposals arrive apart, not in one burst
    print(f"accept request:                      {fig(accepts)}")
    print(f"accepted → suggestible, same service: {fig(same)}")
    print(f"accepted → suggestible, other service: {fig(other)}")


if __name__ == "__main__":
    main()
