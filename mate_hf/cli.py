"""The `mate-hf` command line: `predict` (recordings → one JSONL line or CSV row each, one per utterance of a
conversation recording; the work is `mate_hf.batch_prediction`'s), `publish` (to the Hub), `results` (a training
folder's result tables), `convert-reference` (the authors' checkpoints → MATE folders) and `export-onnx` (ONNX graphs
for ONNX Runtime).

    mate-hf predict outputs/demo recordings/ --output predictions.jsonl
    mate-hf predict outputs/demo talks.csv --transcripts transcripts.csv --format csv --output predictions.csv
    mate-hf predict outputs/demo meeting.wav --segmentation vad --min-silence 0.5 --plot meeting.png -o meeting.csv
    mate-hf publish outputs/demo --repo-id user/mate-demo --dry-run --staging-dir staging/
    mate-hf results outputs/demo
    mate-hf export-onnx outputs/demo outputs/demo-onnx --quantize int8
    mate-hf convert-reference exp/run/model.pth converted/ --text_encoder skt/kobert-base-v1

Exit status: 0 when everything went through, 1 when some input failed (predict) or publishing was refused,
2 for a wrong command line or an input that cannot be used at all (no model, no inputs, a malformed CSV).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__
from .batch_prediction import (
    DEFAULT_TOP_K,
    NO_SPEECH,
    Item,
    RecordWriter,
    add_transcripts,
    collect_inputs,
    output_format,
    predict_results,
    read_transcripts,
    records_of,
)
from .convert_reference import convert_reference_checkpoint
from .hub import AUDIO_SUFFIXES, stage, upload, verify_staged
from .results import run_tables
from .saving import load_mate_pipeline
from .voice_activity import DEFAULT_MIN_SILENCE_S, DEFAULT_MIN_SPEECH_S, DEFAULT_SPEECH_PAD_S, DEFAULT_THRESHOLD

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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


def run_export_onnx(args: argparse.Namespace) -> int:
    from .onnx_export import export_onnx  # needs the onnx extra; the rest of the CLI does not

    try:
        summary = export_onnx(args.model_dir, args.output_dir, quantize=args.quantize)
    except ImportError as error:
        raise ValueError(str(error)) from error
    print(f"exported {args.model_dir} into {args.output_dir}:")
    for name in summary["files"]:
        print(f"  {name}")
    for note in summary["notes"]:
        print(f"  note: {note}")
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
    commands = parser.add_subparsers(dest="command", metavar="{predict,publish,results,convert-reference,export-onnx}")

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

    export = commands.add_parser(
        "export-onnx",
        help="export a MATE folder to ONNX (optionally int8) for ONNX Runtime",
        description="Write OUTPUT_DIR/mate.onnx (log-mels and sentence embeddings → emotion probabilities, arousal, "
        "valence; any number of dialogues and utterances), text_encoder.onnx (token ids → sentence embeddings; not "
        "for an audio-only model), the processor's files and onnx_config.json. Each graph is checked against the "
        "PyTorch model before it is kept. Run them with mate_hf.onnx_export.OnnxMate; see docs/onnx.md. Needs "
        "pip install mate-hf[onnx].",
    )
    export.add_argument("model_dir", help="a MATE folder (save_mate_folder, training/run.py)")
    export.add_argument("output_dir", help="folder to write the ONNX files into (created if missing)")
    export.add_argument(
        "--quantize",
        choices=("int8",),
        help="also write int8-weight graphs (*.int8.onnx, fp32 kept): 3.5x faster than PyTorch for one 10 s "
        "utterance (fp32: 1.9x) on a 2-core CPU; on the demo model 1 of 68 top emotions changed (F1@1 0.423 → "
        "0.415), CCC within 0.001; see docs/onnx.md",
    )
    export.set_defaults(run=run_export_onnx)
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
