"""The quick benchmark runs and reports every measure with finite numbers; no time or size is asserted."""

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURES = {
    "1. training throughput": 2,  # optimiser step with its data, data path alone
    "2. featurization of files": 2,  # 16 kHz and 44.1 kHz files
    "3. inference per utterance": 3,  # latency, throughput, counted compute
    "7. ONNX Runtime against PyTorch": 4,  # fp32 and int8, one utterance and one dialogue
}
MEMORY_CASES = ("window_channels (default)", "window_channels, bidirectional", "per_utterance (variant)")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_quick_benchmark_writes_the_full_table(tmp_path):
    output = tmp_path / "results.md"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)]
    # One thread: on a busy 2-core machine, OpenMP threads waiting for each other make this run 6× slower.
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run(command, cwd=ROOT, env=environment, check=True, timeout=300, capture_output=True)
    report = output.read_text(encoding="utf-8")
    lines = report.splitlines()

    for measure, count in MEASURES.items():
        rows = [_cells(line) for line in lines if line.startswith(f"| {measure} |")]
        assert len(rows) == count, measure
        for cells in rows:  # measure, case, unit, ours, baseline, ratio, ...
            numbers = [float(cells[3]), float(cells[4]), float(cells[5].rstrip("×"))]
            assert all(math.isfinite(value) and value > 0 for value in numbers), cells

    growth = [_cells(line) for line in lines if line.startswith("| ") and _cells(line)[0].isdigit()]
    assert {(int(cells[0]), int(cells[1])) for cells in growth} == {(b, t) for b in (1, 2) for t in (1, 4, 16)}
    for cells in growth:
        assert all(math.isfinite(float(cell)) for cell in cells[2:]), cells

    memory = [_cells(line) for line in lines if line.startswith(tuple(f"| {case}" for case in MEMORY_CASES))]
    assert len(memory) == len(MEMORY_CASES)
    for cells in memory:  # model, windows, peaks, fixed, per window, worst residual, at 64 windows, fits
        peaks = [float(peak) for peak in cells[2].split(", ")]
        assert len(peaks) == len(cells[1].split(", ")) and all(peak > 0 for peak in peaks), cells
        assert all(math.isfinite(float(cell)) for cell in cells[3:7]), cells
        assert float(cells[6]) > 0, cells
    assert "// 64 per step, the last partial batch dropped = 128" in report
    assert all(f"- {field}:" in report for field in ("date", "machine", "software"))
