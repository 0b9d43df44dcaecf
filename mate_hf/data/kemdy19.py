"""Reader of ETRI's KEMDy19 corpus (20 sessions of two voice actors; speaker and listener labels).

Layout::

    root/annotation/Session01_F_res.csv, Session01_M_res.csv, ...
    root/wav/Session01/Sess01_script01/Sess01_script01_F001.wav  (+ .txt beside it)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset

from .annotation import AnnotationLayout, AnnotationRow, read_annotation_file
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

ROLES: tuple[str, ...] = ("speaker", "listener")
# Ids of the released corpus whose rows describe no recorded turn.
KNOWN_BROKEN_SEGMENTS: frozenset[str] = frozenset({"Sess04_impro03_F031", "Sess04_impro03_M031"})

_FILE_NAME = re.compile(r"^(Session(\d+))_([FM])_res\.csv$", re.IGNORECASE)
_SEGMENT_ID = re.compile(r"^(?P<dialogue>.+)_(?P<gender>[FM])(?P<turn>\d+)$")


def parse_segment_id(segment_id: str) -> SegmentId | None:
    """``Sess01_script01_M003`` → dialogue ``Sess01_script01``, gender ``M``, turn 3 (None if malformed)."""
    return match_segment_id(_SEGMENT_ID, segment_id)


def load_kemdy19(root: str | Path, role: str = "speaker", strict: bool = False) -> tuple[Dataset, LoadReport]:
    """Read KEMDy19 into one dataset row per dialogue, with the targets of ``role``.

    Each session has two annotation files, one per actor, and each lists every segment. The
    row of segment ``..._M003`` in the M file is the speaker's emotion, in the F file the
    listener's. So a **row of a role** is a data row whose written Segment ID has the file's
    gender (speaker) or the other gender (listener), as written (so the counts compare with
    the reference's 10,279 speaker / 10,287 listener rows). A row whose id cannot be read (too
    short, malformed id) belongs to no role and is counted, and skipped, in both.
    ``report.rows_read == report.rows_used + report.rows_skipped``.

    Per row, the first that applies: ``known_broken`` (Sess04_impro03_F031/M031) and
    ``mismatched_segment_id`` are skipped; then the labels are parsed (``truncated_row``,
    ``extra_cells``, ``unknown_emotion``, ``non_numeric_score``, ``score_out_of_range``); a
    later row for an id already used in the same file is a ``duplicate_segment_id``;
    ``missing_wav``, ``missing_txt``, ``unreadable_wav`` (corrupt, empty or truncated) and
    ``unreadable_transcript`` skip the utterance, and the dialogue keeps the others in order.

    Mis-entered ids (e.g. ``Sess03_impro02_M001`` written in the F file where ``F001`` is
    meant): a row with the other gender's id ``X`` in file G is flagged
    ``mismatched_segment_id`` when file G has no row for ``X'`` (``X`` with G's letter) while
    the other file lists ``X'``, and either file G has more than one row for ``X``, or ``X`` is
    neither in the other file nor recorded (no ``X.wav``). No repair is guessed: every row of
    file G claiming ``X`` is skipped (in the role its written id implies), and ``X'`` then has
    no row for G's role, so that role's report lists ``X'``'s audio as ``unlabelled_audio``
    with a pointer to the row. ``X'``'s row in the other file is used as usual.

    Every .wav without a row of the role is reported as ``unlabelled_audio`` (a loss no row
    accounts for). Repairs (``disqust`` → ``disgust``) and notes (``tie``,
    ``cp949_transcript``) never raise. With ``strict=True`` the first skip or loss raises
    `ValueError` naming the file and line instead. An unrecognised annotation header raises
    `ValueError` in both modes.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    root = Path(root).resolve()
    context = _Context(root, role, LoadReport(corpus="KEMDy19", role=role, root=str(root), strict=strict))
    utterances: list[Utterance] = []
    for session, files in _annotation_files(root).items():
        for gender in "FM":
            if gender not in files:
                expected = f"annotation/{session}_{gender}_res.csv"
                context.report.add("missing_annotation_file", expected, None, None, "not found; its rows are missing")
        utterances += _load_session(context, session, files)
    wav_files = (root / "wav").glob("*/*/*.wav")
    report_unlabelled_audio(context.report, wav_files, context.labelled, root, context.hints)
    context.report.check()
    return build_dialogue_dataset(utterances, role), context.report


@dataclass
class _Context:
    root: Path
    role: str
    report: LoadReport
    labelled: set[str] = field(default_factory=set)  # ids that have a row of the role (used or not)
    hints: dict[str, str] = field(default_factory=dict)  # meant id -> where its mis-entered row is


def _annotation_files(root: Path) -> dict[str, dict[str, Path]]:
    """``{"Session01": {"F": path, "M": path}, ...}`` in session order."""
    folder = root / "annotation"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no annotation folder; is {root} a KEMDy19 root?")
    found: dict[int, dict[str, Path]] = {}
    for path in folder.iterdir():
        match = _FILE_NAME.match(path.name)
        if match:
            found.setdefault(int(match[2]), {})[match[3].upper()] = path
    if not found:
        raise FileNotFoundError(f"{folder}: no SessionNN_F_res.csv / SessionNN_M_res.csv files")
    return {f"Session{number:02d}": files for number, files in sorted(found.items())}


def _load_session(context: _Context, session: str, files: dict[str, Path]) -> list[Utterance]:
    tables = {gender: read_annotation_file(path) for gender, path in files.items()}
    ids = {gender: Counter(row.segment_id(layout) for row in rows) for gender, (layout, rows) in tables.items()}
    utterances = []
    for gender, (layout, rows) in tables.items():
        file = files[gender].relative_to(context.root).as_posix()
        claimed: dict[str, int] = {}
        for row in rows:
            utterance = _read_row(context, session, (gender, file, layout), row, ids, claimed)
            if utterance is not None:
                utterances.append(utterance)
    return utterances


def _read_row(
    context: _Context,
    session: str,
    table: tuple[str, str, AnnotationLayout],
    row: AnnotationRow,
    ids: dict[str, Counter],
    claimed: dict[str, int],
) -> Utterance | None:
    gender, file, layout = table
    report = context.report
    sid = row.segment_id(layout)
    segment = parse_segment_id(sid) if sid else None
    if segment is None:
        report.rows_read += 1
        report_bad_segment_id(report, file, row.line, sid, "SessNN_<dialogue>_F001")
        return None
    broken = sid in KNOWN_BROKEN_SEGMENTS
    audio_dir = context.root / "wav" / session / segment.dialogue_id
    meant = None if broken else _meant_segment_id(segment, gender, ids, audio_dir)
    if meant is not None:
        context.hints[meant] = f"{file} line {row.line} is written as {sid}"
    if ("speaker" if segment.gender == gender else "listener") != context.role:
        return None
    report.rows_read += 1
    context.labelled.add(sid)
    if broken:
        report.add("known_broken", file, row.line, sid, "known broken segment id of the released corpus")
        return None
    if meant is not None:
        detail = f"{file} has no row for {meant} (listed in the other file); this row may be {meant}'s"
        report.add("mismatched_segment_id", file, row.line, sid, detail)
        return None
    return use_row(
        row,
        layout,
        segment,
        session=session,
        file=file,
        audio_dir=audio_dir,
        root=context.root,
        claimed=claimed,
        report=report,
    )


def _meant_segment_id(segment: SegmentId, file_gender: str, ids: dict[str, Counter], audio_dir: Path) -> str | None:
    """The id a mis-entered row stands for, or None when the row's id is plausible (see `load_kemdy19`)."""
    other = "M" if file_gender == "F" else "F"
    if segment.gender == file_gender or other not in ids:
        return None
    sid = segment.segment_id
    digits = sid[sid.rfind("_") + 2 :]
    swapped = f"{segment.dialogue_id}_{file_gender}{digits}"
    own, theirs = ids[file_gender], ids[other]
    if swapped in own or swapped not in theirs:
        return None
    # The audio decides which of the two files holds the wrong id: a recorded turn is real.
    unrecorded = sid not in theirs and not (audio_dir / f"{sid}.wav").is_file()
    return swapped if own[sid] > 1 or unrecorded else None
