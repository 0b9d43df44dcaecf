"""The widget examples of a Hub repo: which recordings (given, or a training run's first evaluated utterances),
their copies and transcripts in the staged folder, and the pipeline outputs recorded for the card."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..audio_io import load_audio
from ..saving import load_mate_pipeline
from .model_folder import AUDIO_SUFFIXES, CONFIG_FILES, PROCESSOR_FILES, data_roots

MAX_EXAMPLES = 3
# The Hub's audio-classification widget shows a ranked chart; 5 is the audio-classification pipeline's default top_k.
WIDGET_TOP_K = 5
WIDGET_DECIMALS = 4


@dataclass
class Example:
    """One example recording: where it came from, its name in the repo, its transcript and the pipeline's result."""

    source: Path
    name: str
    transcript: str | None = None
    result: dict | None = None

    def widget_output(self) -> list[dict]:
        """The top labels as the Hub's audio-classification widget shows them (`[{label, score}, ...]`)."""
        return widget_output(self.result)


def widget_output(result: dict) -> list[dict]:
    """A pipeline result → its `WIDGET_TOP_K` best labels (the pipeline ranks them, best first), scores rounded to
    `WIDGET_DECIMALS`."""
    return [
        {"label": entry["label"], "score": round(float(entry["score"]), WIDGET_DECIMALS)}
        for entry in result["emotions"][:WIDGET_TOP_K]
    ]


def outputs_agree(recorded: list[dict], result: dict) -> bool:
    """Whether a pipeline result gives every recorded label the recorded (rounded) score.

    Compared label by label, not by rank: near-equal scores may swap ranks between two processes.
    """
    scores = {entry["label"]: entry["score"] for entry in result["emotions"]}
    tolerance = 0.5 * 10**-WIDGET_DECIMALS + 1e-6
    return all(
        entry["label"] in scores and abs(scores[entry["label"]] - entry["score"]) <= tolerance for entry in recorded
    )


def choose_examples(model_dir: Path, examples: list[str | Path] | None) -> list[Path]:
    """The example recordings: the given ones (at most 3), else the first evaluated utterances of a training run."""
    if examples:
        if len(examples) > MAX_EXAMPLES:
            raise ValueError(f"give at most {MAX_EXAMPLES} --examples, got {len(examples)}")
        paths = [Path(example).resolve() for example in examples]
    else:
        paths = training_examples(model_dir)
    for path in paths:
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise ValueError(f"example {path} is not a {'/'.join(AUDIO_SUFFIXES)} file")
        load_audio(path)  # a ValueError naming the file if it is missing or does not decode
    return paths


def training_examples(model_dir: Path) -> list[Path]:
    """The first evaluated utterances listed in `eval_predictions.jsonl` whose audio lies under a corpus root of
    `data_report.json` (both written by `training/run.py`)."""
    predictions = model_dir / "eval_predictions.jsonl"
    roots = [Path(root) for root in data_roots(model_dir)]
    if not predictions.is_file() or not roots:
        raise ValueError(
            f"no --examples given, and {model_dir} has no eval_predictions.jsonl and data_report.json from "
            "training/run.py to take evaluation utterances from: pass --examples a.wav [b.wav c.wav]"
        )
    audio = {}
    for root in roots:
        for path in sorted((root / "wav").rglob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES:
                audio.setdefault(path.stem, path)
    chosen = []
    for number, line in enumerate(predictions.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            segment_id = json.loads(line).get("segment_id") if line.strip() else None
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"{predictions} line {number} is not a JSON object: {error}") from error
        if segment_id in audio and audio[segment_id] not in chosen:
            chosen.append(audio[segment_id])
        if len(chosen) == MAX_EXAMPLES:
            break
    if not chosen:
        raise ValueError(
            f"no --examples given, and the evaluation audio of {model_dir} is not on this machine (looked under "
            f"{', '.join(map(str, roots))}): pass --examples a.wav [b.wav c.wav]"
        )
    return chosen


def read_sidecar_transcript(audio_path: Path) -> str | None:
    """The cleaned transcript in `<name>.txt` beside the recording (the KEMDy layout), if there is one."""
    from ..data.transcripts import clean_transcript, read_transcript

    path = audio_path.with_suffix(".txt")
    if not path.is_file():
        return None
    try:
        text, _ = read_transcript(path)
    except UnicodeDecodeError as error:
        raise ValueError(f"transcript {path} is neither UTF-8 nor cp949: {error}") from error
    return clean_transcript(text) or None


def staged_transcript(audio_path: Path) -> str | None:
    """The transcript that `stage_examples` wrote beside a staged recording (already cleaned), if any."""
    path = audio_path.with_suffix(".txt")
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def stage_examples(paths: list[Path], staging_dir: Path) -> list[Example]:
    """Copy each recording (and its cleaned transcript as `<name>.txt`) to the top of the repo, where a widget's
    `src: <file name>` finds it."""
    examples = []
    for path in paths:
        name = _safe_file_name(path.name, taken={example.name for example in examples})
        example = Example(source=path, name=name, transcript=read_sidecar_transcript(path))
        shutil.copyfile(path, staging_dir / name)
        if example.transcript is not None:
            (staging_dir / Path(name).with_suffix(".txt")).write_text(example.transcript + "\n", encoding="utf-8")
        examples.append(example)
    return examples


def _safe_file_name(name: str, taken: set[str]) -> str:
    # Widget `src` values become URLs: keep them plain.
    stem, suffix = os.path.splitext(name)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "example"
    candidate, number = f"{stem}{suffix.lower()}", 2
    while candidate in taken or candidate in CONFIG_FILES + PROCESSOR_FILES or candidate == "README.md":
        candidate, number = f"{stem}_{number}{suffix.lower()}", number + 1
    return candidate


def record_outputs(model_dir: Path, examples: list[Example]) -> None:
    """Run the installed package's pipeline on every example (with its transcript) and keep the full result."""
    pipe = load_mate_pipeline(model_dir)
    for example in examples:
        example.result = pipe(str(example.source), transcript=example.transcript)
