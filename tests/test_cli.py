"""`mate-hf predict`: one output line per recording (JSONL, CSV), transcripts, failures, the console script."""

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
from mate_hf.cli import Item, main, predict_items

# 2 s windows (short clips, fast features); initializer_range 0.5 makes untrained outputs far from uniform, so a
# wrong file, transcript or segment changes the scores visibly.
TINY_MODEL = dict(max_duration=2.0, n_mels=32, hop_length=512, initializer_range=0.5)
# Durations (s) and sampling rates of the generated recordings: 3.2 s gives two segments of the 2 s window
# (a 1.2 s tail is kept), 2.5 s gives one (a 0.5 s tail is too short to carry an emotion).
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
    code = main(["predict", str(model_folder), str(tmp_path / "recordings"), "-o", str(output), "--batch-size", "2"])
    assert code == 0
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
        _assert_same_prediction(record, pipe(str(path)))
    segments = {Path(record["path"]).name: record["segments"] for record in records}
    assert [(s["start"], s["end"]) for s in segments["d.ogg"]] == [(0.0, 2.0), (2.0, 3.2)]
    assert [(s["start"], s["end"]) for s in segments["c.wav"]] == [(0.0, 2.0)]
    assert all(len(s["emotions"]) == 3 for s in segments["d.ogg"])


def test_csv_output_has_one_row_per_recording_and_a_column_per_emotion(model_folder, recordings, tmp_path):
    output = tmp_path / "out.csv"
    assert main(["predict", str(model_folder), *map(str, recordings), "-o", str(output), "--top-k", "2"]) == 0
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["path"] for row in rows] == [str(path) for path in recordings]  # files given one by one: in order
    assert {f"score_{label}" for label in EMOTION_LABELS} <= set(rows[0])
    for row in rows:
        scores = [float(row[f"score_{label}"]) for label in EMOTION_LABELS]
        assert sum(scores) == pytest.approx(1, abs=1e-5) and row["error"] == ""
        assert len(json.loads(row["top_emotions"])) == 2
        assert json.loads(row["segments"])[0]["start"] == 0.0
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
    code = main(["predict", str(model_folder), str(tmp_path / "recordings"), "-o", str(output), "--batch-size", "8"])
    assert code == 1
    records = {Path(record["path"]).name: record for record in _read_jsonl(output)}
    assert len(records) == 6
    assert "broken.wav" in records["broken.wav"]["error"] and records["broken.wav"]["scores"] is None
    for path in recordings:
        assert records[path.name]["error"] is None
        _assert_same_prediction(records[path.name], pipe(str(path)))  # same batch as the broken file
    stderr = capsys.readouterr().err
    assert "5 ok, 1 failed" in stderr and "broken.wav" in stderr


def test_a_failure_inside_the_model_costs_only_that_files_line(pipe, recordings):
    items = [Item(name=str(path), path=path) for path in recordings[:3]]
    items[1].transcript = 12345  # not text: the processor raises inside the batch, after the audio decoded
    records = list(predict_items(pipe, items, batch_size=3, top_k=3))
    assert str(recordings[1]) in records[1]["error"] and records[1]["scores"] is None
    for index in (0, 2):
        assert records[index]["error"] is None
        _assert_same_prediction(records[index], pipe(str(recordings[index])))


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
