"""Predicting many recordings for the command line: the inputs (files, folders, CSV tables of audio and transcripts),
running the pipeline in batches where one failure costs only its own recording, and the records written per
recording, or per utterance of a conversation recording (JSONL lines or CSV rows)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .audio_io import load_audio
from .hub import AUDIO_SUFFIXES

DEFAULT_TOP_K = 3  # emotions listed per ranking
NO_SPEECH = "no speech found"  # the note of a conversation recording's row when VAD found no utterance


@dataclass
class Item:
    """One input recording: what the output calls it, where it is, and its transcript (None: audio only)."""

    name: str
    path: Path | None
    transcript: str | None = None
    error: str | None = None  # known before running, e.g. a CSV row without an audio path


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def collect_inputs(inputs: list[str], warn=print) -> list[Item]:
    """Audio files, folders (searched recursively for audio files, sorted) and CSV files of `audio`,`text` rows."""
    items = []
    for argument in inputs:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:
                warn(f"mate-hf predict: no {'/'.join(AUDIO_SUFFIXES)} files under {path}")
            items += [Item(name=str(p), path=p) for p in found]
        elif path.suffix.lower() == ".csv":
            items += [_csv_item(path, line, audio, text) for line, audio, text in read_audio_table(path)]
        else:
            items.append(Item(name=str(path), path=path))  # a missing file fails later, as its own line
    return items


def read_audio_table(csv_path: Path) -> list[tuple[int, str, str | None]]:
    """(line number, audio cell, text cell or None) of every row of a CSV with an `audio` and optional `text` column.

    Raises:
        ValueError: the file is missing, not UTF-8 or has no `audio` column; the message names it.
    """
    if not csv_path.is_file():
        raise ValueError(f"CSV file {csv_path} does not exist")
    try:
        content = csv_path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{csv_path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = [name.strip() for name in reader.fieldnames or []]
    if "audio" not in columns:
        raise ValueError(f"{csv_path}: needs an 'audio' column (and optionally 'text'), found {columns}")
    reader.fieldnames = columns
    rows = []
    for row in reader:
        text = (row.get("text") or "").strip()
        rows.append((reader.line_num, (row.get("audio") or "").strip(), text or None))
    return rows


def _csv_item(csv_path: Path, line: int, audio: str, text: str | None) -> Item:
    if not audio:
        return Item(name=f"{csv_path}:{line}", path=None, transcript=text, error=f"{csv_path} line {line}: no audio")
    path = csv_path.parent / audio  # an absolute cell stays absolute
    return Item(name=str(path), path=path, transcript=text)


def read_transcripts(csv_path: Path) -> dict[Path, str]:
    """Resolved audio path → transcript, from a CSV of `audio`,`text` rows (paths relative to the CSV's folder).

    Raises:
        ValueError: no `text` column, or one recording listed twice with different transcripts.
    """
    table = read_audio_table(csv_path)
    transcripts: dict[Path, tuple[int, str]] = {}
    for line, audio, text in table:
        if not audio or text is None:
            continue
        key = (csv_path.parent / audio).resolve()
        if key in transcripts and transcripts[key][1] != text:
            raise ValueError(f"{csv_path}: {audio} has two transcripts (lines {transcripts[key][0]} and {line})")
        transcripts[key] = (line, text)
    if table and not transcripts:
        raise ValueError(f"{csv_path}: no row has both 'audio' and 'text'")
    return {key: text for key, (_, text) in transcripts.items()}


def add_transcripts(items: list[Item], transcripts: dict[Path, str]) -> int:
    """Give each item without a transcript the one listed for its file; returns how many got one."""
    added = 0
    for item in items:
        if item.transcript is None and item.path is not None and item.path.resolve() in transcripts:
            item.transcript = transcripts[item.path.resolve()]
            added += 1
    return added


# ---------------------------------------------------------------------------------------------------------------
# Running the pipeline
# ---------------------------------------------------------------------------------------------------------------


def predict_items(
    pipe, items: list[Item], batch_size: int, top_k: int, on_done=None, **pipeline_kwargs
) -> Iterator[dict]:
    """The output records of the items, in order: one per recording, one per utterance of a conversation recording
    (see `records_of`). A file that fails (to decode, or in the model) gives a record with `error` instead of stopping
    the run; `on_done(n)` is called after every batch; `pipeline_kwargs` go to the pipeline (e.g. `segmentation`)."""
    labels = [pipe.model.config.id2label[index] for index in range(pipe.model.config.num_labels)]
    for item, outcome in predict_results(pipe, items, batch_size, on_done, **pipeline_kwargs):
        yield from records_of(item, outcome, labels, top_k)


def predict_results(
    pipe, items: list[Item], batch_size: int, on_done=None, **pipeline_kwargs
) -> Iterator[tuple[Item, dict | str]]:
    """(item, pipeline result) per item, in order, or (item, error message) for one that failed."""
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        yield from zip(chunk, _predict_chunk(pipe, chunk, pipeline_kwargs))
        if on_done is not None:
            on_done(len(chunk))


def _predict_chunk(pipe, chunk: list[Item], pipeline_kwargs: dict) -> list[dict | str]:
    outcomes: list[dict | str | None] = [None] * len(chunk)
    ready = []  # (position, pipeline input)
    for position, item in enumerate(chunk):
        try:
            if item.error:
                raise ValueError(item.error)
            waveform, rate = load_audio(item.path)
            ready.append((position, {"raw": waveform, "sampling_rate": rate, "text": item.transcript}))
        except ValueError as error:
            outcomes[position] = str(error)
    for position, result in _run_pipeline(pipe, ready, pipeline_kwargs):
        item = chunk[position]
        if isinstance(result, Exception):
            outcomes[position] = f"{item.name}: {type(result).__name__}: {result}"
        else:
            outcomes[position] = result
    return outcomes


def _run_pipeline(pipe, ready: list[tuple[int, dict]], pipeline_kwargs: dict) -> list[tuple[int, dict | Exception]]:
    """The batch at once; if it fails, each input alone, so one bad file costs only its own line."""
    if not ready:
        return []
    try:
        results = pipe([inputs for _, inputs in ready], batch_size=len(ready), **pipeline_kwargs)
        return [(position, result) for (position, _), result in zip(ready, results)]
    except Exception:  # retried one by one below, where the failing file gets the error
        outcomes = []
        for position, inputs in ready:
            try:
                outcomes.append((position, pipe(inputs, **pipeline_kwargs)))
            except Exception as error:  # reported in that file's record; the run goes on
                outcomes.append((position, error))
        return outcomes


def records_of(item: Item, outcome: dict | str, labels: list[str], top_k: int) -> list[dict]:
    """An item's output records: a failed one's error record, a conversation recording's (a result with
    `utterances`) one record per utterance (`utterance_records`), else the recording's one record."""
    if isinstance(outcome, str):
        return [failed_record(item, outcome)]
    if "utterances" in outcome:
        return utterance_records(item, outcome, labels, top_k)
    return [result_record(item, outcome, labels, top_k)]


def result_record(item: Item, result: dict, labels: list[str], top_k: int) -> dict:
    """A pipeline result → the output record (all scores by label; rankings cut to `top_k`). The pipeline ranks
    `emotions` by score, best first."""
    ranked = result["emotions"]
    scores = {entry["label"]: entry["score"] for entry in ranked}
    segments = [{**segment, "emotions": segment["emotions"][:top_k]} for segment in result["segments"]]
    return {
        "path": item.name,
        "transcript": item.transcript,
        "emotion": ranked[0]["label"],
        "score": ranked[0]["score"],
        "top_emotions": ranked[:top_k],
        "scores": {label: scores[label] for label in labels},
        "arousal": result["arousal"],
        "valence": result["valence"],
        "modalities": result["modalities"],
        "segments": segments,
        "error": None,
    }


def utterance_records(item: Item, result: dict, labels: list[str], top_k: int) -> list[dict]:
    """A conversation recording's result (VAD-segmented: `utterances`) → one record per utterance: the recording's
    path, the utterance's index (from 0), start and end (seconds in the recording), transcript (its own: ASR's, or
    None), emotion scores, arousal, valence, and `segments` (the model's windows of an utterance longer than the
    clip, else []). A recording without speech gives one record with `note` "no speech found" and no scores."""
    modalities = result.get("modalities")
    if not result["utterances"]:
        empty = dict.fromkeys(("utterance", "start", "end", "transcript", "emotion", "score", "top_emotions", "scores"))
        nothing = {"arousal": None, "valence": None, "modalities": modalities, "segments": None}
        return [{"path": item.name, **empty, **nothing, "note": NO_SPEECH, "error": None}]
    records = []
    for index, utterance in enumerate(result["utterances"]):
        ranked = utterance["emotions"]
        scores = {entry["label"]: entry["score"] for entry in ranked}
        segments = [{**segment, "emotions": segment["emotions"][:top_k]} for segment in utterance.get("segments", [])]
        records.append(
            {
                "path": item.name,
                "utterance": index,
                "start": utterance["start"],
                "end": utterance["end"],
                "transcript": utterance.get("transcript"),
                "emotion": ranked[0]["label"],
                "score": ranked[0]["score"],
                "top_emotions": ranked[:top_k],
                "scores": {label: scores.get(label) for label in labels},
                "arousal": utterance["arousal"],
                "valence": utterance["valence"],
                "modalities": utterance.get("modalities", modalities),
                "segments": segments,
                "note": None,
                "error": None,
            }
        )
    return records


def failed_record(item: Item, error: str) -> dict:
    empty = dict.fromkeys(("emotion", "score", "top_emotions", "scores", "arousal", "valence", "modalities"))
    return {"path": item.name, "transcript": item.transcript, **empty, "segments": None, "error": error}


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


class RecordWriter:
    """JSONL (one nested object per line) or CSV (one column per emotion score; lists as JSON strings)."""

    def __init__(self, handle: IO[str], output_format: str, labels: list[str]):
        self.handle = handle
        self.format = output_format
        self.labels = labels
        self.csv = None
        if output_format == "csv":
            # utterance, start, end and note: filled on a conversation recording's rows only (utterance_records).
            columns = ["path", "utterance", "start", "end", "transcript", "emotion", "score", "top_emotions"]
            columns += [f"score_{label}" for label in labels]
            columns += ["arousal", "valence", "modalities", "segments", "note", "error"]
            self.csv = csv.DictWriter(handle, fieldnames=columns, restval="")
            self.csv.writeheader()

    def write(self, record: dict) -> None:
        if self.csv is None:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self.csv.writerow(self._flat(record))
        self.handle.flush()  # a long run shows its progress in the file, and a crash keeps what was done

    def _flat(self, record: dict) -> dict[str, Any]:
        row = {key: value for key, value in record.items() if key not in ("scores", "top_emotions", "segments")}
        for label in self.labels:
            row[f"score_{label}"] = (record["scores"] or {}).get(label)
        for key in ("top_emotions", "segments"):
            row[key] = None if record[key] is None else json.dumps(record[key], ensure_ascii=False)
        return {key: "" if value is None else value for key, value in row.items()}


def output_format(output: str | None, requested: str | None) -> str:
    if requested:
        return requested
    return "csv" if output and output.lower().endswith(".csv") else "jsonl"
