"""From annotation rows to the dialogue-level `datasets.Dataset` shared by every reader."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import soundfile
from datasets import Dataset, Features, List, Value

from ..audio_io import wav_truncation
from .annotation import AnnotationLayout, AnnotationRow, RowError, parse_labels
from .labels import EMOTION_LABELS, NUM_EMOTIONS, multi_hot
from .report import LoadReport
from .transcripts import clean_transcript, read_transcript

# One row per dialogue; every list column holds one entry per utterance, in turn order.
DIALOGUE_FEATURES = Features(
    {
        "session": Value("string"),
        "dialogue_id": Value("string"),
        "role": Value("string"),
        "segment_id": List(Value("string")),
        "audio_path": List(Value("string")),
        "text": List(Value("string")),
        "raw_text": List(Value("string")),
        "speaker_gender": List(Value("string")),
        "emotion_votes": List(List(Value("float32"), length=NUM_EMOTIONS)),
        "emotion_majority": List(List(Value("int64"), length=NUM_EMOTIONS)),
        "arousal": List(Value("float32")),
        "valence": List(Value("float32")),
    }
)
UTTERANCE_COLUMNS = tuple(name for name, feature in DIALOGUE_FEATURES.items() if isinstance(feature, List))


@dataclass(frozen=True)
class SegmentId:
    """A parsed segment id: its dialogue, the speaker's gender ("F"/"M") and the turn number."""

    segment_id: str
    dialogue_id: str
    gender: str
    turn: int


def match_segment_id(pattern: re.Pattern, segment_id: str) -> SegmentId | None:
    """A segment id parsed with a corpus' pattern (groups ``dialogue``, ``gender``, ``turn``); None if no match."""
    match = pattern.match(segment_id)
    if match is None:
        return None
    return SegmentId(segment_id, match["dialogue"], match["gender"], int(match["turn"]))


@dataclass(frozen=True)
class Utterance:
    session: str
    segment: SegmentId
    line: int  # annotation line, to order utterances that share a turn number
    audio_path: str
    text: str
    raw_text: str
    emotion_votes: list[float]
    emotion_majority: list[int]
    arousal: float
    valence: float


def use_row(
    row: AnnotationRow,
    layout: AnnotationLayout,
    segment: SegmentId,
    *,
    session: str,
    file: str,
    audio_dir: Path,
    root: Path,
    claimed: dict[str, int],
    report: LoadReport,
) -> Utterance | None:
    """The utterance of one annotation row, or None after reporting why it is skipped.

    ``claimed`` maps the ids already used in this file to their line: a later row for one of
    them is a duplicate (a row skipped for bad labels claims nothing).
    """
    sid = segment.segment_id
    try:
        labels = parse_labels(row, layout)
    except RowError as error:
        report.add(error.reason, file, row.line, sid, error.detail)
        return None
    if sid in claimed:
        report.add(
            "duplicate_segment_id", file, row.line, sid, f"the first row for this id (line {claimed[sid]}) is used"
        )
        return None
    claimed[sid] = row.line
    wav, txt = audio_dir / f"{sid}.wav", audio_dir / f"{sid}.txt"
    for path, reason in ((wav, "missing_wav"), (txt, "missing_txt")):
        if not path.is_file():
            report.add(reason, file, row.line, sid, f"{_relative(path, root)} does not exist")
            return None
    problem = _audio_problem(wav)
    if problem:
        report.add("unreadable_wav", file, row.line, sid, f"{_relative(wav, root)} {problem}")
        return None
    try:
        raw_text, encoding = read_transcript(txt)
    except UnicodeDecodeError:
        report.add("unreadable_transcript", file, row.line, sid, f"{_relative(txt, root)} is neither UTF-8 nor cp949")
        return None
    report.rows_used += 1
    _report_used_row(report, file, row.line, sid, labels.repaired_columns, labels.majority)
    if encoding == "cp949":
        report.add("cp949_transcript", _relative(txt, root), None, sid, "not UTF-8; decoded as cp949")
    return Utterance(
        session=session,
        segment=segment,
        line=row.line,
        audio_path=str(wav),
        text=clean_transcript(raw_text),
        raw_text=raw_text,
        emotion_votes=labels.votes,
        emotion_majority=multi_hot(labels.majority),
        arousal=labels.arousal,
        valence=labels.valence,
    )


def _audio_problem(path: Path) -> str | None:
    """Why the file is no usable audio, from its header (cheap; decoding waits for the collator), or None."""
    try:
        if soundfile.info(str(path)).frames <= 0:
            return "holds no samples"
    except (soundfile.LibsndfileError, RuntimeError):
        return "is not a readable audio file"
    return wav_truncation(path)


def report_bad_segment_id(report: LoadReport, file: str, line: int, sid: str | None, form: str) -> None:
    """Skip a row whose Segment ID is missing (row too short) or not of the corpus' ``form``."""
    if sid is None:
        report.add("truncated_row", file, line, None, "the row is too short to hold a Segment ID")
    else:
        report.add("bad_segment_id", file, line, sid or None, f"Segment ID {sid!r} is not of the form {form}")


def _report_used_row(
    report: LoadReport, file: str, line: int, sid: str, repaired: list[str], majority: list[int]
) -> None:
    for column in repaired:
        report.add("disqust_spelling", file, line, sid, f"{column}: 'disqust' read as 'disgust'")
    if len(majority) > 1:
        names = ";".join(EMOTION_LABELS[index] for index in majority)
        report.add("tie", file, line, sid, f"Total Evaluation {names}: multi-hot majority")


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def report_unlabelled_audio(
    report: LoadReport, wav_files: Iterable[Path], labelled: set[str], root: Path, hints: dict[str, str]
) -> None:
    """Report every .wav whose segment had no annotation row for the role, so none vanishes unseen."""
    for wav in sorted(wav_files):
        if wav.stem not in labelled:
            hint = hints.get(wav.stem, "")
            detail = f"no {report.role} row in the annotation" + (f" ({hint})" if hint else "")
            report.add("unlabelled_audio", _relative(wav, root), None, wav.stem, detail)


def build_dialogue_dataset(utterances: list[Utterance], role: str) -> Dataset:
    """Group utterances into dialogues: sessions in number order, dialogues in annotation order."""
    dialogues: dict[tuple[str, str], list[Utterance]] = {}
    for utterance in utterances:
        dialogues.setdefault((utterance.session, utterance.segment.dialogue_id), []).append(utterance)
    columns: dict[str, list] = {name: [] for name in DIALOGUE_FEATURES}
    for (session, dialogue_id), turns in sorted(dialogues.items(), key=_dialogue_key):
        turns = sorted(turns, key=lambda u: (u.segment.turn, u.line))
        columns["session"].append(session)
        columns["dialogue_id"].append(dialogue_id)
        columns["role"].append(role)
        columns["segment_id"].append([u.segment.segment_id for u in turns])
        columns["speaker_gender"].append([u.segment.gender for u in turns])
        for name in ("audio_path", "text", "raw_text", "emotion_votes", "emotion_majority", "arousal", "valence"):
            columns[name].append([getattr(u, name) for u in turns])
    return Dataset.from_dict(columns, features=DIALOGUE_FEATURES)


def _dialogue_key(item: tuple[tuple[str, str], list[Utterance]]) -> tuple[int, str, int]:
    (session, _), turns = item
    digits = "".join(ch for ch in session if ch.isdigit())
    return (int(digits) if digits else 0, session, min(u.line for u in turns))
