"""Writing the annotation CSVs (KEMDy19 ``*_res.csv``, KEMDy20 ``*_eval.csv``) and the transcripts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .model import N_EVAL, Row, Segment

# The two header rows: group names, then the sub-names of their columns.
KEMDY19_ROW1 = (
    ["Numb", "Wav", "", "ECG", "", "E4-EDA", "", "E4-TEMP", "", "Segment ID"]
    + ["Total Evaluation", "", ""]
    + [x for i in range(1, N_EVAL + 1) for x in (f"Eval{i:02d}", "", "")]
)
KEMDY19_ROW2 = ["", "start", "end", "start", "end", "start", "end", "start", "end", ""] + [
    "Emotion",
    "Valence",
    "Arousal",
] * (N_EVAL + 1)
KEMDY20_EVAL_GENDERS = "FMMFMFFMFM"
KEMDY20_ROW1 = ["Numb", "Wav", "", "Segment ID", "Total Evaluation", "", ""] + [
    x for i in range(1, N_EVAL + 1) for x in (f"Eval{i:02d}{KEMDY20_EVAL_GENDERS[i - 1]}", "", "")
]
KEMDY20_ROW2 = ["", "start", "end", ""] + ["Emotion", "Valence", "Arousal"] * (N_EVAL + 1)


def fmt(x: float, nd: int) -> str:
    return f"{x:.{nd}f}"


def write_csv(path: Path, header: list[list[str]], body: list[list[str]]) -> None:
    """UTF-8, ``,``-separated, ``\\n`` line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(header)
    w.writerows(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def row_cells(r: Row, numb: int, bio: bool) -> list[str]:
    """The cells of one data row; ``bio`` adds KEMDy19's nominal ECG/E4-EDA/E4-TEMP start/end."""
    s = r.segment
    if s is None:  # known broken turn: nominal times after the dialogue's last turn
        start, end = r.nominal
    else:
        start, end = s.start, s.end
    cells = [str(numb), fmt(start, 4), fmt(end, 4)]
    if bio:
        cells += [fmt(start + 2.5, 3), fmt(end + 2.5, 3), fmt(start + 1.75, 3), fmt(end + 1.75, 3)]
        cells += [fmt(start + 1.75, 3), fmt(end + 1.75, 3)]
    cells += [r.sid_written, r.total_cell, fmt(r.total_v, 2), fmt(r.total_a, 2)]
    for cell, (v, a) in zip(r.vote_cells, r.va):
        cells += [cell, str(v), str(a)]
    return cells


def write_annotations(root: Path, files: dict[str, list[Row]], header: list[list[str]], bio: bool) -> None:
    """One CSV per entry of ``files`` (paths relative to the corpus ``root``); Numb counts the data rows from 1."""
    for file, rows in files.items():
        body = [row_cells(r, i, bio=bio) for i, r in enumerate(rows, start=1)]
        write_csv(root / file, header, body)


def write_transcripts(root: Path, segments: list[Segment]) -> None:
    """The raw transcript (with its markers) of each segment beside its wav, in the segment's encoding."""
    for s in segments:
        if s.write_txt:
            p = root / s.txt_rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes((s.text_raw + "\n").encode(s.txt_encoding))
