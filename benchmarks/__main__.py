"""`python -m benchmarks`: run the chosen measures, print the markdown report, and write it with `--output`."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import datasets

from . import __doc__ as DESCRIPTION
from .featurization import bench_featurization
from .inference import bench_growth, bench_inference
from .inputs import build_mate
from .memory import bench_memory
from .onnx_runtime import bench_onnx
from .report import machine, render, thread_variables
from .results import GrowthPoint, MemoryFit, Row
from .settings import FULL, MEASURES, QUICK, Settings
from .training import bench_training


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small models and sizes (CI): under a minute")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--measures", nargs="+", choices=MEASURES, default=list(MEASURES), help="run only these")
    return parser.parse_args(argv)


def run_measures(names: list[str], settings: Settings) -> tuple[list[Row], list[GrowthPoint], list[MemoryFit]]:
    model, processor = build_mate(settings)
    rows, points, fits = [], [], []
    if "training" in names:
        progress("1. training throughput")
        rows += bench_training(model, processor, settings)
    if "featurization" in names:
        progress("2. featurization of files")
        with tempfile.TemporaryDirectory() as folder:
            extractor = processor.feature_extractor
            rows += [bench_featurization(extractor, settings, Path(folder), rate) for rate in settings.feature_rates]
    if "inference" in names:
        progress("3. inference per utterance")
        rows += bench_inference(model, processor, settings)
    if "onnx" in names:
        progress("7. ONNX Runtime against PyTorch")
        rows += bench_onnx(model, processor, settings)
    if "growth" in names:
        progress("4. cost growth")
        points = bench_growth(model, settings)
    if "memory" in names:
        progress("5. training memory")
        del model  # the memory measure builds its own models, one at a time
        fits = bench_memory(settings)
    return rows, points, fits


def progress(step: str) -> None:
    """A full run takes many minutes: say where it is (on stderr, the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    settings = QUICK if arguments.quick else FULL
    datasets.disable_progress_bars()  # the cache is built in a few map calls: their bars would drown the progress
    load_before = os.getloadavg()[0]
    rows, points, fits = run_measures(arguments.measures, settings)
    command = " ".join([*thread_variables(), "python -m benchmarks", *argv])
    report = render(rows, points, fits, machine(), settings, (load_before, os.getloadavg()[0]), command)
    print(report)
    if arguments.output:
        arguments.output.write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
