"""The `mate-hf` command line: `predict` (recordings → one JSONL line or CSV row each, one per utterance of a
conversation recording), `publish` (to the Hub), `results` (a training folder's result tables) and
`convert-reference` (the authors' checkpoints → MATE folders).

    mate-hf predict outputs/demo recordings/ --output predictions.jsonl
    mate-hf predict outputs/demo talks.csv --transcripts transcripts.csv --format csv --output predictions.csv
    mate-hf predict outputs/demo meeting.wav --segmentation vad --min-silence 0.5 --plot meeting.png -o meeting.csv
    mate-hf publish outputs/demo --repo-id user/mate-demo --dry-run --staging-dir staging/
    mate-hf results outputs/demo
    mate-hf convert-reference exp/run/model.pth converted/ --text_encoder skt/kobert-base-v1

Exit status: 0 when everything went through, 1 when some input failed (predict) or publishing was refused,
2 for a wrong command line or an input that cannot be used at all (no model, no inputs, a malformed CSV).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__
from .audio_io import load_audio
from .convert_reference import convert_reference_checkpoint
from .hub import AUDIO_SUFFIXES, stage, upload, verify_staged
from .results import run_tables
from .saving import load_mate_pipeline
from .voice_activity import DEFAULT_MIN_SILENCE_S, DEFAULT_MIN_SPEECH_S, DEFAULT_SPEECH_PAD_S, DEFAULT_THRESHOLD

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TOP_K = 3
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


# ---------------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------------


def run_predict(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.top_k < 1:
        raise ValueError("--batch-size and --top-k must be at least 1")
    pipeline_kwargs = segmentation_kwargs(args)
    items = collect_inputs(args.inputs, warn=lambda message: print(message, file=sys.stderr))
    if not items:
        raise ValueError("no input recordings: give audio files, folders or CSV files")
    plots = plot_paths(args.plot, items) if args.plot else None
    if args.transcripts:
        added = add_transcripts(items, read_transcripts(Path(args.transcripts)))
        print(f"mate-hf predict: transcripts for {added} of {len(items)} recordings", file=sys.stderr)
    pipe = _load_pipeline(args.model, args.device)
    with _opened_output(args.output) as handle:
        tally = write_predictions(pipe, items, handle, args, pipeline_kwargs=pipeline_kwargs, plots=plots)
    where = f" → {args.output}" if args.output else ""
    print(f"mate-hf predict: {tally}{where}", file=sys.stderr)
    if plots is not None and not tally.plots and not tally.failed_plots:
        print("mate-hf predict: no conversation recording (none was VAD-segmented): no plot written", file=sys.stderr)
    return EXIT_FAILED if tally.failed or tally.failed_plots else EXIT_OK


def segmentation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's segmentation arguments given on the command line (the pipeline's defaults for the others).

    Raises:
        ValueError: a threshold outside (0, 1) or a negative duration.
    """
    if args.vad_threshold is not None and not 0 < args.vad_threshold < 1:
        raise ValueError(f"--vad-threshold must be between 0 and 1, got {args.vad_threshold}")
    for option, value in (
        ("--min-silence", args.min_silence),
        ("--min-speech", args.min_speech),
        ("--speech-pad", args.speech_pad),
    ):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{option} must be 0 or more seconds, got {value}")
    given = {
        "segmentation": args.segmentation,
        "vad_threshold": args.vad_threshold,
        "min_silence_duration": args.min_silence,
        "min_speech_duration": args.min_speech,
        "speech_pad": args.speech_pad,
    }
    return {key: value for key, value in given.items() if value is not None}


def plot_paths(target: str, items: list[Item]) -> dict[int, Path]:
    """Where `--plot` puts each item's timeline (by the item's position): a .png path for a single recording, else a
    folder (created) with one PNG per recording named after it (`talk.wav` → `talk.png`; `talk-2.png`, ... when two
    recordings share a name). Only conversation recordings get one written.

    Raises:
        ValueError: a .png path for several recordings, or no matplotlib; OSError: the folder cannot be made.
    """
    try:
        import matplotlib  # noqa: F401  (checked before the model runs)
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install mate-hf[plot]") from None
    path = Path(target)
    if path.suffix.lower() == ".png":
        if len(items) != 1:
            raise ValueError(f"--plot {target}: a .png file takes one recording; give a folder for {len(items)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return {0: path}
    path.mkdir(parents=True, exist_ok=True)
    paths, taken = {}, set()
    for position, item in enumerate(items):
        stem = Path(item.name).stem or "recording"
        name, number = f"{stem}.png", 1
        while name in taken:
            number += 1
            name = f"{stem}-{number}.png"
        taken.add(name)
        paths[position] = path / name
    return paths


@dataclass
class Tally:
    """What `write_predictions` did: recordings ok and failed, rows of utterances, recordings without speech, and
    the timeline plots written."""

    ok: int = 0
    failed: int = 0
    utterances: int = 0
    no_speech: int = 0
    plots: int = 0
    failed_plots: int = 0

    def __str__(self) -> str:
        text = f"{self.ok} ok, {self.failed} failed"
        if self.utterances or self.no_speech:
            text += f" ({self.utterances} utterances in conversation recordings, {self.no_speech} without speech)"
        if self.plots or self.failed_plots:
            text += f", {self.plots} plots written" + (f", {self.failed_plots} failed" if self.failed_plots else "")
        return text


@contextlib.contextmanager
def _opened_output(path: str | None) -> Iterator[IO[str]]:
    """The output file, or stdout (left open) without one."""
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:  # newline="": the csv module writes \r\n itself
        yield handle


def write_predictions(
    pipe,
    items: list[Item],
    handle: IO[str],
    args: argparse.Namespace,
    pipeline_kwargs: dict | None = None,
    plots: dict[int, Path] | None = None,
) -> Tally:
    """Write the records of each item as it is done (one per recording, one per utterance of a conversation
    recording), a progress bar and each failure on stderr, and a timeline PNG of each conversation recording that
    `plots` places."""
    from tqdm.auto import tqdm

    labels = [pipe.model.config.id2label[index] for index in range(pipe.model.config.num_labels)]
    writer = RecordWriter(handle, output_format(args.output, args.format), labels)
    tally = Tally()
    position = {id(item): index for index, item in enumerate(items)}
    results = predict_results(pipe, items, args.batch_size, **(pipeline_kwargs or {}))
    with tqdm(total=len(items), unit="file", file=sys.stderr, disable=args.no_progress) as progress:
        for item, outcome in results:
            for record in records_of(item, outcome, labels, args.top_k):
                writer.write(record)
            progress.update(1)
            if isinstance(outcome, str):
                tally.failed += 1
                progress.write(f"mate-hf predict: failed: {outcome}", file=sys.stderr)
                continue
            tally.ok += 1
            if "utterances" not in outcome:
                continue
            tally.utterances += len(outcome["utterances"])
            tally.no_speech += not outcome["utterances"]
            if plots is not None and position[id(item)] in plots:
                try:
                    _write_plot(outcome, plots[position[id(item)]], item.name)
                    tally.plots += 1
                except OSError as error:
                    tally.failed_plots += 1
                    progress.write(f"mate-hf predict: failed: plot of {item.name}: {error}", file=sys.stderr)
    return tally


def _write_plot(result: dict, path: Path, name: str) -> None:
    from .timeline_plot import default_title, plot_conversation

    plot_conversation(result, path=path, title=f"{name}: {default_title(result)}")


def _load_pipeline(model: str, device: str | None):
    try:
        return load_mate_pipeline(model, device=_device(device))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot load a MATE model from {model}: {error}") from error


def _device(device: str | None) -> str | int | None:
    return int(device) if device is not None and device.lstrip("-").isdigit() else device


def run_publish(args: argparse.Namespace) -> int:
    if args.staging_dir is None and not args.dry_run:
        # Nothing to inspect afterwards: the staged copy goes once it is uploaded.
        with tempfile.TemporaryDirectory(prefix="mate-hf-publish-") as folder:
            return _publish(args, Path(folder) / "staged")
    # A dry run keeps its staged folder, to be inspected.
    return _publish(args, Path(args.staging_dir or tempfile.mkdtemp(prefix="mate-hf-publish-")))


def _publish(args: argparse.Namespace, staging_dir: Path) -> int:
    staged = stage(args.model_dir, staging_dir, args.repo_id, examples=args.examples, template=args.card_template)
    print(f"staged {staged}:")
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(staged).as_posix():40s} {path.stat().st_size:>12,d} bytes")
    if not args.skip_verify:
        verify_staged(staged)
        print(
            "checked: the staged folder loads with trust_remote_code=True without mate_hf and gives the card's outputs"
        )
    if args.dry_run:
        print(f"dry run: nothing uploaded; the staged folder stays at {staged}")
        return EXIT_OK
    try:
        commit = upload(staged, args.repo_id, token=args.token, private=args.private)
    except ValueError:
        raise
    except Exception as error:  # network and Hub errors: one line, not a traceback from httpx
        raise ValueError(f"upload to {args.repo_id} failed: {type(error).__name__}: {error}") from error
    print(f"uploaded {args.repo_id}: {commit.commit_url}")
    return EXIT_OK


def run_results(args: argparse.Namespace) -> int:
    print(run_tables(args.run_dir))
    return EXIT_OK


def run_convert_reference(args: argparse.Namespace) -> int:
    folder = convert_reference_checkpoint(args.checkpoint, args.output_dir, text_encoder=args.text_encoder)
    print(f"converted {args.checkpoint} into {folder}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mate-hf", description="MATE emotion recognition: predict, publish, convert the authors' checkpoints."
    )
    parser.add_argument("--version", action="version", version=f"mate-hf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{predict,publish,results,convert-reference}")

    predict = commands.add_parser(
        "predict",
        help="emotion, arousal and valence of recordings",
        description="One output line (JSONL) or row (CSV) per input recording, one per utterance of a "
        "conversation recording (see below). Inputs: audio files, folders "
        f"(searched recursively for {' '.join(AUDIO_SUFFIXES)}) and CSV files with an 'audio' column (paths "
        "relative to the CSV) and an optional 'text' column (transcripts). Without a transcript a recording is read "
        "audio only. The installed package's code runs the model; the folder's own .py files are never executed.",
    )
    predict.add_argument("model", help="a MATE folder (save_mate_folder, training/run.py) or Hub id")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file, folder or CSV of audio,text")
    predict.add_argument("--output", "-o", help="output file (.jsonl or .csv); default: JSONL on stdout")
    predict.add_argument("--format", choices=("jsonl", "csv"), help="default: from --output's suffix, else jsonl")
    predict.add_argument("--transcripts", help="CSV of audio,text rows giving transcripts of the inputs")
    predict.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, help="emotions listed per ranking (default 3)")
    predict.add_argument("--batch-size", type=int, default=8, help="recordings per forward pass (default 8)")
    predict.add_argument("--device", help="e.g. cpu, cuda, cuda:0 (default: transformers' choice)")
    predict.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    conversation = predict.add_argument_group(
        "conversations",
        "A recording longer than the model's clip and given without a transcript (or any recording with "
        "--segmentation vad) is cut into utterances by voice activity (Silero VAD) and read as one dialogue: it gets "
        "one output row per utterance (columns utterance, start, end in seconds), or one row with the note "
        f"'{NO_SPEECH}'. A recording with a transcript is read in fixed clips (--segmentation vad refuses it).",
    )
    conversation.add_argument(
        "--segmentation",
        choices=("auto", "vad", "fixed"),
        help="auto (default): vad for a recording longer than the clip without a transcript, else fixed; vad: "
        "always by voice activity; fixed: consecutive clips of the model's length, one row per recording",
    )
    conversation.add_argument(
        "--vad-threshold", type=float, metavar="P", help=f"speech probability of a frame (default {DEFAULT_THRESHOLD})"
    )
    conversation.add_argument(
        "--min-silence",
        type=float,
        metavar="S",
        help=f"seconds of pause that end an utterance (default {DEFAULT_MIN_SILENCE_S})",
    )
    conversation.add_argument(
        "--min-speech", type=float, metavar="S", help=f"shorter speech is dropped (s; default {DEFAULT_MIN_SPEECH_S})"
    )
    conversation.add_argument(
        "--speech-pad",
        type=float,
        metavar="S",
        help=f"seconds added on both sides of an utterance (default {DEFAULT_SPEECH_PAD_S})",
    )
    conversation.add_argument(
        "--plot",
        metavar="DIR_OR_FILE",
        help="write a timeline PNG per conversation recording into this folder (named after the recording), or to "
        "this .png file for a single recording; needs matplotlib (pip install mate-hf[plot])",
    )
    predict.set_defaults(run=run_predict)

    publish = commands.add_parser(
        "publish",
        help="stage a model folder with its model card and upload it to the Hub",
        description="Stage one folder (safetensors weights, config, processor, remote code, examples, README.md), "
        "check it, and upload it in one commit. Refuses caches, pickles, training state, tokens and local paths.",
    )
    publish.add_argument("model_dir", help="a MATE folder (save_mate_folder, training/run.py)")
    publish.add_argument("--repo-id", required=True, help="USER/NAME on the Hub")
    publish.add_argument("--dry-run", action="store_true", help="stage and check only; print the staged files")
    publish.add_argument("--staging-dir", help="new or empty folder to stage into (default: a temporary folder)")
    publish.add_argument("--private", action="store_true", help="create the repo private")
    publish.add_argument("--token", help="Hub token (default: HF_TOKEN or `hf auth login`)")
    publish.add_argument("--examples", nargs="+", metavar="AUDIO", help="up to 3 widget examples (.txt beside each)")
    publish.add_argument("--card-template", help="model card template (default: mate_hf/hub/model_card.md)")
    publish.add_argument("--skip-verify", action="store_true", help="do not load the staged folder as remote code")
    publish.set_defaults(run=run_publish)

    results = commands.add_parser(
        "results",
        help="print a training folder's result tables",
        description="The published metric (precision@1, recall@1, F1@1 per batch of 64, CCC), the whole-set top-k "
        "metric and the standard metrics of a folder written by training/run.py, as markdown tables.",
    )
    results.add_argument("run_dir", help="a training/run.py output folder (eval_results.json, config.json)")
    results.set_defaults(run=run_results)

    convert = commands.add_parser(
        "convert-reference",
        help="convert one of the authors' checkpoints (model.pth) into a MATE folder",
        description="Read a state dict saved by the authors' code (torch.save(model.state_dict()), weights_only), "
        "infer window, hidden size, layers and direction from its shapes, and write a MATE folder that "
        "AutoModel.from_pretrained loads and that predicts what their model predicts.",
    )
    convert.add_argument("checkpoint", help="the authors' model.pth (torch.save(model.state_dict()))")
    convert.add_argument("output_dir", help="folder to write the MATE model into")
    convert.add_argument(
        "--text_encoder", help="KoBERT weights and tokenizer to attach, e.g. skt/kobert-base-v1 (Hub id or folder)"
    )
    convert.set_defaults(run=run_convert_reference)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except (ValueError, OSError) as error:  # OSError: an output or staging path that cannot be written
        print(f"mate-hf {args.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED if args.command == "publish" else EXIT_USAGE
    except KeyboardInterrupt:
        print(f"mate-hf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
