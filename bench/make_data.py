"""Write a labelled synthetic registry in the contract's format.

    .venv/bin/python bench/make_data.py OUTDIR [--units 3000] [--seed 11] [--no-truth] [--noise prefix abbrev ...]

The bundled sample is ``bench/make_data.py data/sample --units 3000 --seed 11``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import ALL_NOISE, generate, write  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--units", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-truth", action="store_true")
    ap.add_argument("--noise", nargs="*", default=sorted(ALL_NOISE), choices=sorted(ALL_NOISE))
    args = ap.parse_args()
    start = time.perf_counter()
    frames = generate(args.units, seed=args.seed, noise=frozenset(args.noise))
    write(frames, args.outdir, truth=not args.no_truth)
    print(f"{len(frames['registry'])} registry rows, {len(frames['activities'])} activities -> {args.outdir} "
          f"({time.perf_counter() - start:.1f}s)")


if __name__ == "__main__":
    main()
