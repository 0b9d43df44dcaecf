"""The planted quirks: one function per irregularity of the real corpus that the demo corpus imitates.

Nothing else in the corpus is irregular, and every quirk is listed in the manifest, so a reader's
report on the demo corpus must name exactly these. ``plant_kemdy19_quirks`` calls them in a fixed
order: the later ones draw from the RNG and avoid the segments the earlier ones already use.
"""

from __future__ import annotations

from random import Random

from .model import Planted, Row, RowAt, Segment
from .votes import finish_row, sample_va, vote_tie

# The order of the quirk types in the manifest and README.
QUIRK_ORDER = [
    "disqust_spelling",
    "cp949_transcript",
    "tie",
    "missing_wav",
    "missing_txt",
    "duplicate_segment_id",
    "mismatched_segment_id",
    "known_broken",
]
TIE_ACTION = "multi-hot majority label set; row used"

Files = dict[str, list[Row]]
Dialogues = dict[str, list[Segment]]


def session_files(session: str) -> list[str]:
    """The F and M annotation files of a KEMDy19 session."""
    return [f"annotation/{session}_{fg}_res.csv" for fg in ("F", "M")]


def find(files: Files, file: str, sid: str) -> Row:
    """The first row of ``file`` written with ``sid``."""
    return next(r for r in files[file] if r.sid_written == sid)


def plant_known_broken_turn(files: Files) -> list[Planted]:
    """Quirk 7: the real KEMDy19's known broken turn 31 of ``Sess04_impro03``.

    Both Session04 files continue the dialogue after its last spoken turn with a row for a turn 31
    that has no audio, and the two files disagree on its speaker: ``Sess04_impro03_M031`` in the F
    file, ``Sess04_impro03_F031`` in the M file. Call this before the votes are drawn: the broken
    rows are voted on like every other row.
    """
    planted = []
    for fg, broken in (("F", "Sess04_impro03_M031"), ("M", "Sess04_impro03_F031")):
        file = f"annotation/Session04_{fg}_res.csv"
        rows = files[file]
        last = max(i for i, r in enumerate(rows) if r.segment.dialogue == "Sess04_impro03")
        end = rows[last].segment.end  # nominal times: right after the dialogue's last turn
        row = Row(segment=None, sid_written=broken, role="listener", intended="neutral", skip="known_broken")
        row.nominal = (end + 0.8, end + 1.6)
        rows.insert(last + 1, row)
        detail = (
            "Sess04_impro03 has 30 spoken turns; the annotation files continue with a "
            "turn 31 that the F file calls Sess04_impro03_M031 and the M file "
            "Sess04_impro03_F031 (same Numb), as in the real KEMDy19. No wav/txt exists "
            "for turn 31."
        )
        action = "skip this row (known broken id of the real corpus), report known_broken"
        planted.append(Planted("known_broken", "Session04", file, row, action, {"detail": detail}))
    return planted


def _lose_file(files: Files, seg: Segment, reason: str, reserved: set[str]) -> Planted:
    """Skip ``seg`` in both annotation files of its session: its wav or txt (``reason``) is not written."""
    reserved.add(seg.sid)
    annotation_rows = []
    for file in session_files(seg.session):
        row = find(files, file, seg.sid)
        row.skip = reason
        annotation_rows.append(RowAt(file, row, with_role=True))
    return Planted(
        reason,
        seg.session,
        seg.wav_rel if reason == "missing_wav" else seg.txt_rel,
        None,
        f"skip the utterance in both roles, report {reason}; the dialogue keeps its order",
        {"segment_id": seg.sid, "annotation_rows": annotation_rows},
    )


def plant_missing_wav(files: Files, dialogues: Dialogues, reserved: set[str]) -> Planted:
    """Quirk 4a: an annotated utterance whose ``.wav`` is absent (its ``.txt`` exists), a gap of the real wav tree."""
    seg = dialogues["Sess01_impro01"][4]
    seg.write_wav = False
    return _lose_file(files, seg, "missing_wav", reserved)


def plant_missing_txt(files: Files, dialogues: Dialogues, reserved: set[str]) -> Planted:
    """Quirk 4b: an annotated utterance whose ``.txt`` transcript is absent (its ``.wav`` exists)."""
    seg = dialogues["Sess05_script02"][5]
    seg.write_txt = False
    return _lose_file(files, seg, "missing_txt", reserved)


def plant_cp949_transcript(files: Files, dialogues: Dialogues, reserved: set[str]) -> Planted:
    """Quirk 2: a transcript saved in cp949 (the Korean Windows code page) instead of UTF-8, as a few real ones are."""
    seg = dialogues["Sess02_script01"][2]
    seg.txt_encoding = "cp949"
    reserved.add(seg.sid)
    return Planted(
        "cp949_transcript",
        seg.session,
        seg.txt_rel,
        None,
        "utf-8 decoding fails: decode as cp949; utterance used",
        {
            "segment_id": seg.sid,
            "annotation_rows": [RowAt(file, find(files, file, seg.sid)) for file in session_files(seg.session)],
        },
    )


def plant_duplicate_row(rng: Random, files: Files, dialogues: Dialogues, reserved: set[str]) -> Planted:
    """Quirk 5: a Segment ID listed twice in one file, the copy with other valence/arousal, as real files repeat rows.

    The copy keeps the votes of the first row; a reader keeps the first row and skips the copy.
    """
    file = "annotation/Session02_M_res.csv"
    seg = next(s for s in dialogues["Sess02_script02"][2:] if s.gender == "M")
    reserved.add(seg.sid)
    first = find(files, file, seg.sid)
    copy = Row(segment=seg, sid_written=seg.sid, role="speaker", intended=first.intended, skip="duplicate_segment_id")
    copy.votes = list(first.votes)
    while True:  # redraw until the totals differ, so that a reader keeping the wrong row is caught
        copy.va = sample_va(rng, copy.votes)
        finish_row(copy)
        if (copy.total_v, copy.total_a) != (first.total_v, first.total_a):
            break
    files[file].insert(files[file].index(first) + 1, copy)
    return Planted(
        "duplicate_segment_id",
        seg.session,
        file,
        copy,
        "keep the first row, skip this copy, report duplicate_segment_id",
        {
            "first_row": RowAt(file, first),
            "first_total_valence": first.total_v,
            "first_total_arousal": first.total_a,
            "copy_total_valence": copy.total_v,
            "copy_total_arousal": copy.total_a,
        },
    )


def plant_mismatched_id(files: Files, dialogues: Dialogues, reserved: set[str]) -> Planted:
    """Quirk 6: the real corpus's mis-entered id, ``Sess03_impro02_M001`` in Session03's F file for ``..._F001``.

    Turn numbers are unique within a dialogue, so the F file then has one row claiming M001 and none
    for F001, while the M file lists F001 (its listener row) at the same Numb.
    """
    file, other_file = session_files("Session03")
    seg = dialogues["Sess03_impro02"][0]
    assert seg.sid == "Sess03_impro02_F001"
    reserved.add(seg.sid)
    row = find(files, file, seg.sid)
    row.sid_written = "Sess03_impro02_M001"
    row.role = "listener"  # an M id in the F file reads as a listener row
    row.skip = "mismatched_segment_id"
    detail = (
        "The F file names Sess03_impro02_M001, but turn 001 of Sess03_impro02 is spoken "
        "by F: the wav tree holds Sess03_impro02_F001.wav/.txt and no ..._M001 file, and "
        "Session03_M_res.csv lists Sess03_impro02_F001 (its listener row) at the same "
        "Numb. Turn numbers are unique within a dialogue, so no real M001 exists: the F "
        "file has exactly one row claiming M001 and none for F001 (there is no second "
        "M001 row). By the written id the row counts as a listener row; it is skipped. "
        "Consequence: Sess03_impro02_F001 has no speaker row and is absent from the "
        "speaker-role dialogue; its listener row in Session03_M_res.csv is used."
    )
    return Planted(
        "mismatched_segment_id",
        seg.session,
        file,
        row,
        "skip this row, report mismatched_segment_id (do not guess a repair)",
        {
            "true_segment_id": seg.sid,
            "detail": detail,
            "other_file_same_numb": RowAt(other_file, find(files, other_file, seg.sid)),
        },
    )


def _free_disgust_row(rows: list[Row], reserved: set[str]) -> Row:
    """The first row meant as disgust whose segment carries no quirk yet, speaker rows first."""
    cands = [r for r in rows if r.segment is not None and r.segment.sid not in reserved and r.intended == "disgust"]
    cands.sort(key=lambda r: r.role != "speaker")
    return cands[0]


def plant_disqust_spelling(files: Files, reserved: set[str]) -> list[Planted]:
    """Quirk 1: the real corpus's misspelling ``disqust``, once in an evaluator cell and once in a Total Evaluation."""
    action = "map 'disqust' to 'disgust'; row used"
    vote_file = "annotation/Session01_F_res.csv"
    vote_row = _free_disgust_row(files[vote_file], reserved)
    reserved.add(vote_row.segment.sid)
    evaluator = vote_row.votes.index("disgust")
    vote_row.vote_cells[evaluator] = "disqust"
    total_file = "annotation/Session05_M_res.csv"
    total_row = _free_disgust_row(files[total_file], reserved)
    reserved.add(total_row.segment.sid)
    assert total_row.total_cell == "disgust"
    total_row.total_cell = "disqust"
    return [
        Planted(
            "disqust_spelling",
            vote_row.segment.session,
            vote_file,
            vote_row,
            action,
            {"cell": f"Eval{evaluator + 1:02d} Emotion", "column": 10 + 3 * (evaluator + 1)},
        ),
        Planted(
            "disqust_spelling",
            total_row.segment.session,
            total_file,
            total_row,
            action,
            {"cell": "Total Evaluation Emotion", "column": 10},
        ),
    ]


def _tie(file: str, row: Row) -> Planted:
    return Planted("tie", row.segment.session, file, row, TIE_ACTION, {"total_evaluation": row.total_cell})


def plant_ties(rng: Random, sessions: list[str], files: Files, reserved: set[str]) -> list[Planted]:
    """Quirk 3: tied majorities, written as the tied classes joined with ``;`` in the Total Evaluation.

    Two per session and role, among rows free of other quirks and not meant as neutral; the first
    one of Session05 is a 3-way tie.
    """
    three_way_done = False
    for session in sessions:
        for role in ("speaker", "listener"):
            cands = [
                r
                for file in session_files(session)
                for r in files[file]
                if r.role == role
                and r.segment is not None
                and r.segment.sid not in reserved
                and r.skip is None
                and r.intended != "neutral"
            ]
            for r in rng.sample(cands, 2):
                three = not three_way_done and session == "Session05"
                three_way_done = three_way_done or three
                vote_tie(rng, r, r.intended, three)
                reserved.add(r.segment.sid)
    return [_tie(file, r) for file, rows in files.items() for r in rows if r.tie]


def plant_kemdy19_quirks(rng: Random, sessions: list[str], files: Files, dialogues: Dialogues) -> list[Planted]:
    """Every KEMDy19 quirk but the known broken turn (planted before the votes), in planting order."""
    reserved: set[str] = set()  # segments that already carry a quirk
    # This call order fixes the RNG draws and which segments stay free: keep it.
    planted = [
        plant_missing_wav(files, dialogues, reserved),
        plant_missing_txt(files, dialogues, reserved),
        plant_cp949_transcript(files, dialogues, reserved),
        plant_duplicate_row(rng, files, dialogues, reserved),
        plant_mismatched_id(files, dialogues, reserved),
    ]
    planted += plant_disqust_spelling(files, reserved)
    planted += plant_ties(rng, sessions, files, reserved)
    return planted


def plant_kemdy20_tie(rng: Random, files: Files) -> list[Planted]:
    """KEMDy20's only quirk: one tied Total Evaluation, so that the fixture exercises the multi-hot path too."""
    file = "annotation/Sess01_eval.csv"
    row = files[file][3]
    vote_tie(rng, row, row.intended if row.intended != "neutral" else "happy")
    return [_tie(file, row)]


def in_manifest_order(planted: list[Planted]) -> list[Planted]:
    return sorted(planted, key=lambda q: QUIRK_ORDER.index(q.type))
