"""Command line of the demo-corpus generator (``python -m demo_corpus.generator --help``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import __doc__ as package_doc
from .build import generate

SEED = 20241125  # the seed of the bundled corpus
DEMO_CORPUS = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=package_doc.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEMO_CORPUS, help="output directory (default: demo_corpus/)")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help=f"random.Random seed (default {SEED}, the bundled corpus); another seed gives an independent corpus of "
        "the same design, e.g. to choose training settings without touching the bundled corpus' folds",
    )
    args = ap.parse_args()
    out: Path = args.out.resolve()
    t0 = time.time()
    k19, k20 = generate(out, args.seed, args.jobs)
    print(
        f"wrote {len(k19.segments)} KEMDy19 + {len(k20.segments)} KEMDy20 segments to {out} in {time.time() - t0:.1f} s"
    )
