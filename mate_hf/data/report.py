"""What a corpus reader dropped, repaired or noticed: `LoadReport`.

Every entry has a reason, and every reason has a kind:

- ``skip``: an annotation row that was read but produced no utterance. Each skipped row has
  exactly one skip entry (the first reason that applied), so ``rows_skipped`` counts rows.
- ``loss``: data left out that no row accounts for (audio without an annotation row for the
  role, a missing annotation file).
- ``repair``: a used row whose value was corrected (e.g. ``disqust`` read as ``disgust``).
- ``note``: worth knowing, nothing lost (a tie, a transcript decoded as cp949).

In strict mode the first ``skip`` or ``loss`` raises `ValueError` naming the file (and line);
repairs and notes never raise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SKIP_REASONS: dict[str, str] = {
    "truncated_row": "the row has fewer columns than the header needs",
    "bad_segment_id": "the Segment ID cell is empty or not of the corpus' form",
    "known_broken": "a segment id known to be broken in the released corpus",
    "mismatched_segment_id": "the id's gender contradicts its file (mis-entered id)",
    "unknown_emotion": "an emotion cell names no known class",
    "non_numeric_score": "a Total Evaluation valence/arousal cell is not a number",
    "score_out_of_range": "a Total Evaluation valence/arousal cell is outside the 1-5 scale",
    "extra_cells": "the row fills more columns than the header names (an unquoted comma shifts the columns)",
    "duplicate_segment_id": "a later row for a Segment ID already used in the same file",
    "missing_wav": "the utterance's .wav file does not exist",
    "missing_txt": "the utterance's .txt transcript does not exist",
    "unreadable_wav": "the utterance's .wav file is not readable audio (corrupt, truncated or empty)",
    "unreadable_transcript": "the transcript is neither UTF-8 nor cp949",
}
REPAIR_REASONS: dict[str, str] = {
    "disqust_spelling": "'disqust' read as 'disgust'",
}
LOSS_REASONS: dict[str, str] = {
    "unlabelled_audio": "a .wav file has no annotation row for this role",
    "missing_annotation_file": "a session lacks one of its annotation files",
}
NOTE_REASONS: dict[str, str] = {
    "tie": "the Total Evaluation is a tie: the majority label set has several classes",
    "cp949_transcript": "the transcript was decoded as cp949 (not UTF-8)",
}
_KINDS = {
    **dict.fromkeys(SKIP_REASONS, "skip"),
    **dict.fromkeys(LOSS_REASONS, "loss"),
    **dict.fromkeys(REPAIR_REASONS, "repair"),
    **dict.fromkeys(NOTE_REASONS, "note"),
}


@dataclass(frozen=True)
class ReportEntry:
    """One reported event; ``file`` is relative to the corpus root, ``line`` is 1-based (physical)."""

    reason: str
    file: str
    line: int | None
    segment_id: str | None
    detail: str

    @property
    def kind(self) -> str:
        return _KINDS[self.reason]

    def describe(self, root: str = "") -> str:
        where = str(Path(root, self.file)) if root else self.file
        if self.line is not None:
            where += f", line {self.line}"
        segment = f" [{self.segment_id}]" if self.segment_id else ""
        return f"{where}: {self.reason}{segment}: {self.detail}"


@dataclass
class LoadReport:
    """Accounting of one reader call.

    ``rows_read == rows_used + rows_skipped`` always holds; what a "row" is depends on the
    reader (see `load_kemdy19` and `load_kemdy20`). ``to_dict()`` is JSON-serialisable.
    """

    corpus: str
    role: str
    root: str
    strict: bool = False
    rows_read: int = 0
    rows_used: int = 0
    entries: list[ReportEntry] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        return sum(entry.kind == "skip" for entry in self.entries)

    @property
    def repairs(self) -> int:
        return sum(entry.kind == "repair" for entry in self.entries)

    def add(self, reason: str, file: str, line: int | None, segment_id: str | None, detail: str) -> None:
        """Record an event; in strict mode a skip or loss raises `ValueError` instead."""
        if reason not in _KINDS:
            raise KeyError(f"unknown report reason {reason!r}")
        entry = ReportEntry(reason, file, line, segment_id, detail)
        if self.strict and entry.kind in ("skip", "loss"):
            raise ValueError(f"{entry.describe(self.root)} (strict mode; load with strict=False to skip and report)")
        self.entries.append(entry)

    def counts(self) -> dict[str, int]:
        """Number of entries per reason."""
        return dict(sorted(Counter(entry.reason for entry in self.entries).items()))

    def by_reason(self, reason: str) -> list[ReportEntry]:
        return [entry for entry in self.entries if entry.reason == reason]

    def check(self) -> None:
        """Raise `RuntimeError` if the row accounting does not add up (a reader bug)."""
        if self.rows_read != self.rows_used + self.rows_skipped:
            raise RuntimeError(f"row accounting broken: {self.rows_read=} {self.rows_used=} {self.rows_skipped=}")

    def summary(self) -> str:
        head = (
            f"{self.corpus} ({self.role}): {self.rows_read} rows read, {self.rows_used} used, "
            f"{self.rows_skipped} skipped, {self.repairs} repaired"
        )
        parts = [f"{reason} {count}" for reason, count in self.counts().items()]
        return head + (" — " + ", ".join(parts) if parts else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "role": self.role,
            "root": self.root,
            "strict": self.strict,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_skipped": self.rows_skipped,
            "repairs": self.repairs,
            "counts": self.counts(),
            "entries": [{**asdict(entry), "kind": entry.kind} for entry in self.entries],
        }
