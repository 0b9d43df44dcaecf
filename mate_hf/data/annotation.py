"""Annotation CSVs of KEMDy19/KEMDy20: locating the columns and parsing the label cells.

The files' header spelling is undocumented, so columns are found by name, relative to the
``Segment ID`` column, never by absolute position:

- two header rows (KEMDy19, and KEMDy20 as public code reads it): row 1 holds group names
  (``Segment ID``, ``Total Evaluation``, ``Eval01``...), row 2 the sub-names. Each
  ``Emotion`` sub-name after ``Segment ID`` starts a group whose ``Valence`` and ``Arousal``
  are found by sub-name; the first group is the Total Evaluation, the others the evaluators.
- one header row (recognised by a Segment ID in the second row): the first named column
  after ``Segment ID`` starts the Total Evaluation, each ``EvalNN...`` column (``Eval01F``,
  ``Eval02M``) an evaluator; a group's emotion is its first column, then valence and arousal
  (found by name when the columns are named).

A layout that cannot be recognised raises `ValueError` naming the file and the header line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .labels import UnknownEmotionError, parse_emotion, parse_emotion_set, vote_distribution

CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp949")
# Arousal and valence are rated on a 1-5 scale; the model's outputs cover exactly this range.
SCORE_RANGE: tuple[float, float] = (1.0, 5.0)
_EVALUATOR_NAME = re.compile(r"^eval\d+")


@dataclass(frozen=True)
class ScoreColumns:
    """0-based column indices of one emotion/valence/arousal group."""

    name: str
    emotion: int
    valence: int
    arousal: int


@dataclass(frozen=True)
class AnnotationLayout:
    header_rows: int
    segment_id: int
    total: ScoreColumns
    evaluators: tuple[ScoreColumns, ...]
    columns: int = 0  # columns the header names (up to its last non-empty cell)

    @property
    def width(self) -> int:
        """Number of columns a data row needs to hold every cell the reader uses."""
        groups = (self.total, *self.evaluators)
        return 1 + max(self.segment_id, *(max(g.emotion, g.valence, g.arousal) for g in groups))


@dataclass(frozen=True)
class AnnotationRow:
    line: int  # 1-based physical line of the file
    cells: tuple[str, ...]

    def segment_id(self, layout: AnnotationLayout) -> str | None:
        """The Segment ID cell, or None when the row is too short to hold it."""
        if len(self.cells) <= layout.segment_id:
            return None
        return self.cells[layout.segment_id].strip()


@dataclass
class RowLabels:
    votes: list[float]
    majority: list[int]  # class indices of the Total Evaluation (several for a tie)
    valence: float
    arousal: float
    repaired_columns: list[str] = field(default_factory=list)  # cells read through a spelling repair


class RowError(Exception):
    """A data row that cannot be used; ``reason`` is a `LoadReport` skip reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_annotation_file(path: Path) -> tuple[AnnotationLayout, list[AnnotationRow]]:
    """Layout and non-blank data rows of one annotation CSV; `ValueError` if unrecognised."""
    rows = _read_csv_rows(path)
    if len(rows) < 2:
        raise ValueError(f"{path}: expected at least a header row and a data row, found {len(rows)} line(s)")
    layout = find_layout(rows[0][1], rows[1][1], path)
    data = [
        AnnotationRow(line, tuple(cells)) for line, cells in rows[layout.header_rows :] if any(c.strip() for c in cells)
    ]
    return layout, data


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, start = [], 1
    for cells in reader:
        # A record's first line: a quote left open joins the lines after it, and the error lies where it opens.
        rows.append((start, cells))
        start = reader.line_num + 1
    return rows


def _decode(data: bytes, path: Path) -> str:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: annotation file is neither UTF-8 nor cp949")


def _norm(cell: str) -> str:
    # "Segment ID", "segment_id" and "SegmentID" all name the same column.
    return re.sub(r"[\s_\-.]+", "", cell).lower()


def find_layout(header1: list[str], header2: list[str], path: Path) -> AnnotationLayout:
    """Locate the Segment ID and the score groups; `ValueError` naming the file if impossible."""
    names = [_norm(cell) for cell in header1]
    if "segmentid" not in names:
        raise ValueError(f"{path}, line 1: no 'Segment ID' column in the header row {header1!r}")
    segment = names.index("segmentid")
    sub_names = [_norm(cell) for cell in header2]
    # A data row always names its segment, so an empty Segment ID cell marks a sub-header row.
    two_rows = segment >= len(sub_names) or not sub_names[segment] or "emotion" in sub_names[segment + 1 :]
    if two_rows:
        groups = _groups_from_sub_header(header1, sub_names, segment, path)
    else:
        groups = _groups_from_single_header(header1, segment, path)
    if len(groups) < 2:
        where = f"{path}, line 2" if two_rows else f"{path}, line 1"
        raise ValueError(
            f"{where}: expected a Total Evaluation group and evaluator groups of Emotion/Valence/Arousal "
            f"columns after 'Segment ID', found {len(groups)} group(s)"
        )
    columns = max(_filled_width(header1), _filled_width(header2) if two_rows else 0)
    return AnnotationLayout(2 if two_rows else 1, segment, groups[0], tuple(groups[1:]), columns)


def _filled_width(cells) -> int:
    """Position after the last non-empty cell (spreadsheets pad rows with empty cells)."""
    return next((index + 1 for index in range(len(cells) - 1, -1, -1) if cells[index].strip()), 0)


def _groups_from_sub_header(header1: list[str], sub: list[str], segment: int, path: Path) -> list[ScoreColumns]:
    starts = [i for i in range(segment + 1, len(sub)) if sub[i] == "emotion"]
    groups = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(sub)
        name = header1[start].strip() if start < len(header1) and header1[start].strip() else f"group {number + 1}"
        found = {sub[i]: i for i in range(start + 1, end) if sub[i] in ("valence", "arousal")}
        missing = [key.capitalize() for key in ("valence", "arousal") if key not in found]
        if missing:
            raise ValueError(
                f"{path}, line 2: the '{name}' group (Emotion in column {start + 1}) has no "
                f"{' or '.join(missing)} sub-column; expected Emotion, Valence, Arousal"
            )
        groups.append(ScoreColumns(name, start, found["valence"], found["arousal"]))
    return groups


def _groups_from_single_header(header: list[str], segment: int, path: Path) -> list[ScoreColumns]:
    names = [_norm(cell) for cell in header]
    named = [i for i in range(segment + 1, len(names)) if names[i] and not _names_score(names[i])]
    if not named:
        return []
    starts = [named[0]] + [i for i in named[1:] if _EVALUATOR_NAME.match(names[i])]
    groups = []
    for number, start in enumerate(starts):
        end = next((i for i in named if i > start), None)
        members = range(start + 1, end if end is not None else max(len(names), start + 3))
        valence = next((i for i in members if "val" in names[i]), start + 1)
        arousal = next((i for i in members if "aro" in names[i]), start + 2)
        if max(valence, arousal) not in members:
            raise ValueError(
                f"{path}, line 1: the '{header[start]}' group (column {start + 1}) is not followed by "
                "valence and arousal columns"
            )
        groups.append(ScoreColumns(header[start].strip() or f"group {number + 1}", start, valence, arousal))
    return groups


def _names_score(name: str) -> bool:
    # A column named for valence/arousal belongs to the group before it; it starts none.
    return "valence" in name or "arousal" in name


def parse_labels(row: AnnotationRow, layout: AnnotationLayout) -> RowLabels:
    """Targets of one data row; `RowError` names the column that is unusable."""
    if len(row.cells) < layout.width:
        raise RowError("truncated_row", f"the row has {len(row.cells)} columns, the header needs {layout.width}")
    filled = _filled_width(row.cells)
    if filled > layout.columns:
        raise RowError(
            "extra_cells",
            f"the row fills {filled} columns, the header names {layout.columns}: a cell may hold "
            "an unquoted comma that shifts every column after it",
        )
    total = layout.total
    majority, repaired = _emotion_cell(row, total.emotion, f"{total.name}/Emotion", parse_emotion_set)
    labels = RowLabels(
        votes=[],
        majority=majority,
        valence=_score_cell(row, total.valence, f"{total.name}/Valence"),
        arousal=_score_cell(row, total.arousal, f"{total.name}/Arousal"),
    )
    if repaired:
        labels.repaired_columns.append(_column(total.emotion, f"{total.name}/Emotion"))
    votes = []
    for evaluator in layout.evaluators:
        vote, repaired = _emotion_cell(row, evaluator.emotion, f"{evaluator.name}/Emotion", parse_emotion)
        votes.append(vote)
        if repaired:
            labels.repaired_columns.append(_column(evaluator.emotion, f"{evaluator.name}/Emotion"))
    labels.votes = vote_distribution(votes)
    return labels


def _column(index: int, name: str) -> str:
    return f"column {index + 1} ({name})"


def _emotion_cell(row: AnnotationRow, index: int, name: str, parse):
    try:
        return parse(row.cells[index])
    except UnknownEmotionError as error:
        raise RowError("unknown_emotion", f"{_column(index, name)}: {error}") from None


def _score_cell(row: AnnotationRow, index: int, name: str) -> float:
    cell = row.cells[index].strip()
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RowError("non_numeric_score", f"{_column(index, name)}: {cell!r} is not a number")
    if not SCORE_RANGE[0] <= value <= SCORE_RANGE[1]:
        raise RowError("score_out_of_range", f"{_column(index, name)}: {cell!r} is outside {SCORE_RANGE}")
    return value
