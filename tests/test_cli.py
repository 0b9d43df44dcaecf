"""`mate-hf predict`: one output line per recording (JSONL, CSV), one per utterance of a conversation recording
(voice activity), timeline plots, transcripts, failures, the console script."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mate_hf import (
    EMOTION_LABELS,
    load_mate_pipeline,
    save_mate_folder,
)
from mate_hf.batch_prediction import Item, predict_items
from mate_hf.cli import main

# 2 s windows (short clips, fast features); initializer_range 0.5 makes untrained outputs far from uniform, so a
# wrong file, transcript or segment changes the scores visibly.
TINY_MODEL = dict(max_duration=2.0, n_mels=32, hop_length=512, initializer_range=0.5)
# Durations (s) and sampling rates of the generated recordings: 3.2 s gives two segments of the 2 s window
# (a 1.2 s tail is kept), 2.5 s gives one (a 0.5 s tail is too short to carry an emotion). They are tones, not
# speech: the tests of fixed segments pass --segmentation fixed, since `auto` reads a recording longer than the
# window by voice activity (and finds no speech in a tone).
FIXED = ["--segmentation", "fixed"]
RECORDINGS = [(0.7, 16000), (1.4, 8000), (2.5, 22050), (3.2, 16000), (0.9, 44100)]
RECORDING_NAMES = ["a.wav", "b.flac", "sub/c.wav", "sub/deeper/d.ogg", "sub/e.wav"]


def write_recordings(folder: Path, names: list[str] = RECORDING_NAMES, seed: int = 0) -> list[Path]:
    """Tones plus noise of the `RECORDINGS` durations and rates, in nested folders and three formats."""
    rng = np.random.default_rng(seed)
    paths = []
    for name, (seconds, rate) in zip(names, RECORDINGS):
        t = np.arange(int(seconds * rate)) / rate
        samples = np.sin(2 * np.pi * rng.uniform(100, 600) * t) * 0.3 + rng.normal(0, 0.02, t.shape)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, samples.astype(np.float32), rate)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, build_tiny_mate) -> Path:
    """A tiny MATE saved with `save_mate_folder`, as `training/run.py` leaves it (minus the training-only files)."""
    return save_mate_folder(tmp_path_factory.mktemp("model"), *build_tiny_mate(**TINY_MODEL))


@pytest.fixture(scope="module")
def pipe(model_folder):
    return load_mate_pipeline(model_folder)


@pytest.fixture
def recordings(tmp_path) -> list[Path]:
    paths = write_recordings(tmp_path / "recordings")
    (tmp_path / "recordings" / "notes.txt").write_text("not audio: ignored when a folder is searched")
    return paths


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_same_prediction(record: dict, expected: dict) -> None:
    scores = {entry["label"]: entry["score"] for entry in expected["emotions"]}
    assert max(abs(record["scores"][label] - scores[label]) for label in EMOTION_LABELS) < 1e-6
    assert record["arousal"] == pytest.approx(expected["arousal"], abs=1e-6)
    assert record["valence"] == pytest.approx(expected["valence"], abs=1e-6)
    assert record["modalities"] == expected["modalities"]


def test_folder_gives_one_jsonl_line_per_recording(model_folder, pipe, recordings, tmp_path):
    output = tmp_path / "out.jsonl"
    arguments = [str(tmp_path / "recordings"), "-o", str(output), "--batch-size", "2", *FIXED]
    assert main(["predict", str(model_folder), *arguments]) == 0
    records = _read_jsonl(output)
    assert [record["path"] for record in records] == [str(path) for path in sorted(recordings)]
    for record, path in zip(records, sorted(recordings)):
        assert record["error"] is None and record["transcript"] is None and record["modalities"] == "audio"
        assert list(record["scores"]) == list(EMOTION_LABELS)
        assert sum(record["scores"].values()) == pytest.approx(1, abs=1e-5)
        assert record["emotion"] == max(record["scores"], key=record["scores"].get)
        assert record["score"] == max(record["scores"].values())
        assert [entry["label"] for entry in record["top_emotions"]] == sorted(
            record["scores"], key=record["scores"].get, reverse=True
        )[:3]
        assert 1 <= record["arousal"] <= 5 and 1 <= record["valence"] <= 5
        _assert_same_prediction(record, pipe(str(path), segmentation="fixed"))
        assert "utterance" not in record  # a recording read in fixed clips: today's record
    segments = {Path(record["path"]).name: record["segments"] for record in records}
    assert [(s["start"], s["end"]) for s in segments["d.ogg"]] == [(0.0, 2.0), (2.0, 3.2)]
    assert [(s["start"], s["end"]) for s in segments["c.wav"]] == [(0.0, 2.0)]
    assert all(len(s["emotions"]) == 3 for s in segments["d.ogg"])


def test_csv_output_has_one_row_per_recording_and_a_column_per_emotion(model_folder, recordings, tmp_path):
    output = tmp_path / "out.csv"
    assert main(["predict", str(model_folder), *map(str, recordings), "-o", str(output), "--top-k", "2", *FIXED]) == 0
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["path"] for row in rows] == [str(path) for path in recordings]  # files given one by one: in order
    assert {f"score_{label}" for label in EMOTION_LABELS} <= set(rows[0])
    for row in rows:
        scores = [float(row[f"score_{label}"]) for label in EMOTION_LABELS]
        assert sum(scores) == pytest.approx(1, abs=1e-5) and row["error"] == ""
        assert len(json.loads(row["top_emotions"])) == 2
        assert json.loads(row["segments"])[0]["start"] == 0.0
        assert row["utterance"] == row["start"] == row["end"] == row["note"] == ""
    assert len(json.loads(rows[3]["segments"])) == 2


def test_csv_input_and_transcripts_file_give_the_text_path(model_folder, pipe, recordings, tmp_path):
    table = tmp_path / "recordings" / "inputs.csv"
    table.write_text("audio,text\na.wav,정말 기뻐요 너무 좋아요\nb.flac,\n", encoding="utf-8")
    transcripts = tmp_path / "transcripts.csv"
    transcripts.write_text("audio,text\nrecordings/sub/c.wav,너무 슬프고 외로워요\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    arguments = [str(table), str(recordings[2]), "--transcripts", str(transcripts), "-o", str(output)]
    assert main(["predict", str(model_folder), *arguments]) == 0
    first, second, third = _read_jsonl(output)
    assert first["path"] == str(tmp_path / "recordings" / "a.wav")
    assert first["transcript"] == "정말 기뻐요 너무 좋아요" and first["modalities"] == "audio+text"
    assert first["segments"][0]["transcript"] == first["transcript"]
    _assert_same_prediction(first, pipe(str(recordings[0]), transcript="정말 기뻐요 너무 좋아요"))
    assert second["transcript"] is None and second["modalities"] == "audio"  # an empty text cell: audio only
    assert third["transcript"] == "너무 슬프고 외로워요" and third["modalities"] == "audio+text"
    _assert_same_prediction(third, pipe(str(recordings[2]), transcript="너무 슬프고 외로워요"))


def test_a_broken_file_gets_an_error_line_and_the_others_are_written(model_folder, pipe, recordings, tmp_path, capsys):
    broken = tmp_path / "recordings" / "broken.wav"
    broken.write_bytes(b"RIFF, but not really a wav file")
    output = tmp_path / "out.jsonl"
    arguments = [str(tmp_path / "recordings"), "-o", str(output), "--batch-size", "8", *FIXED]
    assert main(["predict", str(model_folder), *arguments]) == 1
    records = {Path(record["path"]).name: record for record in _read_jsonl(output)}
    assert len(records) == 6
    assert "broken.wav" in records["broken.wav"]["error"] and records["broken.wav"]["scores"] is None
    for path in recordings:
        assert records[path.name]["error"] is None
        _assert_same_prediction(records[path.name], pipe(str(path), segmentation="fixed"))  # the broken file's batch
    stderr = capsys.readouterr().err
    assert "5 ok, 1 failed" in stderr and "broken.wav" in stderr


def test_a_failure_inside_the_model_costs_only_that_files_line(pipe, recordings):
    items = [Item(name=str(path), path=path) for path in recordings[:3]]
    items[1].transcript = 12345  # not text: the processor raises inside the batch, after the audio decoded
    records = list(predict_items(pipe, items, batch_size=3, top_k=3, segmentation="fixed"))
    assert str(recordings[1]) in records[1]["error"] and records[1]["scores"] is None
    for index in (0, 2):
        assert records[index]["error"] is None
        _assert_same_prediction(records[index], pipe(str(recordings[index]), segmentation="fixed"))


def test_unusable_command_lines_exit_2_with_a_message_naming_the_file(model_folder, recordings, tmp_path, capsys):
    bad_table = tmp_path / "bad.csv"
    bad_table.write_text("file,text\na.wav,hello\n", encoding="utf-8")
    assert main(["predict", str(model_folder), str(bad_table)]) == 2
    assert "bad.csv" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(model_folder), str(empty)]) == 2
    assert "no input recordings" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "no-model"), str(recordings[0])]) == 2
    assert "cannot load a MATE model" in capsys.readouterr().err


def test_the_console_script_runs_as_installed(model_folder, recordings, tmp_path):
    script = Path(sys.executable).parent / "mate-hf"
    assert script.exists(), "console script missing: run `.venv/bin/python -m pip install -e . --no-deps`"
    output = tmp_path / "out.csv"
    run = subprocess.run(
        [str(script), "predict", str(model_folder), str(tmp_path / "recordings"), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with output.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(recordings)
    assert "5 ok, 0 failed" in run.stderr and "file" in run.stderr  # the summary, and tqdm's "file/s" bar


def test_results_prints_a_training_folders_tables(tmp_path, capsys):
    """`mate-hf results` on a folder as training/run.py leaves it: the setting label says role, modalities, λ and
    the held-out sessions; every registered column appears with three decimals."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mate", "modalities": "text", "loss_lambda": 0.75}))
    (tmp_path / "data_report.json").write_text(
        json.dumps({"eval_sessions": ["Session09", "Session10"], "reports": {"kemdy19": {"role": "listener"}}})
    )
    (tmp_path / "eval_results.json").write_text(json.dumps({"eval_f1_at_1_batch64": 0.51234, "eval_accuracy": 0.4}))
    assert main(["results", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| Listener, text, λ=0.75, sessions 9–10 | — | — | 0.512 | — | — |" in printed
    assert "| Listener, text, λ=0.75, sessions 9–10 | 0.400 | — | — |" in printed

    (tmp_path / "eval_results.json").unlink()
    assert main(["results", str(tmp_path)]) == 2
    assert "eval_results.json does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# Conversation recordings: voice activity, one row per utterance, timeline plots
# ---------------------------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_conversation(demo_kemdy19: Path, path: Path, dialogue: str = "Sess01_script01", gap: float = 0.6):
    """One demo dialogue's turns (espeak-ng speech) in turn order, `gap` seconds of silence before and between them,
    as one 16 kHz recording; returns the turns' (start, end) in it."""
    from mate_hf.feature_extraction_mate import resample

    session = f"Session{dialogue[4:6]}"
    turns = sorted((demo_kemdy19 / "wav" / session / dialogue).glob("*.wav"), key=lambda p: int(p.stem[-3:]))
    rate, pieces, times, clock = 16000, [], [], gap
    for turn in turns:
        samples, turn_rate = soundfile.read(turn, dtype="float32")
        samples = resample(samples, turn_rate, rate)
        pieces += [np.zeros(int(gap * rate), np.float32), samples]
        times.append((clock, clock + len(samples) / rate))
        clock += len(samples) / rate + gap
    soundfile.write(path, np.concatenate([*pieces, np.zeros(int(gap * rate), np.float32)]), rate)
    return times


@pytest.fixture(scope="module")
def conversation(tmp_path_factory, demo_kemdy19) -> tuple[Path, list[tuple[float, float]]]:
    """A 15 s conversation recording of 9 turns (Sess01_script01), and the turns' times in it."""
    path = tmp_path_factory.mktemp("conversation") / "talk.wav"
    return path, write_conversation(demo_kemdy19, path)


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 10_000


def test_a_conversation_recording_gives_one_jsonl_line_per_utterance_and_a_timeline(
    model_folder, pipe, conversation, recordings, tmp_path, capsys
):
    talk, turn_times = conversation
    output, plots = tmp_path / "out.jsonl", tmp_path / "plots"
    # auto: the 15 s recording (longer than the 2 s window, no transcript) is read by voice activity; the 0.7 s one
    # is one clip, as before.
    assert (
        main(["predict", str(model_folder), str(talk), str(recordings[0]), "-o", str(output), "--plot", str(plots)])
        == 0
    )
    records = _read_jsonl(output)
    expected = pipe(str(talk))
    assert expected["segmentation"] == "vad" and len(expected["utterances"]) == len(turn_times) == 9
    assert len(records) == 9 + 1
    for index, (record, utterance, (start, end)) in enumerate(zip(records, expected["utterances"], turn_times)):
        assert record["path"] == str(talk) and record["utterance"] == index and record["error"] is None
        assert (record["start"], record["end"]) == (utterance["start"], utterance["end"])
        assert record["start"] == pytest.approx(start, abs=0.15) and record["end"] == pytest.approx(end, abs=0.15)
        assert record["transcript"] is None and record["modalities"] == "audio" and record["note"] is None
        _assert_same_prediction(record, {**utterance, "modalities": "audio"})
        assert record["emotion"] == max(record["scores"], key=record["scores"].get)
        assert len(record["top_emotions"]) == 3 and record["segments"] == []  # each turn fits the 2 s window
    short = records[-1]
    assert short["path"] == str(recordings[0]) and "utterance" not in short and len(short["segments"]) == 1
    assert sorted(p.name for p in plots.iterdir()) == ["talk.png"]  # only the conversation gets a timeline
    _assert_png(plots / "talk.png")
    assert "2 ok, 0 failed (9 utterances in conversation recordings, 0 without speech), 1 plots written" in (
        capsys.readouterr().err
    )


def test_csv_rows_per_utterance_and_the_voice_activity_options_reach_the_pipeline(
    model_folder, pipe, conversation, tmp_path
):
    talk, turn_times = conversation
    output, plot = tmp_path / "out.csv", tmp_path / "figures" / "timeline.png"
    arguments = ["--segmentation", "vad", "--vad-threshold", "0.5", "--min-speech", "0.25", "--speech-pad", "0.05"]
    assert main(["predict", str(model_folder), str(talk), "-o", str(output), "--plot", str(plot), *arguments]) == 0
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["utterance"] for row in rows] == [str(index) for index in range(9)]
    assert list(rows[0])[:5] == ["path", "utterance", "start", "end", "transcript"]
    for row, (start, end) in zip(rows, turn_times):
        assert float(row["start"]) == pytest.approx(start, abs=0.15) and float(row["end"]) == pytest.approx(
            end, abs=0.15
        )
        scores = {label: float(row[f"score_{label}"]) for label in EMOTION_LABELS}
        assert sum(scores.values()) == pytest.approx(1, abs=1e-5) and row["emotion"] == max(scores, key=scores.get)
        assert 1 <= float(row["arousal"]) <= 5 and 1 <= float(row["valence"]) <= 5
        assert row["transcript"] == row["note"] == row["error"] == "" and json.loads(row["segments"]) == []
    _assert_png(plot)  # a .png path: a single recording's timeline

    # A pause must last 1 s to end an utterance: the 0.6 s pauses no longer do, and the whole talk is one utterance,
    # longer than the window, so it also lists its 2 s windows as segments.
    merged = tmp_path / "merged.csv"
    assert (
        main(["predict", str(model_folder), str(talk), "-o", str(merged), "--min-silence", "1.0", "--top-k", "2"]) == 0
    )
    with merged.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    expected = pipe(str(talk), min_silence_duration=1.0)["utterances"]
    assert len(expected) == 1 and row["utterance"] == "0"
    assert float(row["end"]) - float(row["start"]) > 13
    segments = json.loads(row["segments"])
    assert len(segments) == len(expected[0]["segments"]) >= 6 and all(len(s["emotions"]) == 2 for s in segments)
    assert float(row["score_happy"]) == pytest.approx(
        next(entry["score"] for entry in expected[0]["emotions"] if entry["label"] == "happy"), abs=1e-6
    )


def test_a_recording_without_speech_gets_one_row_saying_so(model_folder, sampling_rate, tmp_path, capsys):
    quiet = tmp_path / "quiet.wav"
    soundfile.write(
        quiet, np.random.default_rng(3).normal(0, 1e-4, 4 * sampling_rate).astype(np.float32), sampling_rate
    )
    output, plot = tmp_path / "out.jsonl", tmp_path / "quiet.png"
    assert main(["predict", str(model_folder), str(quiet), "-o", str(output), "--plot", str(plot)]) == 0
    (record,) = _read_jsonl(output)
    assert record["path"] == str(quiet) and record["note"] == "no speech found" and record["error"] is None
    assert record["utterance"] is None and record["emotion"] is None and record["scores"] is None
    _assert_png(plot)  # the empty timeline says "no speech found"
    assert "1 ok, 0 failed (0 utterances in conversation recordings, 1 without speech)" in capsys.readouterr().err

    csv_output = tmp_path / "out.csv"
    assert main(["predict", str(model_folder), str(quiet), "-o", str(csv_output), "--segmentation", "vad"]) == 0
    with csv_output.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["note"] == "no speech found" and row["emotion"] == row["score_happy"] == row["error"] == ""


def test_conversation_options_that_cannot_work_are_refused(model_folder, conversation, recordings, tmp_path, capsys):
    talk, _ = conversation
    two = [str(talk), str(recordings[0])]
    assert main(["predict", str(model_folder), *two, "--plot", str(tmp_path / "one.png")]) == 2
    assert "a .png file takes one recording" in capsys.readouterr().err
    assert main(["predict", str(model_folder), str(talk), "--vad-threshold", "1.5"]) == 2
    assert "--vad-threshold must be between 0 and 1" in capsys.readouterr().err
    assert main(["predict", str(model_folder), str(talk), "--min-silence", "-1"]) == 2
    assert "--min-silence must be 0 or more seconds" in capsys.readouterr().err
    # One transcript cannot be split among the utterances voice activity finds: that recording fails, and says why.
    table = tmp_path / "inputs.csv"
    table.write_text(f"audio,text\n{talk},정말 기뻐요 너무 좋아요\n{recordings[0]},\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    assert main(["predict", str(model_folder), str(table), "--segmentation", "vad", "-o", str(output)]) == 1
    failed, alone = _read_jsonl(output)
    assert "segmentation='fixed'" in failed["error"] and failed["scores"] is None
    assert (
        alone["error"] is None and alone["note"] == "no speech found"
    )  # vad for every recording: a tone is not speech
