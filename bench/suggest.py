"""Autocomplete: quality on a query set built from the dev set, and speed on 1,000,000 units, against
SQLite FTS5 (trigram tokenizer) and plain LIKE '%q%' in the same run.

    .venv/bin/python bench/suggest.py [--units 1000000] [--http]     # --http needs `apt-get install wrk`

Query kinds: exact name, 科协 abbreviation, name without its place prefix, full pinyin, pinyin initials,
one homophone typo, traditional characters, the name of a merged duplicate (alias).
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import OUT, ROOT, peak_rss_mb
from suggest_queries import KINDS, build_queries
from core.memory import resident_mb

DEV = ROOT.parent / "shared" / "data" / "dev"


def deep_mb(obj, seen=None) -> float:
    """What an object holds: numpy buffers (string heaps included) and Python containers, each once."""
    import sys

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0.0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        extra = sum(len(x.encode()) for x in obj.tolist()) if obj.dtype.kind == "T" else 0
        return (obj.nbytes + extra) / 2**20
    size = sys.getsizeof(obj) / 2**20
    if isinstance(obj, dict):
        return size + sum(deep_mb(k, seen) + deep_mb(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set)):
        return size + sum(deep_mb(x, seen) for x in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return size + deep_mb(vars(obj), seen)
    return size


def rss_mb() -> float:
    return resident_mb()[0]


# ------------------------------------------------------------------------------------------ engines
class Fts:
    """SQLite FTS5 with the trigram tokenizer, and plain LIKE, over the same names and aliases."""

    def __init__(self, orgs: pd.DataFrame, records: pd.DataFrame, canonical: dict):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE TABLE names(org TEXT, text TEXT)")
        self.db.execute("CREATE VIRTUAL TABLE fts USING fts5(org UNINDEXED, text, tokenize='trigram')")
        rows = list(zip(orgs["org_id"], orgs["name"])) + list(zip(records["org_id"].map(canonical), records["name"]))
        self.db.executemany("INSERT INTO names VALUES (?, ?)", rows)
        self.db.executemany("INSERT INTO fts VALUES (?, ?)", rows)

    def fts(self, q: str, limit: int = 5) -> list[str]:
        if len(q) < 3:
            return []
        quoted = '"' + q.replace('"', '""') + '"'
        rows = self.db.execute("SELECT org FROM fts WHERE text MATCH ? ORDER BY rank LIMIT 50", (quoted,))
        return list(dict.fromkeys(r[0] for r in rows))[:limit]

    def like(self, q: str, limit: int = 5) -> list[str]:
        rows = self.db.execute("SELECT org FROM names WHERE text LIKE ? LIMIT 50", (f"%{q}%",))
        return list(dict.fromkeys(r[0] for r in rows))[:limit]


def timed(fn, queries) -> tuple[list, np.ndarray]:
    out, times = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q))
        times.append(time.perf_counter() - t)
    return out, np.array(times) * 1000


# ------------------------------------------------------------------------------------------ runs
def quality(data: Path = DEV) -> None:
    from core.config import load_settings
    from flows.pipeline import read_inputs, run_pipeline
    from core.regions import default_regions
    from serve.lookup import SuggestIndex

    f = run_pipeline(read_inputs(data / "registry.csv", data / "activities.csv"), None, load_settings()).frames
    truth = pd.read_csv(data / "truth_orgs.csv", dtype=str)
    entity_of = dict(zip(truth["org_id"], truth["entity_id"]))
    entities = pd.read_csv(data / "truth_entities.csv", dtype=str, keep_default_na=False)
    records = f["records"].assign(entity_id=f["records"]["org_id"].map(entity_of))
    canonical = dict(zip(f["id_map"]["source_org_id"], f["id_map"]["canonical_org_id"]))
    index = SuggestIndex(f["organizations"], f["records"], f["id_map"], default_regions(),
                         f["activity_visibility"]["canonical_org_id"].value_counts(), f["rollup"])
    fts = Fts(f["organizations"], f["records"], canonical)
    queries = build_queries(entities, records, 1500)
    engines = {"orgreg": lambda q: [r["org_id"] for r in index.suggest(q, limit=5)], "fts5-trigram": fts.fts,
               "like": fts.like}
    print(f"quality on {data}: {len(queries)} queries from {queries['entity_id'].nunique()} units")
    header = f"{'engine':14s} " + " ".join(f"{k:>12s}" for k in KINDS) + f" {'all':>8s} {'p50 ms':>8s} {'p99 ms':>8s}"
    print(header)
    for name, fn in engines.items():
        answers, ms = timed(fn, queries["query"])
        hit = np.array([any(entity_of.get(o) == e for o in a) for a, e in zip(answers, queries["entity_id"])])
        per = [hit[(queries["kind"] == k).to_numpy()].mean() if (queries["kind"] == k).any() else float("nan")
               for k in KINDS]
        print(f"{name:14s} " + " ".join(f"{p:12.3f}" for p in per) +
              f" {hit.mean():8.3f} {np.percentile(ms, 50):8.3f} {np.percentile(ms, 99):8.3f}", flush=True)


def large_frames(units: int) -> dict[str, pd.DataFrame]:
    """1,000,000 canonical units plus their aliases (the generator's truth decides the units)."""
    cache = OUT / f"suggest-{units}.parquet"
    from bench.synthetic import generate

    gen = generate(units, seed=9)
    truth = gen["truth_orgs"]
    if cache.exists():
        records = pd.read_parquet(cache)
    else:
        from core.checks import check_registry
        from core.records import prepare_registry
        from core.regions import default_regions
        from core.sources import RawTable

        raw = gen["registry"].assign(_row=np.arange(1, len(gen["registry"]) + 1))
        regions = default_regions()
        table = RawTable(raw, Path("generated"), "utf-8", "")
        records = prepare_registry(check_registry(table, regions).clean, regions)
        OUT.mkdir(parents=True, exist_ok=True)
        records.to_parquet(cache)
    first = truth.drop_duplicates("entity_id").set_index("entity_id")["org_id"]
    canonical = truth["entity_id"].map(first)
    id_map = pd.DataFrame({"source_org_id": truth["org_id"], "canonical_org_id": canonical.to_numpy()})
    id_map["how"] = np.where(id_map["source_org_id"] == id_map["canonical_org_id"], "same", "auto")
    ents = gen["truth_entities"].set_index("entity_id")
    orgs = pd.DataFrame({"org_id": first.to_numpy(), "name": ents.loc[first.index, "name"].to_numpy(),
                         "category": ents.loc[first.index, "category"].to_numpy(),
                         "region_code": ents.loc[first.index, "region_code"].to_numpy(),
                         "province_code": ents.loc[first.index, "province_code"].to_numpy(),
                         "parent_id": "", "aliases": "", "certified": False,
                         "members": ents.loc[first.index, "n_records"].astype(int).to_numpy()})
    return {"organizations": orgs, "records": records, "id_map": id_map, "truth_entities": gen["truth_entities"],
            "entity_of": dict(zip(truth["org_id"], truth["entity_id"]))}


def speed(units: int, http: bool) -> None:
    from core.regions import default_regions
    from serve.lookup import SuggestIndex

    f = large_frames(units)
    orgs, records, id_map = f["organizations"], f["records"], f["id_map"]
    print(f"\nspeed: {len(orgs):,} canonical units, {len(records):,} source names")
    before = rss_mb()
    t = time.perf_counter()
    index = SuggestIndex(orgs, records, id_map, default_regions())
    print(f"orgreg index build {time.perf_counter() - t:.1f} s, +{rss_mb() - before:,.0f} MB resident "
          f"(process peak {peak_rss_mb():,.0f} MB)", flush=True)
    held = deep_mb({k: v for k, v in vars(index).items() if k != "regions"})
    print(f"orgreg index holds {held:,.0f} MB (arrays and containers, the shared region table excluded)", flush=True)
    gc.freeze()  # as the service does after loading a snapshot (serve.state.settle_memory)
    entity_records = records.assign(entity_id=records["org_id"].map(f["entity_of"]))
    queries = build_queries(f["truth_entities"], entity_records, 3000)["query"]
    canonical = dict(zip(id_map["source_org_id"], id_map["canonical_org_id"]))
    t = time.perf_counter()
    fts = Fts(orgs, records, canonical)
    print(f"sqlite fts5/like build {time.perf_counter() - t:.1f} s", flush=True)
    for name, fn, sample in (("orgreg", lambda q: index.suggest(q, limit=10), queries),
                             ("fts5-trigram", fts.fts, queries[:1000]), ("like", fts.like, queries[:100])):
        _, ms = timed(fn, sample)
        print(f"{name:14s} in-process over {len(sample)} queries: p50 {np.percentile(ms, 50):.3f} ms, "
              f"p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.1f} ms", flush=True)
    if http:
        http_load(f, queries)


def http_load(frames: dict, queries: pd.Series) -> None:
    from core.config import load_settings
    from core.store import open_store

    home = Path(tempfile.mkdtemp(prefix="orgreg-http-"))
    settings = load_settings(home=home)
    empty = pd.DataFrame({"activity_id": [], "canonical_org_id": [], "province_code": []}, dtype=str)
    rollup = pd.DataFrame({"org_id": [], "organizations": [], "activities": []})
    no_suggestions = pd.DataFrame({"left_org_id": [], "right_org_id": [], "score": [], "explanation": [],
                                   "status": []})
    open_store(settings).publish({"organizations": frames["organizations"], "records": frames["records"],
                                  "id_map": frames["id_map"], "activity_visibility": empty, "rollup": rollup,
                                  "merge_suggestions": no_suggestions}, None, {})
    env = dict(os.environ, ORGREG_HOME=str(home))
    log = home / "server.log"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "orgreg"), "serve", "--port", "8765"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        import urllib.request

        started = time.monotonic()
        while time.monotonic() - started < 1800:  # a million units load for minutes on a busy machine
            if server.poll() is not None:  # say why the server stopped instead of waiting for it
                print(f"server exited {server.returncode} before it became healthy:\n"
                      + log.read_text()[-3000:])
                return
            try:
                if urllib.request.urlopen("http://127.0.0.1:8765/healthz", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        print(f"server healthy after {time.monotonic() - started:.0f} s")
        from urllib.parse import quote

        rss = resident_mb(server.pid)[0]
        print(f"server process resident after loading the snapshot: {rss:,.0f} MB")

        script = Path(home) / "queries.lua"
        paths = [f"/api/suggest?q={quote(q)}&limit=10" for q in queries[:2000]]
        script.write_text("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n"
                          "request = function()\n i = i % #paths + 1\n return wrk.format('GET', paths[i])\nend\n"
                          "done = function(summary, latency, requests)\n"
                          " io.write(string.format('non-2xx/errors: %d/%d\\n', summary.errors.status,"
                          " summary.errors.connect + summary.errors.read + summary.errors.write + "
                          "summary.errors.timeout))\nend\n")
        done = subprocess.run(["wrk", "-t2", "-c16", "-d20s", "--latency", "-s", str(script),
                               "http://127.0.0.1:8765"], capture_output=True, text=True)
        keep = [l for l in done.stdout.splitlines() if re.search(r"Requests/sec|99%|50%|non-2xx|requests in", l)]
        if not keep:  # say why instead of printing an empty figure
            keep = [f"wrk gave no figures (exit {done.returncode}, server exit {server.poll()}): "
                    f"{(done.stderr or done.stdout).strip()[:500]}"]
        print("HTTP (wrk -t2 -c16 -d20s, server and load on the same 2-core machine):")
        print("\n".join("  " + l.strip() for l in keep))
    finally:
        server.terminate()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--data", type=Path, default=DEV, help="a labelled set (registry, activities, truth files)")
    args = ap.parse_args()
    if not args.skip_quality:
        quality(args.data)
    if not args.skip_speed:
        speed(args.units, args.http)


if __name__ == "__main__":
    main()
