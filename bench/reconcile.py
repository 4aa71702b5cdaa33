"""Typed names to units on a labelled set (default ``../shared/data/hard/60k``): reconciliation accuracy,
``orgreg match`` throughput, and the new-unit check (``/api/orgs/check``) in-process and over HTTP.

    .venv/bin/python bench/reconcile.py [--data DIR] [--match-names 100000] [--http]   # --http needs wrk

- accuracy: every source record as a query (its name + region_code, as OpenRefine would send a row) →
  is its true unit the top candidate, among the top 3?
- ``orgreg match``: a CSV of ``--match-names`` names drawn from the registry (with their region codes),
  matched and written back by ``serve.match_file.match_file`` (the command's own work), in names/s.
- the check: p50/p99 in-process over 2,000 registry names; with ``--http``, ``orgreg serve`` on the
  snapshot and ``wrk -t2 -c8 -d20s`` POSTing them (the rate limit lifted for the run): once as fast as the
  server answers, once paced to offer ``--rate`` requests/s (300 by default, the target's rate), each with
  the server's CPU per request.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import OUT, ROOT, peak_rss_mb

HARD = ROOT.parent / "shared" / "data" / "hard" / "60k"


def snapshot_home(data: Path) -> Path:
    """A state directory with the set's snapshot published (made once, cached under bench/out/)."""
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline

    home = OUT / f"home-{data.parent.name}-{data.name}"
    settings = load_settings(home=home)
    store = open_store(settings)
    if store.live_snapshot() is None:
        t = time.perf_counter()
        frames = run_pipeline(read_inputs(data / "registry.csv", data / "activities.csv"), None, settings).frames
        store.publish(frames, None, {})
        print(f"snapshot of {data} published in {time.perf_counter() - t:.1f} s ({home})", flush=True)
    return home


def loaded(home: Path):
    from core.config import load_settings
    from core.store import open_store
    from serve.state import SnapshotHolder

    holder = SnapshotHolder(open_store(load_settings(home=home)))
    holder.refresh()
    return holder.current


def accuracy(current, registry: pd.DataFrame, entity_of: dict, settings) -> None:
    from serve.matching import Matcher, best_first, link, prepare_typed

    matcher = Matcher.of(current)
    names, codes = registry["name"].tolist(), registry["region_code"].tolist()
    top1 = top3 = linked = 0
    t = time.perf_counter()
    for start in range(0, len(names), 2000):
        part = slice(start, start + 2000)
        recs = prepare_typed(names[part], codes[part], None, matcher.regions)
        for name, rec, oid in zip(names[part], recs, registry["org_id"].tolist()[part]):
            found = matcher.candidates(rec, name)
            best, how = link(found, settings.auto_merge_threshold, settings.review_threshold)
            ranked = [entity_of.get(c.org_id) for c in best_first(found, best)[:3]]
            truth = entity_of[oid]
            top1 += bool(ranked) and ranked[0] == truth
            top3 += truth in ranked
            linked += how in ("exact", "auto")
    n = len(names)
    print(f"reconciliation, {n:,} source records as queries (name + region_code): top-1 {top1 / n:.4f}, "
          f"top-3 {top3 / n:.4f}, linked automatically (exact/auto) {linked / n:.4f}; "
          f"{n / (time.perf_counter() - t):,.0f} queries/s", flush=True)


def match_speed(current, registry: pd.DataFrame, count: int, settings) -> None:
    from serve.match_file import match_file
    from serve.matching import Matcher

    rows = registry.sample(count, replace=count > len(registry), random_state=3)
    path = OUT / f"match-{count}.csv"
    pd.DataFrame({"单位名称": rows["name"].to_numpy(), "地区": rows["region_code"].to_numpy()}).to_csv(path, index=False)
    t = time.perf_counter()
    out, found = match_file(Matcher.of(current), path, "单位名称", "地区", None, OUT / f"match-{count}.out.csv",
                            settings.auto_merge_threshold, settings.review_threshold)
    seconds = time.perf_counter() - t
    shares = found["方式"].value_counts(normalize=True).round(4).to_dict()
    print(f"orgreg match on {count:,} names (read, match, write): {seconds:.1f} s, {count / seconds:,.0f} names/s; "
          f"how {shares}", flush=True)


def check_speed(current, registry: pd.DataFrame, settings) -> pd.DataFrame:
    from serve.newunit import check_unit

    sample = registry.sample(2000, random_state=4)
    ms = []
    for name, code in zip(sample["name"], sample["region_code"]):
        t = time.perf_counter()
        check_unit(current, name, code, "", settings.auto_merge_threshold, settings.review_threshold)
        ms.append((time.perf_counter() - t) * 1000)
    print(f"/api/orgs/check in-process over {len(ms)} names: p50 {np.percentile(ms, 50):.2f} ms, "
          f"p99 {np.percentile(ms, 99):.2f} ms, max {max(ms):.1f} ms", flush=True)
    return sample


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CONNECTIONS = 8


def wrk_script(bodies: list[str], rate: int | None) -> str:
    """wrk's Lua: POST the bodies in turn; with ``rate``, each connection waits so that all of them
    together offer about ``rate`` requests/s (wrk's ``delay``; the latency is the answer's alone)."""
    # wrk waits after each answer, which takes a few milliseconds at this rate: four less to wait
    pace = f"delay = function() return {max(0, CONNECTIONS * 1000 // rate - 4)} end\n" if rate else ""
    return ("bodies = {" + ",".join("[==[" + b + "]==]" for b in bodies) + "}\ni = 0\n" + pace +
            "request = function()\n i = i % #bodies + 1\n"
            " return wrk.format('POST', '/api/orgs/check', {['Content-Type']='application/json'}, bodies[i])\nend\n"
            "done = function(summary, latency, requests)\n"
            " io.write(string.format('non-2xx/errors: %d/%d\\n', summary.errors.status,"
            " summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n")


def run_wrk(script: Path, pid: int, title: str) -> None:
    """One 20-second wrk run against the server ``pid``, its figures and the server's CPU per request."""
    cpu = server_cpu_seconds(pid)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d20s", "--latency", "-s", str(script),
                          "http://127.0.0.1:8766"], capture_output=True, text=True).stdout
    cpu = server_cpu_seconds(pid) - cpu
    keep = [line for line in out.splitlines() if re.search(r"Requests/sec|^\s*(50|99)%|non-2xx|requests in", line)]
    print(f"/api/orgs/check over HTTP, {title} (wrk -t2 -c{CONNECTIONS} -d20s, server and load on the same 2-core machine):")
    print("\n".join("  " + line.strip() for line in keep), flush=True)
    done = re.search(r"(\d+) requests in", out)
    if done and int(done.group(1)):  # the server's own work per request: what other load on the machine changes least
        print(f"  server CPU per request {1000 * cpu / int(done.group(1)):.2f} ms (load average "
              f"{os.getloadavg()[0]:.1f})", flush=True)


def check_http(home: Path, sample: pd.DataFrame, rate: int) -> None:
    import urllib.request

    # PYTHONPATH: the code of this checkout (the shared venv's editable install points at another one)
    env = dict(os.environ, ORGREG_HOME=str(home), ORGREG_CHECK_RATE_LIMIT="100000000/minute", PYTHONPATH=str(ROOT))
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "orgreg"), "serve", "--port", "8766"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen("http://127.0.0.1:8766/healthz", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        bodies = [json.dumps({"name": n, "region_code": c}, ensure_ascii=False)
                  for n, c in zip(sample["name"], sample["region_code"])]
        # warm the matcher (built on the first check) before measuring
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8766/api/orgs/check", bodies[0].encode(),
                                                      {"Content-Type": "application/json"}), timeout=60).read()
        for pace, title in ((None, "as fast as it answers"), (rate, f"offered about {rate} req/s")):
            script = home / "check.lua"
            script.write_text(wrk_script(bodies, pace), encoding="utf-8")
            run_wrk(script, server.pid, title)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    from core.config import load_settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=HARD)
    ap.add_argument("--match-names", type=int, default=100_000)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--rate", type=int, default=300, help="requests/s offered in the paced HTTP run")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args()
    home = snapshot_home(args.data.resolve())
    settings = load_settings(home=home)
    current = loaded(home)
    registry = pd.read_csv(args.data / "registry.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(args.data / "truth_orgs.csv", dtype=str)
    entity_of = dict(zip(truth["org_id"], truth["entity_id"]))
    print(f"{args.data}: {len(registry):,} records, {len(current.orgs):,} units in the snapshot", flush=True)
    if not args.skip_accuracy:
        accuracy(current, registry, entity_of, settings)
    match_speed(current, registry, args.match_names, settings)
    sample = check_speed(current, registry, settings)
    if args.http:
        check_http(home, sample, args.rate)
    print(f"peak resident {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
