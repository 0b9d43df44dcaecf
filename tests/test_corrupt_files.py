"""Corrupt inputs on disk: truncated, empty or mislabelled audio, transcripts in an unknown encoding, damaged
annotation CSVs. Each gives a ValueError naming the file (and row), or in a reader's lenient mode a skip in the
report with rows read = used + skipped."""

import re
import struct

import numpy as np
import pytest
import soundfile
from transformers import pipeline

from mate_hf import TASK
from mate_hf.audio_io import load_audio
from mate_hf.batch_prediction import read_audio_table
from mate_hf.data import load_kemdy19, load_kemdy20

from .kemdy_files import (
    FIRST_VOTE,
    KEMDY19_HEADER,
    KEMDY20_TWO_ROW_HEADER,
    TOTAL_VALENCE,
    assert_reconciles,
    kemdy19_rows,
    make_kemdy19,
    make_kemdy20,
    utterances,
    write_csv,
)

TONE = (0.5 * np.sin(np.arange(8000) / 5)).astype(np.float32)
M002 = "Sess01_script01_M002"
M002_WAV = f"wav/Session01/Sess01_script01/{M002}.wav"
M002_TXT = f"wav/Session01/Sess01_script01/{M002}.txt"
M_FILE = "annotation/Session01_M_res.csv"


def wav_bytes(tmp_path, samples: np.ndarray = TONE, **kwargs) -> bytes:
    soundfile.write(tmp_path / "source.wav", samples, 16000, **kwargs)
    return (tmp_path / "source.wav").read_bytes()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def streamed(data: bytes) -> bytes:
    """The header of a WAV written to a pipe: RIFF and data sizes left at 0xFFFFFFFF."""
    patched = bytearray(data)
    data_chunk = patched.find(b"data")
    for offset in (4, data_chunk + 4):
        patched[offset : offset + 4] = struct.pack("<I", 0xFFFFFFFF)
    return bytes(patched)


# ---------------------------------------------------------------- audio files


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: b"", "cannot decode"),
        (lambda data: data[:20], "cannot decode"),
        (lambda data: data[:44], "holds no samples"),
        (truncated, r"is truncated: its header announces 16000 bytes of samples, only 7978 follow"),
        (lambda data: data[:-1], r"is truncated: .* only 15999 follow"),
        (lambda data: "이건 오디오가 아니다\n".encode() * 50, "cannot decode"),
    ],
    ids=["zero-bytes", "cut-in-header", "header-only", "cut-in-half", "last-byte-missing", "text-named-wav"],
)
def test_broken_wav_raises_naming_the_file(tmp_path, damage, message):
    path = tmp_path / "recording.wav"
    path.write_bytes(damage(wav_bytes(tmp_path, subtype="PCM_16")))
    for source in (path, path.read_bytes()):
        with pytest.raises(ValueError, match=message) as error:
            load_audio(source)
        assert ("recording.wav" if source is path else "<bytes>") in str(error.value)


@pytest.mark.parametrize("audio_format", ["FLAC", "OGG", "MP3"])
def test_wrong_extension_decodes_by_content(tmp_path, audio_format):
    path = tmp_path / "actually_compressed.wav"
    soundfile.write(path, TONE, 16000, format=audio_format)
    samples, rate = load_audio(path)
    assert rate == 16000 and np.isfinite(samples).all()
    assert abs(len(samples) - len(TONE)) <= 1152  # an MP3 frame of encoder padding at most


def test_a_streamed_wav_with_open_length_is_not_called_truncated(tmp_path):
    path = tmp_path / "streamed.wav"
    path.write_bytes(streamed(wav_bytes(tmp_path, subtype="PCM_16")))
    samples, _ = load_audio(path)
    assert np.allclose(samples, TONE, atol=1e-4)


@pytest.fixture(scope="module")
def pipe(build_tiny_mate):
    model, processor = build_tiny_mate()
    return pipeline(TASK, model=model, processor=processor)


def test_pipeline_refuses_a_truncated_file_naming_it(pipe, tmp_path):
    path = tmp_path / "call.wav"
    path.write_bytes(truncated(wav_bytes(tmp_path, subtype="PCM_16")))
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is truncated"):
        pipe(str(path), transcript="안녕")
    with pytest.raises(ValueError, match="<bytes> is truncated"):
        pipe({"dialogue": [{"raw": TONE, "sampling_rate": 16000}, {"raw": path.read_bytes()}]})


# ---------------------------------------------------------------- corpus audio and transcripts


@pytest.mark.parametrize(
    ("damage", "detail"),
    [(truncated, "is truncated: its header announces"), (lambda data: b"", "is not a readable audio file")],
    ids=["truncated", "zero-bytes"],
)
def test_reader_skips_a_broken_wav_and_strict_mode_names_file_and_row(tmp_path, damage, detail):
    root = make_kemdy19(tmp_path / "corpus")
    (root / M002_WAV).write_bytes(damage(wav_bytes(tmp_path, subtype="PCM_16")))
    dataset, report = load_kemdy19(root, role="speaker")
    (skip,) = [entry for entry in report.entries if entry.kind == "skip"]
    assert (skip.reason, skip.file, skip.line) == ("unreadable_wav", M_FILE, 4)
    assert skip.detail.startswith(f"{M002_WAV} {detail}")
    assert M002 not in utterances(dataset)
    assert_reconciles(report)
    with pytest.raises(ValueError, match=re.escape(f"{M_FILE}, line 4: unreadable_wav [{M002}]: {M002_WAV}")):
        load_kemdy19(root, role="speaker", strict=True)


def test_reader_uses_a_flac_named_wav(tmp_path):
    root = make_kemdy19(tmp_path)
    soundfile.write(root / M002_WAV, TONE, 16000, format="FLAC")
    dataset, report = load_kemdy19(root, role="speaker", strict=True)
    assert M002 in utterances(dataset) and report.rows_skipped == 0


@pytest.mark.parametrize(
    "content",
    [
        "정말 화났어".encode("utf-16"),  # with a byte-order mark
        "정말 화났어".encode("utf-16-le"),
        "so angry".encode("utf-16-le"),  # valid UTF-8 byte by byte: only its NUL bytes give it away
        "정말 화났어".encode("utf-32"),
        bytes(range(128, 256)),
    ],
    ids=["utf-16-bom", "utf-16-le", "utf-16-latin", "utf-32", "random-bytes"],
)
def test_transcript_in_neither_utf8_nor_cp949_is_skipped_and_named(tmp_path, content):
    root = make_kemdy19(tmp_path)
    (root / M002_TXT).write_bytes(content)
    dataset, report = load_kemdy19(root, role="speaker")
    (skip,) = [entry for entry in report.entries if entry.kind == "skip"]
    assert (skip.reason, skip.line, skip.detail) == (
        "unreadable_transcript",
        4,
        f"{M002_TXT} is neither UTF-8 nor cp949",
    )
    assert M002 not in utterances(dataset)
    assert_reconciles(report)
    with pytest.raises(ValueError, match=re.escape(f"{M_FILE}, line 4: unreadable_transcript")):
        load_kemdy19(root, role="speaker", strict=True)


# ---------------------------------------------------------------- annotation CSVs


def _extra_cell(row):
    row.insert(TOTAL_VALENCE, "memo")  # an unquoted comma inside a cell: every later column shifts by one


def _decimal_comma(row):
    row[TOTAL_VALENCE : TOTAL_VALENCE + 1] = ["4", "1"]  # "4,1" written unquoted with a decimal comma


def _score(value: str):
    def damage(row):
        row[TOTAL_VALENCE] = value

    return damage


@pytest.mark.parametrize(
    ("damage", "reason", "detail"),
    [
        (_extra_cell, "extra_cells", "the row fills 44 columns, the header names 43"),
        (_decimal_comma, "extra_cells", "an unquoted comma"),
        (_score(""), "non_numeric_score", "column 12 (Total Evaluation/Valence): '' is not a number"),
        (_score("nan"), "non_numeric_score", "'nan' is not a number"),
        (_score("inf"), "non_numeric_score", "'inf' is not a number"),
        (_score("4.1점"), "non_numeric_score", "'4.1점' is not a number"),
        (_score("41"), "score_out_of_range", "'41' is outside (1.0, 5.0)"),
        (_score("-3"), "score_out_of_range", "'-3' is outside"),
    ],
    ids=["extra-cell", "decimal-comma", "empty", "nan", "inf", "unit", "out-of-range", "negative"],
)
def test_damaged_annotation_row_strict_names_file_and_row_lenient_skips(tmp_path, damage, reason, detail):
    rows = {"M": kemdy19_rows("M")}
    damage(rows["M"][1])
    root = make_kemdy19(tmp_path, rows)
    with pytest.raises(ValueError, match=re.escape(f"{root / M_FILE}, line 4: {reason} [{M002}]")) as error:
        load_kemdy19(root, role="speaker", strict=True)
    assert detail in str(error.value)
    dataset, report = load_kemdy19(root, role="speaker")
    assert [(entry.reason, entry.line) for entry in report.entries if entry.kind == "skip"] == [(reason, 4)]
    assert M002 not in utterances(dataset)
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 3, 1)


def test_empty_trailing_cells_are_not_extra_columns(tmp_path):
    rows = {gender: [row + ["", " "] for row in kemdy19_rows(gender)] for gender in "FM"}
    dataset, report = load_kemdy19(make_kemdy19(tmp_path, rows), role="speaker", strict=True)
    assert report.rows_used == 4 and report.rows_skipped == 0


def test_an_unclosed_quote_is_reported_at_the_line_where_it_opens(tmp_path):
    rows = {"M": kemdy19_rows("M")}
    rows["M"][1][0] = '"2'  # the quote swallows the lines after it into one cell
    root = make_kemdy19(tmp_path, rows)
    with pytest.raises(ValueError, match=re.escape(f"{M_FILE}, line 4: truncated_row")):
        load_kemdy19(root, role="speaker", strict=True)
    _, report = load_kemdy19(root, role="speaker")
    assert_reconciles(report)
    # The swallowed rows' recordings are not lost without a word: they are reported as unlabelled.
    assert {entry.segment_id for entry in report.by_reason("unlabelled_audio")} == {M002, "Sess01_impro01_M001"}


def test_kemdy20_row_with_extra_cells_or_out_of_range_score(tmp_path):
    root = make_kemdy20(tmp_path, KEMDY20_TWO_ROW_HEADER)
    path = root / "annotation/Sess01_eval.csv"
    lines = path.read_text("utf-8").splitlines()
    lines[2] = lines[2].replace(",3.30,", ",7.5,", 1)
    lines[3] = lines[3] + ",comment"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ValueError, match=r"Sess01_eval\.csv, line 3: score_out_of_range"):
        load_kemdy20(root, strict=True)
    _, report = load_kemdy20(root)
    assert [(entry.reason, entry.line) for entry in report.entries if entry.kind == "skip"] == [
        ("score_out_of_range", 3),
        ("extra_cells", 4),
    ]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (4, 2, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "expected at least a header row and a data row, found 0 line"),
        ("\n".join(",".join(row) for row in KEMDY19_HEADER).encode("utf-16"), "neither UTF-8 nor cp949"),
        (bytes(range(128, 256)) * 8, "neither UTF-8 nor cp949"),
        (b"Numb,Wav\n1,2\n", "line 1: no 'Segment ID' column"),
    ],
    ids=["zero-bytes", "utf-16", "binary", "no-segment-column"],
)
def test_unusable_annotation_file_raises_in_both_modes_naming_it(tmp_path, content, message):
    """A file whose layout cannot be read stops the load (SPEC §3): no row of it can be trusted."""
    root = make_kemdy19(tmp_path)
    (root / M_FILE).write_bytes(content)
    for strict in (False, True):
        with pytest.raises(ValueError, match=re.escape(str(root / M_FILE)) + ".*" + message):
            load_kemdy19(root, role="speaker", strict=strict)


def test_header_missing_an_evaluator_column_names_the_group(tmp_path):
    column = FIRST_VOTE + 3 * 9 + 2  # Eval10/Arousal, gone from the header and from every row
    rows = [[cell for index, cell in enumerate(row) if index != column] for row in KEMDY19_HEADER + kemdy19_rows("M")]
    root = make_kemdy19(tmp_path)
    write_csv(root / M_FILE, rows)
    with pytest.raises(ValueError, match=re.escape(f"{root / M_FILE}, line 2: the 'Eval10' group") + ".*Arousal"):
        load_kemdy19(root, role="speaker")


@pytest.mark.parametrize("encoding", ["utf-16", "cp949"])
def test_predict_csv_that_is_not_utf8_is_named(tmp_path, encoding):
    table = tmp_path / "talks.csv"
    table.write_bytes("audio,text\na.wav,안녕하세요\n".encode(encoding))
    with pytest.raises(ValueError, match=re.escape(f"{table}: not UTF-8 text") + ".*save it as UTF-8"):
        read_audio_table(table)
