"""Small KEMDy19/KEMDy20 corpora written by hand into a folder, for the reader tests: annotation CSVs in the real
layout (two header rows, evaluator columns), transcripts and silent wav files."""

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from mate_hf.data import EMOTION_LABELS

KEMDY19_HEADER = [
    ["Numb", "Wav", "", "ECG", "", "E4-EDA", "", "E4-TEMP", "", "Segment ID", "Total Evaluation", "", ""]
    + [cell for i in range(1, 11) for cell in (f"Eval{i:02d}", "", "")],
    ["", "start", "end", "start", "end", "start", "end", "start", "end", ""] + ["Emotion", "Valence", "Arousal"] * 11,
]
SEGMENT_COLUMN, TOTAL_EMOTION, TOTAL_VALENCE, FIRST_VOTE = 9, 10, 11, 13

# Unique turn numbers per dialogue, as in KEMDy19: the letter says who speaks.
SEGMENTS = ["Sess01_script01_F001", "Sess01_script01_M002", "Sess01_script01_F003", "Sess01_impro01_M001"]
SPEAKER_VOTES = {
    "Sess01_script01_F001": ["happy"] * 7 + ["neutral"] * 3,
    "Sess01_script01_M002": ["angry"] * 6 + ["disgust"] * 4,
    "Sess01_script01_F003": ["surprise"] * 5 + ["happy"] * 5,
    "Sess01_impro01_M001": ["sad"] * 8 + ["fear"] * 2,
}
LISTENER_VOTES = {
    "Sess01_script01_F001": ["neutral"] * 6 + ["happy"] * 4,
    "Sess01_script01_M002": ["fear"] * 10,
    "Sess01_script01_F003": ["neutral"] * 9 + ["sad"],
    "Sess01_impro01_M001": ["sad"] * 10,
}
SPEAKER_VA, LISTENER_VA = ("4.10", "3.20"), ("2.00", "1.50")
TRANSCRIPTS = {
    "Sess01_script01_F001": "c/ 안녕 (웃음) 반가워*",
    "Sess01_script01_M002": "왜 이렇게 n/ 화나게+ 해",
}


def distribution(votes: list[str]) -> list[float]:
    return [votes.count(name) / len(votes) for name in EMOTION_LABELS]


def multi_hot(*names: str) -> list[int]:
    return [int(name in names) for name in EMOTION_LABELS]


def majority(votes: list[str]) -> str:
    counts = {name: votes.count(name) for name in EMOTION_LABELS}
    return ";".join(name for name in EMOTION_LABELS if counts[name] == max(counts.values()))


def data_row(numb: int, sid: str, votes: list[str], va: tuple[str, str], total: str | None = None) -> list[str]:
    cells = [str(numb), "0.1", "1.2", "2.6", "3.7", "1.9", "3.0", "1.9", "3.0", sid]
    cells += [majority(votes) if total is None else total, *va]
    for vote in votes:
        cells += [vote, "3", "3"]
    return cells


def kemdy19_rows(file_gender: str, segments: list[str] = SEGMENTS, extra: dict | None = None) -> list[list[str]]:
    """Every segment's row as the actor of `file_gender` rated it (speaker row for own turns).

    Votes come from SPEAKER_VOTES/LISTENER_VOTES (by the id with session 01) or from
    ``extra = {sid: (speaker_votes, listener_votes)}``.
    """
    rows = []
    for numb, sid in enumerate(segments, start=1):
        speaker = sid.rsplit("_", 1)[1][0] == file_gender
        key = re.sub(r"^Sess\d+", "Sess01", sid)
        pair = (extra or {}).get(sid) or (SPEAKER_VOTES[key], LISTENER_VOTES[key])
        rows.append(data_row(numb, sid, pair[0] if speaker else pair[1], SPEAKER_VA if speaker else LISTENER_VA))
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(",".join(row) for row in rows).encode(encoding) + b"\n")
    return path


def write_utterance(folder: Path, sid: str, text: str, wav: bool = True, txt: bool = True, encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    if wav:
        sf.write(folder / f"{sid}.wav", np.zeros(800, dtype=np.float32), 8000)
    if txt:
        (folder / f"{sid}.txt").write_bytes(text.encode(encoding) + b"\n")


def make_kemdy19(root: Path, rows: dict | None = None, segments: list[str] = SEGMENTS, session: int = 1) -> Path:
    """Session `session` with both annotation files (default rows unless given) and every utterance."""
    rows = rows or {}
    for gender in "FM":
        body = rows[gender] if gender in rows else kemdy19_rows(gender, segments)
        write_csv(root / "annotation" / f"Session{session:02d}_{gender}_res.csv", KEMDY19_HEADER + body)
    for sid in segments:
        dialogue = sid.rsplit("_", 1)[0]
        write_utterance(root / "wav" / f"Session{session:02d}" / dialogue, sid, TRANSCRIPTS.get(sid, "그래 알았어"))
    return root


def utterances(dataset) -> dict[str, dict]:
    """segment id -> that utterance's values of every per-utterance column."""
    out = {}
    for dialogue in dataset:
        for index, sid in enumerate(dialogue["segment_id"]):
            out[sid] = {name: dialogue[name][index] for name in dialogue if isinstance(dialogue[name], list)}
    return out


def reasons(report, kinds=("skip", "loss", "repair", "note")) -> list[tuple[str, str | None]]:
    return [(entry.reason, entry.segment_id) for entry in report.entries if entry.kind in kinds]


def assert_reconciles(report) -> None:
    assert report.rows_read == report.rows_used + report.rows_skipped


KEMDY20_EVALUATORS = [f"Eval{i:02d}{gender}" for i, gender in enumerate("FMMFMFFMFM", start=1)]
KEMDY20_TWO_ROW_HEADER = [
    ["Numb", "Wav", "", "Segment ID", "Total Evaluation", "", ""]
    + [c for e in KEMDY20_EVALUATORS for c in (e, "", "")],
    ["", "start", "end", ""] + ["Emotion", "Valence", "Arousal"] * 11,
]
KEMDY20_ONE_ROW_HEADER = [
    ["Numb", "Wav start", "Wav end", "Segment ID", "Emotion", "Valence", "Arousal"]
    + [c for e in KEMDY20_EVALUATORS for c in (e, f"{e} Valence", f"{e} Arousal")]
]
KEMDY20_VOTES = {
    "Sess01_script01_User002M_001": ["happy"] * 10,
    "Sess01_script01_User001F_002": ["angry"] * 4 + ["disgust"] * 4 + ["neutral"] * 2,
    "Sess01_script01_User002M_003": ["neutral"] * 7 + ["sad"] * 3,
    "Sess02_impro01_User004F_001": ["fear"] * 6 + ["surprise"] * 4,
}


def make_kemdy20(root: Path, header: list[list[str]]) -> Path:
    rows: dict[str, list[list[str]]] = {}
    for sid, votes in KEMDY20_VOTES.items():
        session = sid[4:6]
        cells = [str(len(rows.get(session, [])) + 1), "0.1", "1.2", sid, majority(votes), "3.30", "2.70"]
        rows.setdefault(session, []).append(cells + [c for vote in votes for c in (vote, "3", "3")])
        write_utterance(root / "wav" / f"Session{session}", sid, "b/ 오늘 (음) 좋아")
    for session, body in rows.items():
        write_csv(root / "annotation" / f"Sess{session}_eval.csv", header + body[::-1])  # turn order from the id
    return root
