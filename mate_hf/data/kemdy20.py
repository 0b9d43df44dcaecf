"""Reader of ETRI's KEMDy20 corpus (40 sessions of the general public; speaker labels only).

Layout::

    root/annotation/Sess01_eval.csv, Sess02_eval.csv, ...
    root/wav/Session01/Sess01_script01_User002M_001.wav  (+ .txt beside it)
"""

from __future__ import annotations

import re
from pathlib import Path

from datasets import Dataset

from .annotation import read_annotation_file
from .dialogues import (
    SegmentId,
    Utterance,
    build_dialogue_dataset,
    match_segment_id,
    report_bad_segment_id,
    report_unlabelled_audio,
    use_row,
)
from .report import LoadReport

_FILE_NAME = re.compile(r"^Sess(\d+)_eval\.csv$", re.IGNORECASE)
_SEGMENT_ID = re.compile(r"^(?P<dialogue>[^_]+_[^_]+)_(?P<speaker>[^_]*?(?P<gender>[FM]))_(?P<turn>\d+)$")


def parse_segment_id(segment_id: str) -> SegmentId | None:
    """``Sess01_script01_User002M_001`` → dialogue ``Sess01_script01``, gender ``M``, turn 1."""
    return match_segment_id(_SEGMENT_ID, segment_id)


def load_kemdy20(root: str | Path, strict: bool = False) -> tuple[Dataset, LoadReport]:
    """Read KEMDy20 into one dataset row per dialogue (role ``speaker``, the only labels it has).

    A **row** is every data row of a ``SessNN_eval.csv`` file (blank lines excepted);
    ``report.rows_read == report.rows_used + report.rows_skipped``. Header, skip reasons,
    repairs, notes and ``strict`` behave as in `load_kemdy19` (there are no listener rows and
    no per-gender files, hence no mis-entered-id check).
    """
    root = Path(root).resolve()
    report = LoadReport(corpus="KEMDy20", role="speaker", root=str(root), strict=strict)
    utterances: list[Utterance] = []
    labelled: set[str] = set()
    for session, path in _annotation_files(root).items():
        utterances += _load_file(root, session, path, report, labelled)
    report_unlabelled_audio(report, (root / "wav").glob("*/*.wav"), labelled, root, {})
    report.check()
    return build_dialogue_dataset(utterances, "speaker"), report


def _annotation_files(root: Path) -> dict[str, Path]:
    folder = root / "annotation"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no annotation folder; is {root} a KEMDy20 root?")
    found = {int(m[1]): path for path in folder.iterdir() if (m := _FILE_NAME.match(path.name))}
    if not found:
        raise FileNotFoundError(f"{folder}: no SessNN_eval.csv files")
    return {f"Session{number:02d}": path for number, path in sorted(found.items())}


def _load_file(root: Path, session: str, path: Path, report: LoadReport, labelled: set[str]) -> list[Utterance]:
    layout, rows = read_annotation_file(path)
    file = path.relative_to(root).as_posix()
    claimed: dict[str, int] = {}
    utterances = []
    for row in rows:
        report.rows_read += 1
        sid = row.segment_id(layout)
        segment = parse_segment_id(sid) if sid else None
        if segment is None:
            report_bad_segment_id(report, file, row.line, sid, "SessNN_<dialogue>_User001F_001")
            continue
        labelled.add(sid)
        utterance = use_row(
            row,
            layout,
            segment,
            session=session,
            file=file,
            audio_dir=root / "wav" / session,
            root=root,
            claimed=claimed,
            report=report,
        )
        if utterance is not None:
            utterances.append(utterance)
    return utterances
