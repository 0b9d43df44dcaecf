"""What the measures return and the report renders: comparison rows, cost-growth points, training-memory fits."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Row:
    """One comparison: `ours` and `baseline` in `unit`; the ratio says how many times better ours is."""

    measure: str
    case: str
    unit: str
    ours: float
    baseline: float
    higher_is_better: bool
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours


@dataclass
class GrowthPoint:
    batch: int
    length: int
    seconds: float
    peak_bytes: int

    @property
    def utterances(self) -> int:
        return self.batch * self.length


@dataclass
class MemoryFit:
    """Peak bytes of one training step at a few batch sizes (windows), and the least-squares line through them."""

    case: str
    batches: tuple[int, ...]
    peaks: list[int]

    @property
    def line(self) -> tuple[float, float]:
        """(fixed bytes, bytes per window)."""
        per_window, fixed = np.polyfit(self.batches, self.peaks, 1)
        return float(fixed), float(per_window)

    def at(self, windows: int) -> float:
        fixed, per_window = self.line
        return fixed + per_window * windows

    @property
    def worst_residual(self) -> float:
        return max(abs(peak - self.at(batch)) for batch, peak in zip(self.batches, self.peaks))
