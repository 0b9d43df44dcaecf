"""KEMDy19/KEMDy20 readers on small hand-made corpora written into tmp_path."""

import json
import re
from pathlib import Path

import pytest

from mate_hf.data import DIALOGUE_FEATURES, clean_transcript, load_kemdy19, load_kemdy20

from .kemdy_files import (
    FIRST_VOTE,
    KEMDY19_HEADER,
    KEMDY20_ONE_ROW_HEADER,
    KEMDY20_TWO_ROW_HEADER,
    KEMDY20_VOTES,
    LISTENER_VA,
    LISTENER_VOTES,
    SEGMENT_COLUMN,
    SEGMENTS,
    SPEAKER_VOTES,
    TOTAL_EMOTION,
    TOTAL_VALENCE,
    assert_reconciles,
    data_row,
    distribution,
    kemdy19_rows,
    make_kemdy19,
    make_kemdy20,
    multi_hot,
    reasons,
    utterances,
    write_csv,
    write_utterance,
)

# ---------------------------------------------------------------- roles and targets


def test_speaker_role_takes_each_row_from_the_file_of_the_segments_gender(tmp_path):
    dataset, report = load_kemdy19(make_kemdy19(tmp_path), role="speaker")
    assert dataset.features == DIALOGUE_FEATURES
    assert dataset["dialogue_id"] == ["Sess01_script01", "Sess01_impro01"]
    assert dataset["session"] == ["Session01", "Session01"]
    assert dataset[0]["segment_id"] == SEGMENTS[:3]
    assert dataset[0]["speaker_gender"] == ["F", "M", "F"]
    for sid, utterance in utterances(dataset).items():
        assert utterance["emotion_votes"] == pytest.approx(distribution(SPEAKER_VOTES[sid]))
        assert (utterance["valence"], utterance["arousal"]) == pytest.approx((4.1, 3.2))
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 4, 0)


def test_listener_role_takes_each_row_from_the_other_file(tmp_path):
    dataset, report = load_kemdy19(make_kemdy19(tmp_path), role="listener")
    assert set(dataset["role"]) == {"listener"}
    got = utterances(dataset)
    assert sorted(got) == sorted(SEGMENTS)
    for sid, utterance in got.items():
        assert utterance["emotion_votes"] == pytest.approx(distribution(LISTENER_VOTES[sid]))
        assert (utterance["valence"], utterance["arousal"]) == pytest.approx((2.0, 1.5))
    assert got["Sess01_script01_M002"]["emotion_majority"] == multi_hot("fear")
    assert report.rows_read == 4 and report.entries == []


def test_tie_in_total_evaluation_is_multi_hot_and_noted(tmp_path):
    dataset, report = load_kemdy19(make_kemdy19(tmp_path), role="speaker")
    tied = utterances(dataset)["Sess01_script01_F003"]
    assert tied["emotion_majority"] == multi_hot("surprise", "happy")
    assert tied["emotion_votes"] == pytest.approx([0, 0, 0, 0, 0.5, 0, 0.5])
    assert [(e.reason, e.file, e.line) for e in report.entries] == [("tie", "annotation/Session01_F_res.csv", 5)]
    assert report.rows_skipped == 0 and report.repairs == 0


def test_turns_are_ordered_by_their_number_not_by_file_order(tmp_path):
    rows = {gender: kemdy19_rows(gender)[::-1] for gender in "FM"}
    dataset, _ = load_kemdy19(make_kemdy19(tmp_path, rows), role="speaker")
    assert dataset[dataset["dialogue_id"].index("Sess01_script01")]["segment_id"] == SEGMENTS[:3]


def test_invalid_role_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="role"):
        load_kemdy19(make_kemdy19(tmp_path), role="observer")


# ---------------------------------------------------------------- transcripts


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("c/ 안녕 (웃음) 반가워*", "안녕 반가워"),
        ("왜 이렇게 n/ 화나게+ 해", "왜 이렇게 화나게 해"),
        ("b/ 음 N/ u/ l/ 그래/ 맞아", "음 그래 맞아"),
        ("첫 줄\\n둘째\\c 줄", "첫 줄 둘째 줄"),
        ("  여러   칸\t공백  ", "여러 칸 공백"),
        ("(SP) (NO:노이즈)", ""),
    ],
)
def test_clean_transcript_strips_markers(raw, clean):
    assert clean_transcript(raw) == clean


def test_transcripts_are_cleaned_and_raw_text_is_kept(tmp_path):
    dataset, _ = load_kemdy19(make_kemdy19(tmp_path), role="speaker")
    first = utterances(dataset)["Sess01_script01_F001"]
    assert first["raw_text"] == "c/ 안녕 (웃음) 반가워*"
    assert first["text"] == "안녕 반가워"


def test_cp949_transcript_is_decoded_and_noted(tmp_path):
    root = make_kemdy19(tmp_path)
    folder = root / "wav" / "Session01" / "Sess01_script01"
    write_utterance(folder, "Sess01_script01_M002", "정말 화났어", wav=False, encoding="cp949")
    dataset, report = load_kemdy19(root, role="speaker", strict=True)
    assert utterances(dataset)["Sess01_script01_M002"]["text"] == "정말 화났어"
    (note,) = report.by_reason("cp949_transcript")
    assert note.file == "wav/Session01/Sess01_script01/Sess01_script01_M002.txt"
    assert report.rows_skipped == 0


def test_undecodable_transcript_skips_the_utterance(tmp_path):
    root = make_kemdy19(tmp_path)
    (root / "wav/Session01/Sess01_script01/Sess01_script01_M002.txt").write_bytes(b"\xff\xff\xff")
    dataset, report = load_kemdy19(root, role="speaker")
    assert "Sess01_script01_M002" not in utterances(dataset)
    assert reasons(report, kinds=["skip"]) == [("unreadable_transcript", "Sess01_script01_M002")]
    assert_reconciles(report)
    with pytest.raises(ValueError, match=r"Session01_M_res\.csv, line 4: unreadable_transcript"):
        load_kemdy19(root, role="speaker", strict=True)


# ---------------------------------------------------------------- repairs and skips


def test_disqust_is_repaired_in_evaluator_and_total_cells(tmp_path):
    rows = {"M": kemdy19_rows("M")}
    rows["M"][1][FIRST_VOTE + 3 * 6] = "disqust"  # evaluator 7 of Sess01_script01_M002 voted disgust
    rows["M"][3][TOTAL_EMOTION] = "Disqust;sad"
    dataset, report = load_kemdy19(make_kemdy19(tmp_path, rows), role="speaker", strict=True)
    got = utterances(dataset)
    assert got["Sess01_script01_M002"]["emotion_votes"] == pytest.approx(
        distribution(SPEAKER_VOTES["Sess01_script01_M002"])
    )
    assert got["Sess01_impro01_M001"]["emotion_majority"] == multi_hot("disgust", "sad")
    repairs = report.by_reason("disqust_spelling")
    assert [(e.line, e.segment_id) for e in repairs] == [(4, "Sess01_script01_M002"), (6, "Sess01_impro01_M001")]
    assert "column 32 (Eval07/Emotion)" in repairs[0].detail
    assert report.repairs == 2 and report.rows_used == 4


def test_duplicated_row_keeps_the_first_and_reports_the_rest(tmp_path):
    rows = {"M": kemdy19_rows("M")}
    copy = list(rows["M"][1])
    copy[TOTAL_VALENCE] = "1.00"
    rows["M"].insert(2, copy)
    dataset, report = load_kemdy19(make_kemdy19(tmp_path, rows), role="speaker")
    assert utterances(dataset)["Sess01_script01_M002"]["valence"] == pytest.approx(4.1)
    (duplicate,) = report.by_reason("duplicate_segment_id")
    assert (duplicate.file, duplicate.line, duplicate.segment_id) == (
        "annotation/Session01_M_res.csv",
        5,
        "Sess01_script01_M002",
    )
    assert "line 4" in duplicate.detail
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (5, 4, 1)


@pytest.mark.parametrize(("suffix", "reason"), [(".wav", "missing_wav"), (".txt", "missing_txt")])
def test_missing_audio_or_transcript_skips_the_utterance_and_keeps_the_order(tmp_path, suffix, reason):
    root = make_kemdy19(tmp_path)
    (root / "wav/Session01/Sess01_script01" / f"Sess01_script01_M002{suffix}").unlink()
    for role in ("speaker", "listener"):
        dataset, report = load_kemdy19(root, role=role)
        assert dataset[0]["segment_id"] == ["Sess01_script01_F001", "Sess01_script01_F003"]
        assert reasons(report, kinds=["skip"]) == [(reason, "Sess01_script01_M002")]
        assert_reconciles(report)
    with pytest.raises(ValueError, match=rf"Session01_M_res\.csv, line 4: {reason}"):
        load_kemdy19(root, role="speaker", strict=True)


@pytest.mark.parametrize("content", [b"", b"RIFF\x10\x00\x00\x00WAVEfmt ", b"not audio at all"])
def test_unreadable_wav_skips_the_utterance(tmp_path, content):
    root = make_kemdy19(tmp_path)
    (root / "wav/Session01/Sess01_script01/Sess01_script01_M002.wav").write_bytes(content)
    dataset, report = load_kemdy19(root, role="speaker")
    assert dataset[0]["segment_id"] == ["Sess01_script01_F001", "Sess01_script01_F003"]
    assert reasons(report, kinds=["skip"]) == [("unreadable_wav", "Sess01_script01_M002")]
    assert_reconciles(report)
    with pytest.raises(ValueError, match=r"Session01_M_res\.csv, line 4: unreadable_wav"):
        load_kemdy19(root, role="speaker", strict=True)


def test_known_broken_segments_are_skipped_in_the_role_their_id_implies(tmp_path):
    segments = [sid.replace("Sess01", "Sess04") for sid in SEGMENTS]
    rows = {gender: kemdy19_rows(gender, segments) for gender in "FM"}
    rows["F"].append(data_row(5, "Sess04_impro03_M031", ["neutral"] * 10, LISTENER_VA))
    rows["M"].append(data_row(5, "Sess04_impro03_F031", ["neutral"] * 10, LISTENER_VA))
    root = make_kemdy19(tmp_path, rows, segments, session=4)
    _, speaker = load_kemdy19(root, role="speaker")
    assert reasons(speaker) == [("tie", "Sess04_script01_F003")]
    assert (speaker.rows_read, speaker.rows_used) == (4, 4)
    dataset, listener = load_kemdy19(root, role="listener")
    assert sorted(reasons(listener)) == [
        ("known_broken", "Sess04_impro03_F031"),
        ("known_broken", "Sess04_impro03_M031"),
    ]
    assert (listener.rows_read, listener.rows_used, listener.rows_skipped) == (6, 4, 2)
    assert sorted(dataset["dialogue_id"]) == ["Sess04_impro01", "Sess04_script01"]


# ---------------------------------------------------------------- mis-entered ids


def test_mis_entered_id_in_the_f_file_is_skipped_and_reported_for_both_roles(tmp_path):
    """The F file calls F001's own row `M001`; turn 1 is F's, so no M001 exists (as in the demo corpus)."""
    rows = {"F": kemdy19_rows("F")}
    rows["F"][0][SEGMENT_COLUMN] = "Sess01_script01_M001"
    root = make_kemdy19(tmp_path, rows)

    speaker, speaker_report = load_kemdy19(root, role="speaker")
    assert "Sess01_script01_F001" not in utterances(speaker)
    (note,) = speaker_report.by_reason("unlabelled_audio")
    assert note.segment_id == "Sess01_script01_F001"
    assert "Session01_F_res.csv line 3" in note.detail
    assert (speaker_report.rows_read, speaker_report.rows_used, speaker_report.rows_skipped) == (3, 3, 0)
    with pytest.raises(ValueError, match=r"Sess01_script01_F001\.wav: unlabelled_audio"):
        load_kemdy19(root, role="speaker", strict=True)

    listener, listener_report = load_kemdy19(root, role="listener")
    # F001's listener row lives in the M file and is untouched by the F file's mistake.
    assert utterances(listener)["Sess01_script01_F001"]["emotion_votes"] == pytest.approx(
        distribution(LISTENER_VOTES["Sess01_script01_F001"])
    )
    (mismatch,) = listener_report.by_reason("mismatched_segment_id")
    assert (mismatch.file, mismatch.line, mismatch.segment_id) == (
        "annotation/Session01_F_res.csv",
        3,
        "Sess01_script01_M001",
    )
    assert "Sess01_script01_F001" in mismatch.detail
    assert (listener_report.rows_read, listener_report.rows_used, listener_report.rows_skipped) == (5, 4, 1)
    with pytest.raises(ValueError, match=r"Session01_F_res\.csv, line 3: mismatched_segment_id"):
        load_kemdy19(root, role="listener", strict=True)


def test_two_rows_claiming_one_id_with_the_own_turn_missing_are_both_skipped(tmp_path):
    """Per-speaker numbering (F001 and M001 both exist): the F file has M001 twice and no F001."""
    segments = ["Sess01_script01_F001", "Sess01_script01_M001"]
    extra = {"Sess01_script01_M001": (["angry"] * 10, ["sad"] * 10)}
    rows = {gender: kemdy19_rows(gender, segments, extra) for gender in "FM"}
    rows["F"][0][SEGMENT_COLUMN] = "Sess01_script01_M001"
    root = make_kemdy19(tmp_path, rows, segments)
    listener, report = load_kemdy19(root, role="listener")
    assert [(e.reason, e.line) for e in report.entries] == [("mismatched_segment_id", 3), ("mismatched_segment_id", 4)]
    assert listener[0]["segment_id"] == ["Sess01_script01_F001"]
    speaker, report = load_kemdy19(root, role="speaker")
    assert speaker[0]["segment_id"] == ["Sess01_script01_M001"]
    assert reasons(report) == [("unlabelled_audio", "Sess01_script01_F001")]


# ---------------------------------------------------------------- damaged copies


def _truncate(row):
    del row[FIRST_VOTE + 20 :]


def _unknown_emotion(row):
    row[FIRST_VOTE + 6] = "joy"


def _non_numeric(row):
    row[TOTAL_VALENCE] = "n/a"


def _drop_cell(row):
    del row[TOTAL_VALENCE]  # a lost cell: the row no longer reaches the last evaluator's arousal


@pytest.mark.parametrize(
    ("damage", "reason", "column"),
    [
        (_truncate, "truncated_row", None),
        (_unknown_emotion, "unknown_emotion", "column 20 (Eval03/Emotion)"),
        (_non_numeric, "non_numeric_score", "column 12 (Total Evaluation/Valence)"),
        (_drop_cell, "truncated_row", "the row has 42 columns, the header needs 43"),
    ],
)
def test_damaged_row_raises_in_strict_mode_and_is_skipped_in_lenient_mode(tmp_path, damage, reason, column):
    rows = {"M": kemdy19_rows("M")}
    damage(rows["M"][1])
    root = make_kemdy19(tmp_path, rows)
    with pytest.raises(ValueError) as raised:
        load_kemdy19(root, role="speaker", strict=True)
    message = str(raised.value)
    assert f"{root / 'annotation' / 'Session01_M_res.csv'}, line 4: {reason}" in message
    if column:
        assert column in message
    dataset, report = load_kemdy19(root, role="speaker")
    assert "Sess01_script01_M002" not in utterances(dataset)
    assert [(e.reason, e.line) for e in report.entries if e.reason != "tie"] == [(reason, 4)]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 3, 1)
    assert report.counts()[reason] == 1


def test_unparsable_segment_id_counts_in_both_roles(tmp_path):
    rows = {"F": kemdy19_rows("F")}
    rows["F"][2][SEGMENT_COLUMN] = "garbage"
    rows["F"].append(["5", "0.1"])  # too short to hold a Segment ID
    root = make_kemdy19(tmp_path, rows)
    for role in ("speaker", "listener"):
        _, report = load_kemdy19(root, role=role)
        skipped = [(e.reason, e.line) for e in report.entries if e.kind == "skip"]
        assert skipped == [("bad_segment_id", 5), ("truncated_row", 7)]
        assert "'garbage' is not of the form" in report.by_reason("bad_segment_id")[0].detail
        assert_reconciles(report)


def test_columns_are_located_by_name_not_by_position(tmp_path):
    header = [list(KEMDY19_HEADER[0]), list(KEMDY19_HEADER[1])]
    for row in header:
        row.insert(1, "")  # an extra column before Segment ID
    header[0][1] = "Memo"
    header[1][TOTAL_VALENCE + 1], header[1][TOTAL_VALENCE + 2] = "Arousal", "Valence"  # swapped total pair
    body = []
    for row in kemdy19_rows("F"):
        row = [row[0], "memo", *row[1:]]
        row[TOTAL_VALENCE + 1], row[TOTAL_VALENCE + 2] = row[TOTAL_VALENCE + 2], row[TOTAL_VALENCE + 1]
        body.append(row)
    root = make_kemdy19(tmp_path)
    write_csv(root / "annotation/Session01_F_res.csv", header + body)
    dataset, report = load_kemdy19(root, role="speaker", strict=True)
    first = utterances(dataset)["Sess01_script01_F001"]
    assert (first["valence"], first["arousal"]) == pytest.approx((4.1, 3.2))
    assert first["emotion_votes"] == pytest.approx(distribution(SPEAKER_VOTES["Sess01_script01_F001"]))


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda header: header[0].__setitem__(SEGMENT_COLUMN, "Segment"), r"line 1: no 'Segment ID' column"),
        (lambda header: header[1].__setitem__(TOTAL_EMOTION + 2, "Arousl"), r"line 2: .*'Total Evaluation'.*Arousal"),
        (lambda header: header[1].__setitem__(slice(TOTAL_EMOTION, None), []), r"line 2: expected a Total Evaluation"),
    ],
)
def test_unrecognised_header_raises_naming_the_file(tmp_path, edit, pattern):
    header = [list(KEMDY19_HEADER[0]), list(KEMDY19_HEADER[1])]
    edit(header)
    root = make_kemdy19(tmp_path)
    path = write_csv(root / "annotation/Session01_M_res.csv", header + kemdy19_rows("M"))
    for strict in (False, True):
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + pattern):
            load_kemdy19(root, role="speaker", strict=strict)


def test_file_missing_a_column_raises_naming_the_file_and_header_line(tmp_path):
    column = FIRST_VOTE + 3 * 4 + 1  # Eval05/Valence, removed from the header and every row
    rows = [[cell for index, cell in enumerate(row) if index != column] for row in KEMDY19_HEADER + kemdy19_rows("F")]
    root = make_kemdy19(tmp_path)
    path = write_csv(root / "annotation/Session01_F_res.csv", rows)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r", line 2: the 'Eval05' group .* no Valence"):
        load_kemdy19(root, role="speaker", strict=True)


def test_missing_annotation_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation"):
        load_kemdy19(tmp_path)


def test_empty_result_keeps_the_features(tmp_path):
    root = make_kemdy19(tmp_path)
    for wav in root.glob("wav/*/*/*.wav"):
        wav.unlink()
    dataset, report = load_kemdy19(root, role="listener")
    assert len(dataset) == 0 and dataset.features == DIALOGUE_FEATURES
    assert report.counts() == {"missing_wav": 4}
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 0, 4)


def test_report_summary_and_json(tmp_path):
    root = make_kemdy19(tmp_path)
    (root / "wav/Session01/Sess01_impro01/Sess01_impro01_M001.wav").unlink()
    _, report = load_kemdy19(root, role="speaker")
    saved = json.loads(json.dumps(report.to_dict()))
    assert saved["rows_read"] == saved["rows_used"] + saved["rows_skipped"] == 4
    assert saved["counts"] == {"missing_wav": 1, "tie": 1}
    assert {entry["kind"] for entry in saved["entries"]} == {"skip", "note"}
    assert "4 rows read, 3 used, 1 skipped" in report.summary()
    assert "missing_wav 1" in report.summary()


def test_audio_paths_are_absolute_and_exist(tmp_path):
    dataset, _ = load_kemdy19(make_kemdy19(tmp_path), role="speaker")
    paths = [path for dialogue in dataset["audio_path"] for path in dialogue]
    assert all(Path(path).is_absolute() and Path(path).is_file() for path in paths)


# ---------------------------------------------------------------- KEMDy20


@pytest.mark.parametrize("header", [KEMDY20_TWO_ROW_HEADER, KEMDY20_ONE_ROW_HEADER], ids=["two-rows", "one-row"])
def test_kemdy20_reader(tmp_path, header):
    dataset, report = load_kemdy20(make_kemdy20(tmp_path, header), strict=True)
    assert dataset.features == DIALOGUE_FEATURES
    assert dataset["dialogue_id"] == ["Sess01_script01", "Sess02_impro01"]
    assert dataset["session"] == ["Session01", "Session02"]
    assert set(dataset["role"]) == {"speaker"}
    assert dataset[0]["segment_id"] == list(KEMDY20_VOTES)[:3]
    assert dataset[0]["speaker_gender"] == ["M", "F", "M"]
    got = utterances(dataset)
    for sid, votes in KEMDY20_VOTES.items():
        assert got[sid]["emotion_votes"] == pytest.approx(distribution(votes))
        assert got[sid]["text"] == "오늘 좋아"
    assert got["Sess01_script01_User001F_002"]["emotion_majority"] == multi_hot("angry", "disgust")
    assert (got["Sess02_impro01_User004F_001"]["valence"], got["Sess02_impro01_User004F_001"]["arousal"]) == (
        pytest.approx(3.3),
        pytest.approx(2.7),
    )
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 4, 0)
    assert report.counts() == {"tie": 1}


def test_kemdy20_damaged_row_and_unlabelled_audio(tmp_path):
    root = make_kemdy20(tmp_path, KEMDY20_TWO_ROW_HEADER)
    path = root / "annotation/Sess01_eval.csv"
    lines = path.read_text("utf-8").splitlines()
    lines[2] = lines[2].replace(",3,3", ",x,3", 1).replace("3.30", "high", 1)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    write_utterance(root / "wav/Session01", "Sess01_script01_User002M_009", "뭐")
    with pytest.raises(ValueError, match=r"Sess01_eval\.csv, line 3: non_numeric_score"):
        load_kemdy20(root, strict=True)
    dataset, report = load_kemdy20(root)
    assert [(e.reason, e.line) for e in report.entries if e.kind == "skip"] == [("non_numeric_score", 3)]
    assert [e.segment_id for e in report.by_reason("unlabelled_audio")] == ["Sess01_script01_User002M_009"]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 3, 1)
    assert sum(len(ids) for ids in dataset["segment_id"]) == 3
