"""Publishing a MATE folder to the Hugging Face Hub: stage one clean folder, check it, upload it in one commit.

    staged = stage("outputs/demo", "staging/mate-demo", "user/mate-demo")   # weights, code, examples, README.md
    verify_staged(staged)                                                    # loads as remote code, without mate_hf
    upload(staged, "user/mate-demo")                                         # create_repo + one create_commit

What is staged is chosen file by file (never "everything but ..."): safetensors weights, `config.json`, the
processor files, the remote-code `.py` files that the JSON files name (and their relative imports), up to three
example recordings (with their transcript beside them as `.txt`) and `README.md`, generated from the `model_card.md`
template with the Hub metadata (model-index from `eval_results.json`, widget outputs recorded by running the
pipeline). A training folder's `data_report.json` and `eval_predictions.jsonl` hold absolute paths of the machine:
they are read for the card, never staged. Before anything leaves the machine, `scan_staged_folder` refuses caches,
pickles, training state, anything shaped like a Hub token and the machine's absolute paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import CommitInfo, CommitOperationAdd, EvalResult, HfApi, ModelCard, ModelCardData

from .audio_io import load_audio
from .saving import load_mate_pipeline

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MAX_EXAMPLES = 3
# The Hub's audio-classification widget shows a ranked chart; 5 is the audio-classification pipeline's default top_k.
WIDGET_TOP_K = 5
WIDGET_DECIMALS = 4
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "model_card.md"
REPO_ROOT = Path(__file__).resolve().parents[1]

CONFIG_FILES = ("config.json", "generation_config.json")
PROCESSOR_FILES = (
    "processor_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "chat_template.jinja",
)
# JSON files whose `auto_map` names remote-code modules.
AUTO_MAP_FILES = ("config.json", "processor_config.json", "preprocessor_config.json", "tokenizer_config.json")
SAFETENSORS_INDEX = "model.safetensors.index.json"

# (eval_results.json key without "eval_", model-index metric type, metric name); SPEC §5 and §6. The per-batch
# values are the ones the authors published; the whole-set ones do not depend on batch size or order.
EVAL_METRICS = (
    ("precision_at_1_batch64", "precision", "Precision@1 (per batch of 64, as published)"),
    ("recall_at_1_batch64", "recall", "Recall@1 (per batch of 64, as published)"),
    ("f1_at_1_batch64", "f1", "F1@1 (per batch of 64, as published)"),
    ("precision_at_1", "precision", "Precision@1 (whole set)"),
    ("recall_at_1", "recall", "Recall@1 (whole set)"),
    ("f1_at_1", "f1", "F1@1 (whole set)"),
    ("precision_at_2", "precision", "Precision@2 (whole set)"),
    ("recall_at_2", "recall", "Recall@2 (whole set)"),
    ("f1_at_2", "f1", "F1@2 (whole set)"),
    ("ccc_arousal", "ccc", "CCC arousal"),
    ("ccc_valence", "ccc", "CCC valence"),
    ("accuracy", "accuracy", "Accuracy (argmax)"),
    ("macro_f1", "f1", "Macro-F1 (argmax)"),
    ("weighted_f1", "f1", "Weighted-F1 (argmax)"),
)
# The card's tables, (column title, key): the first has the columns of the published table (SPEC §6).
PAPER_COLUMNS = (
    ("precision@1", "precision_at_1_batch64"),
    ("recall@1", "recall_at_1_batch64"),
    ("F1@1", "f1_at_1_batch64"),
    ("CCC(A)", "ccc_arousal"),
    ("CCC(V)", "ccc_valence"),
)
WHOLE_SET_COLUMNS = (
    ("precision@1", "precision_at_1"),
    ("recall@1", "recall_at_1"),
    ("F1@1", "f1_at_1"),
    ("precision@2", "precision_at_2"),
    ("recall@2", "recall_at_2"),
    ("F1@2", "f1_at_2"),
)
STANDARD_COLUMNS = (("Accuracy", "accuracy"), ("Macro-F1", "macro_f1"), ("Weighted-F1", "weighted_f1"))

# Never published: caches, training state, pickles (a pickle runs code when loaded), VCS and secrets files.
FORBIDDEN_NAMES = frozenset(
    {
        ".cache",
        "__pycache__",
        ".git",
        ".env",
        ".netrc",
        "token",
        "stored_tokens",
        "optimizer.pt",
        "scheduler.pt",
        "scaler.pt",
        "training_args.bin",
        "trainer_state.json",
        "data_report.json",
        "eval_predictions.jsonl",
    }
)
FORBIDDEN_PATTERNS = ("checkpoint-*", "rng_state*.pth", "*.pyc", "*.pkl", "*.pickle", "*.bin", "*.pt", "*.pth")
FORBIDDEN_PATTERNS += ("*.ckpt", "*.npy", "*.npz", "*.joblib")
BINARY_SUFFIXES = (".safetensors", *AUDIO_SUFFIXES)
TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{30,}")
# Home folders of any user, whatever this machine's $HOME is.
HOME_PATTERN = re.compile(r"(?<![\w.])(/home/[^/\s\"']+|/Users/[^/\s\"']+|[A-Za-z]:\\\\?Users\\\\?[^\\\s\"']+)")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_RELATIVE_IMPORT = re.compile(r"^\s*from\s+\.(\w*)\s+import\s+([\w, ()]+)", re.MULTILINE)
_ABSOLUTE_PACKAGE_IMPORT = re.compile(r"^\s*(from|import)\s+mate_hf\b", re.MULTILINE)


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
    """A pipeline result → its `WIDGET_TOP_K` best labels, scores rounded to `WIDGET_DECIMALS`."""
    ranked = sorted(result["emotions"], key=lambda entry: -entry["score"])[:WIDGET_TOP_K]
    return [{"label": entry["label"], "score": round(float(entry["score"]), WIDGET_DECIMALS)} for entry in ranked]


# ---------------------------------------------------------------------------------------------------------------
# Staging
# ---------------------------------------------------------------------------------------------------------------


def stage(
    model_dir: str | Path,
    staging_dir: str | Path,
    repo_id: str,
    examples: list[str | Path] | None = None,
    template: str | Path | None = None,
) -> Path:
    """Write into `staging_dir` (new or empty) exactly what the Hub repo `repo_id` will hold, and check it.

    Args:
        model_dir: a folder saved with `mate_hf.save_mate_folder` (e.g. the output of `training/run.py`).
        staging_dir: where to write; must not exist or be empty, and lie outside `model_dir`.
        repo_id: `user/name` on the Hub; the card's model name and usage code use it.
        examples: up to 3 audio files for the card's widget; without them, the first evaluation utterances of a
            `training/run.py` folder whose audio is still on disk. A `.txt` beside a file is its transcript.
        template: the model card template (Jinja); default: `model_card.md` of this project.

    Returns:
        The staging folder.

    Raises:
        ValueError: the folder is not a complete MATE folder, examples are missing or unreadable, or the staged
            folder holds something that must not be published; the message names the file.
    """
    model_dir = check_model_dir(model_dir)
    check_repo_id(repo_id)
    code_files = remote_code_files(model_dir)
    chosen = choose_examples(model_dir, examples)
    staging_dir = _prepare_staging_dir(Path(staging_dir), model_dir)
    for name in _model_file_names(model_dir) + code_files:
        shutil.copyfile(model_dir / name, staging_dir / name)
    staged_examples = _stage_examples(chosen, staging_dir)
    record_outputs(model_dir, staged_examples)
    card = build_model_card(model_dir, repo_id, staged_examples, code_files, template)
    card.save(staging_dir / "README.md")
    local_paths = [model_dir, *(example.source.parent for example in staged_examples)]
    scan_staged_folder(staging_dir, local_paths=local_paths + _data_roots(model_dir))
    return staging_dir


def check_repo_id(repo_id: str) -> None:
    if not _REPO_ID.match(repo_id or "") or ".." in repo_id or len(repo_id) > 96:
        raise ValueError(f"--repo-id must look like USER/NAME (letters, digits, '-', '_', '.'), got {repo_id!r}")


def check_model_dir(model_dir: str | Path) -> Path:
    """The resolved folder, if it holds a MATE saved with `save_mate_folder` (weights as safetensors)."""
    folder = Path(model_dir).resolve()
    if not folder.is_dir():
        raise ValueError(f"model folder {folder} does not exist")
    config = _read_json(folder / "config.json", required=True)
    if config.get("model_type") != "mate":
        raise ValueError(f"{folder / 'config.json'}: model_type is {config.get('model_type')!r}, not 'mate'")
    if not _weight_files(folder):
        pickled = sorted(path.name for path in folder.glob("pytorch_model*.bin"))
        hint = f" (found pickled weights {', '.join(pickled)}: re-save with save_pretrained)" if pickled else ""
        raise ValueError(f"{folder} holds no safetensors weights{hint}")
    if not (folder / "processor_config.json").is_file():
        raise ValueError(f"{folder} has no processor_config.json: save it with mate_hf.save_mate_folder")
    if not config.get("custom_pipelines") or not config.get("auto_map"):
        raise ValueError(
            f"{folder / 'config.json'} has no custom_pipelines/auto_map, so the Hub copy would not load with "
            "trust_remote_code=True: save the folder with mate_hf.save_mate_folder"
        )
    return folder


def _read_json(path: Path, required: bool = False) -> Any:
    if not path.is_file():
        if required:
            raise ValueError(f"{path} does not exist")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def _weight_files(folder: Path) -> list[str]:
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        shards = sorted(set(_read_json(index)["weight_map"].values()))
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise ValueError(f"{index} names missing weight shards: {', '.join(missing)}")
        return [SAFETENSORS_INDEX, *shards]
    return ["model.safetensors"] if (folder / "model.safetensors").is_file() else []


def _model_file_names(folder: Path) -> list[str]:
    """Weights, config and processor files (remote code aside), in a fixed order."""
    present = [name for name in CONFIG_FILES + PROCESSOR_FILES if (folder / name).is_file()]
    return _weight_files(folder) + present


def remote_code_files(folder: Path) -> list[str]:
    """The `.py` files that `trust_remote_code=True` imports: those named by an `auto_map` or `custom_pipelines`
    entry, plus every sibling they import relatively (transitively).

    Raises:
        ValueError: a named module is missing, or imports the `mate_hf` package (it would fail for a user who
            never installed it).
    """
    wanted = {module: origin for origin, module in _referenced_modules(folder)}
    found: dict[str, str] = {}
    while wanted:
        module, origin = wanted.popitem()
        if module in found:
            continue
        path = folder / f"{module}.py"
        if not path.is_file():
            raise ValueError(f"{origin} refers to {module}.py, which is not in {folder}")
        source = path.read_text(encoding="utf-8")
        if _ABSOLUTE_PACKAGE_IMPORT.search(source):
            raise ValueError(f"{path} imports mate_hf absolutely: remote code must use relative imports only")
        found[module] = path.name
        for imported in _relative_imports(source):
            wanted.setdefault(imported, path.name)
    return sorted(found.values())


def _referenced_modules(folder: Path) -> list[tuple[str, str]]:
    """(JSON file name, module) for every class reference such as `modeling_mate.MateModel`."""
    references = []
    for name in AUTO_MAP_FILES:
        data = _read_json(folder / name) or {}
        for value in _auto_map_values(data):
            references.append((name, value))
    pipelines = (_read_json(folder / "config.json") or {}).get("custom_pipelines") or {}
    references += [("config.json", task["impl"]) for task in pipelines.values() if task.get("impl")]
    # "user/repo--modeling_mate.MateModel" points at another repo's code: only the module part is ours to copy.
    return [(origin, value.split("--")[-1].rsplit(".", 1)[0]) for origin, value in references]


def _auto_map_values(data: dict) -> list[str]:
    values = []
    for key, value in data.items():
        if key == "auto_map" and isinstance(value, dict):
            for entry in value.values():
                values += [item for item in (entry if isinstance(entry, list) else [entry]) if item]
        elif isinstance(value, dict):
            values += _auto_map_values(value)  # the processor nests its feature extractor's settings
    return values


def _relative_imports(source: str) -> list[str]:
    modules = []
    for module, names in _RELATIVE_IMPORT.findall(source):
        modules += [module] if module else [name.strip() for name in names.strip("()").split(",") if name.strip()]
    return modules


def _prepare_staging_dir(staging_dir: Path, model_dir: Path) -> Path:
    staging_dir = staging_dir.resolve()
    if staging_dir == model_dir or model_dir in staging_dir.parents:
        raise ValueError(f"the staging folder {staging_dir} must lie outside the model folder {model_dir}")
    if staging_dir.exists() and (not staging_dir.is_dir() or any(staging_dir.iterdir())):
        raise ValueError(f"the staging folder {staging_dir} exists and is not empty: give a new or empty folder")
    staging_dir.mkdir(parents=True, exist_ok=True)
    return staging_dir


# ---------------------------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------------------------


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
    roots = [Path(root) for root in _data_roots(model_dir)]
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


def _data_roots(model_dir: Path) -> list[str]:
    report = _read_json(model_dir / "data_report.json") or {}
    return [entry["root"] for entry in (report.get("reports") or {}).values() if entry.get("root")]


def read_sidecar_transcript(audio_path: Path) -> str | None:
    """The cleaned transcript in `<name>.txt` beside the recording (the KEMDy layout), if there is one."""
    from .data.transcripts import clean_transcript, read_transcript

    path = audio_path.with_suffix(".txt")
    if not path.is_file():
        return None
    try:
        text, _ = read_transcript(path)
    except UnicodeDecodeError as error:
        raise ValueError(f"transcript {path} is neither UTF-8 nor cp949: {error}") from error
    return clean_transcript(text) or None


def _stage_examples(paths: list[Path], staging_dir: Path) -> list[Example]:
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
    """Run the pipeline on every example (with its transcript) and keep the full result."""
    pipe = load_mate_pipeline(model_dir)
    for example in examples:
        example.result = pipe(str(example.source), transcript=example.transcript)


# ---------------------------------------------------------------------------------------------------------------
# Model card
# ---------------------------------------------------------------------------------------------------------------


def build_model_card(
    model_dir: Path,
    repo_id: str,
    examples: list[Example],
    code_files: list[str],
    template: str | Path | None = None,
) -> ModelCard:
    """The README.md: Hub metadata (YAML front matter) and the body rendered from the Jinja template."""
    import jinja2

    template_path = Path(template) if template is not None else DEFAULT_TEMPLATE
    if not template_path.is_file():
        raise ValueError(f"model card template {template_path} does not exist: pass template= (--card-template)")
    config = _read_json(model_dir / "config.json", required=True)
    facts = training_facts(model_dir, config)
    card_data = _card_data(repo_id, facts, examples)
    # StrictUndefined: a misspelt template variable fails here instead of leaving a silent gap in the card.
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    content = environment.from_string(template_path.read_text(encoding="utf-8")).render(
        card_data=card_data.to_yaml(),
        repo_id=repo_id,
        model_name=repo_id.split("/")[1],
        facts=facts,
        config=config,
        examples=[_example_row(example) for example in examples],
        code_files=code_files,
        eval_table=_eval_tables(facts),
    )
    return ModelCard(content)


@dataclass
class TrainingFacts:
    """What the card says about the data and the evaluation, read from a training folder's JSON files."""

    datasets: list[str]
    dataset_label: str
    dataset_type: str
    synthetic: bool
    role: str | None
    eval_sessions: list[str]
    train_sessions: list[str]
    split: str
    rows_used: dict[str, int]
    metrics: dict[str, float]
    setting: str


def training_facts(model_dir: Path, config: dict) -> TrainingFacts:
    report = _read_json(model_dir / "data_report.json") or {}
    corpora = report.get("reports") or {}
    results = _read_json(model_dir / "eval_results.json") or {}
    synthetic = any(_is_synthetic(entry.get("root")) for entry in corpora.values())
    names = [entry.get("corpus", key.upper()) for key, entry in corpora.items()]
    roles = sorted({entry["role"] for entry in corpora.values() if entry.get("role")})
    if synthetic:
        datasets = ["demo corpus (synthetic)"]
        label, dataset_type = f"mate-hf demo corpus (synthetic, {' + '.join(names)} format)", "mate-hf-demo-corpus"
    else:
        datasets = names
        label, dataset_type = " + ".join(names) or "unknown", "+".join(name.lower() for name in names) or "unknown"
    eval_sessions = report.get("eval_sessions") or []
    facts = TrainingFacts(
        datasets=datasets,
        dataset_label=label,
        dataset_type=dataset_type,
        synthetic=synthetic,
        role=roles[0] if len(roles) == 1 else None,
        eval_sessions=eval_sessions,
        train_sessions=report.get("train_sessions") or [],
        split=describe_sessions(eval_sessions),
        rows_used={entry.get("corpus", key): entry.get("rows_used") for key, entry in corpora.items()},
        metrics={key: float(results[f"eval_{key}"]) for key, *_ in EVAL_METRICS if f"eval_{key}" in results},
        setting="",
    )
    facts.setting = _setting(facts, config)
    return facts


def _is_synthetic(root: str | None) -> bool:
    """The bundled demo corpus says so in its manifest; its folder name tells when the manifest is elsewhere."""
    if not root:
        return False
    manifest = _read_json(Path(root).parent / "manifest.json") or {}
    return bool(manifest.get("synthetic")) or Path(root).parent.name == "demo_corpus"


def describe_sessions(sessions: list[str]) -> str:
    """["Session13", ..., "Session16"] → "sessions 13–16"; names without a number are listed as they are."""
    numbers = [int(match.group()) for name in sessions if (match := re.search(r"\d+", name))]
    if not sessions:
        return "unknown"
    if len(numbers) != len(sessions):
        return ", ".join(sessions)
    runs: list[list[int]] = []  # [first, last] of each run of consecutive session numbers
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in runs)
    return ("session " if len(set(numbers)) == 1 else "sessions ") + text


def _setting(facts: TrainingFacts, config: dict) -> str:
    """A setting label in the form of SPEC §6, e.g. "Speaker, audio+text, λ=0.66, session 5"."""
    parts = [facts.role.capitalize() if facts.role else "Speaker/listener", config.get("input_modalities", "")]
    if config.get("loss_type") == "class_balanced":
        parts.append(f"CB, λ={config.get('loss_lambda'):g}, β={config.get('class_balanced_beta'):g}")
    else:
        parts.append(f"λ={config.get('loss_lambda', 0.66):g}")
    if config.get("lstm_bidirectional"):
        parts.append("bidirectional LSTM")
    if config.get("concat_emotion") is False:
        parts.append("without emotion concat")
    return ", ".join(part for part in parts if part) + f", {facts.split}"


def _card_data(repo_id: str, facts: TrainingFacts, examples: list[Example]) -> ModelCardData:
    tags = ["emotion-recognition", "speech-emotion-recognition", "speech", "multimodal", "audio", "text"]
    tags += ["korean", "mate", "custom_code"] + (["synthetic-data", "demo"] if facts.synthetic else [])
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="audio-classification",
        language=["ko"],
        license="mit",
        datasets=facts.datasets or None,
        tags=tags,
        metrics=sorted({metric_type for key, metric_type, _ in EVAL_METRICS if key in facts.metrics}) or None,
        model_name=repo_id.split("/")[1],
        eval_results=_eval_results(facts) or None,
        widget=[_widget_entry(example) for example in examples],
    )


def _eval_results(facts: TrainingFacts) -> list[EvalResult]:
    return [
        EvalResult(
            task_type="audio-classification",
            task_name="Emotion recognition in conversation",
            dataset_type=facts.dataset_type,
            dataset_name=facts.dataset_label,
            dataset_split=facts.split,
            metric_type=metric_type,
            metric_name=name,
            metric_value=facts.metrics[key],
        )
        for key, metric_type, name in EVAL_METRICS
        if key in facts.metrics
    ]


def _widget_entry(example: Example) -> dict:
    # The widget cannot send a transcript: the title says which one the recorded output used.
    said = f" — “{example.transcript}”" if example.transcript else " (audio only)"
    return {"src": example.name, "example_title": Path(example.name).stem + said, "output": example.widget_output()}


def _example_row(example: Example) -> dict:
    result = example.result
    top = max(result["emotions"], key=lambda entry: entry["score"])
    return {
        "name": example.name,
        "transcript": example.transcript or "—",
        "emotion": top["label"],
        "score": f"{top['score']:.3f}",
        "arousal": f"{result['arousal']:.2f}",
        "valence": f"{result['valence']:.2f}",
        "modalities": result["modalities"],
    }


def _eval_tables(facts: TrainingFacts) -> dict[str, str]:
    """The SPEC §6 table, the whole-set top-k table and the standard metrics of this model, or empty strings
    without results."""
    if not facts.metrics:
        return {"paper": "", "whole_set": "", "standard": ""}

    def table(first: str, columns: tuple[tuple[str, str], ...]) -> str:
        cells = [f"{facts.metrics[key]:.3f}" if key in facts.metrics else "—" for _, key in columns]
        return _markdown_table([first, *(title for title, _ in columns)], [[facts.setting, *cells]])

    dataset = facts.datasets[0] if len(facts.datasets) == 1 else facts.dataset_label
    return {
        "paper": table(f"setting ({dataset})", PAPER_COLUMNS),
        "whole_set": table("setting", WHOLE_SET_COLUMNS),
        "standard": table("setting", STANDARD_COLUMNS),
    }


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


# ---------------------------------------------------------------------------------------------------------------
# Safety scan
# ---------------------------------------------------------------------------------------------------------------


def staged_files(staging_dir: Path) -> list[Path]:
    return sorted(path for path in Path(staging_dir).rglob("*") if path.is_file())


def scan_staged_folder(
    staging_dir: str | Path, local_paths: Sequence[str | Path] = (), secrets: Sequence[str] = ()
) -> list[Path]:
    """Refuse a folder that holds forbidden files, a Hub token or this machine's absolute paths.

    `local_paths` are scanned for besides the staging folder, the working directory, this project's folder and
    $HOME; `secrets` are literal strings (a `--token`) that must not appear either.

    Returns:
        The staged files.

    Raises:
        ValueError: naming the first offending file and what was found (never the secret itself).
    """
    staging_dir = Path(staging_dir).resolve()
    needles = _path_needles([staging_dir, Path.cwd(), REPO_ROOT, Path.home(), *local_paths])
    files = staged_files(staging_dir)
    # Files first, so the message names the file itself; then folders, for an empty `.cache/` or `checkpoint-*/`.
    for path in files + sorted(path for path in staging_dir.rglob("*") if not path.is_file()):
        _check_name(path, staging_dir)
    for path in files:
        text = _scannable_text(path, staging_dir)
        name = path.relative_to(staging_dir).as_posix()
        if TOKEN_PATTERN.search(text) or any(secret and secret in text for secret in secrets):
            raise ValueError(f"refusing to publish: {name} contains something that looks like a Hugging Face token")
        for needle, pattern in needles:
            if pattern.search(text):
                raise ValueError(f"refusing to publish: {name} contains the local absolute path {needle}")
        if match := HOME_PATTERN.search(text):
            raise ValueError(f"refusing to publish: {name} contains the local absolute path {match.group()}")
    return files


def _check_name(path: Path, root: Path) -> None:
    relative = path.relative_to(root)
    for part in relative.parts:
        if part in FORBIDDEN_NAMES or any(Path(part).match(pattern) for pattern in FORBIDDEN_PATTERNS):
            raise ValueError(f"refusing to publish: {relative.as_posix()} is a cache, pickle or training-state file")
    if path.is_symlink():
        raise ValueError(f"refusing to publish: {relative.as_posix()} is a symbolic link")


def _scannable_text(path: Path, root: Path) -> str:
    """A file's text; for safetensors its JSON header (metadata); audio is not scanned."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        header_size = int.from_bytes(data[:8], "little")
        return data[8 : 8 + header_size].decode("utf-8", errors="replace")
    if suffix in BINARY_SUFFIXES:
        return ""
    if b"\x00" in data:
        raise ValueError(f"refusing to publish: {path.relative_to(root).as_posix()} is an unexpected binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"refusing to publish: {path.relative_to(root).as_posix()} is not UTF-8 text") from error


def _path_needles(paths: Sequence[str | Path]) -> list[tuple[str, re.Pattern]]:
    """Absolute paths as patterns that match whole path components ("/root" hits "/root/x", not "/rootless")."""
    needles = {}
    for path in paths:
        for variant in {str(path), str(Path(path).resolve())}:
            if variant not in ("/", "/tmp", "") and Path(variant).is_absolute():
                needles[variant] = re.compile(re.escape(variant) + r"(?![\w.-])")
    # Longest first, so the message names the most specific path.
    return sorted(needles.items(), key=lambda item: -len(item[0]))


# ---------------------------------------------------------------------------------------------------------------
# Checking the staged folder as a Hub user would load it, and uploading it
# ---------------------------------------------------------------------------------------------------------------

_VERIFY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["mate_hf"] = None  # as for a user who never installed mate-hf: `import mate_hf` fails
    from transformers import AutoModel, AutoProcessor, pipeline
    folder, examples = sys.argv[1], json.loads(sys.argv[2])
    AutoModel.from_pretrained(folder, trust_remote_code=True)
    AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    pipe = pipeline(model=folder, trust_remote_code=True)
    if type(pipe).__module__.startswith("mate_hf"):
        raise SystemExit("the pipeline came from the installed package, not from the folder's code")
    results = [pipe(folder + "/" + name, transcript=text) for name, text in examples]
    print("MATE-RESULTS " + json.dumps(results))
    """
)


def verify_staged(staging_dir: str | Path, timeout: float = 600) -> list[dict]:
    """Load the staged folder with `trust_remote_code=True` in a fresh Python where `mate_hf` cannot be imported,
    run its pipeline on every widget example, and check the results against the card's recorded outputs.

    Returns:
        The pipeline results, one per widget example.

    Raises:
        ValueError: the folder does not load without the package, or gives other outputs than the card records.
    """
    staging_dir = Path(staging_dir).resolve()
    widget = ModelCard.load(staging_dir / "README.md").data.to_dict().get("widget") or []
    examples = [(entry["src"], _staged_transcript(staging_dir / entry["src"])) for entry in widget]
    run = subprocess.run(
        [sys.executable, "-c", _VERIFY_SCRIPT, str(staging_dir), json.dumps(examples)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=staging_dir,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("MATE-RESULTS ")]
    if run.returncode != 0 or not lines:
        raise ValueError(f"{staging_dir} does not load without mate_hf installed:\n{run.stderr[-3000:]}")
    results = json.loads(lines[-1].removeprefix("MATE-RESULTS "))
    for entry, result in zip(widget, results):
        if not outputs_agree(entry["output"], result):
            raise ValueError(
                f"README.md records {entry['output']} for {entry['src']}, but the staged folder gives "
                f"{widget_output(result)}"
            )
    return results


def outputs_agree(recorded: list[dict], result: dict) -> bool:
    """Whether a pipeline result gives every recorded label the recorded (rounded) score.

    Compared label by label, not by rank: near-equal scores may swap ranks between two processes.
    """
    scores = {entry["label"]: entry["score"] for entry in result["emotions"]}
    tolerance = 0.5 * 10**-WIDGET_DECIMALS + 1e-6
    return all(
        entry["label"] in scores and abs(scores[entry["label"]] - entry["score"]) <= tolerance for entry in recorded
    )


def _staged_transcript(audio_path: Path) -> str | None:
    path = audio_path.with_suffix(".txt")
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def upload(staging_dir: str | Path, repo_id: str, token: str | None = None, private: bool = False) -> CommitInfo:
    """Create (or reuse) the model repo and add every staged file in one commit.

    The folder is scanned again first (it may have been edited since `stage`). `token=None` lets huggingface_hub
    find the token (`HF_TOKEN`, `hf auth login`). `private=False` leaves the visibility to the Hub's default (an
    existing repo keeps its own).
    """
    check_repo_id(repo_id)
    staging_dir = Path(staging_dir).resolve()
    files = scan_staged_folder(staging_dir, secrets=[token] if token else [])
    if not (staging_dir / "README.md").is_file():
        raise ValueError(f"{staging_dir} has no README.md: stage it with `mate-hf publish --dry-run` first")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=True if private else None, exist_ok=True)
    operations = [
        CommitOperationAdd(path_in_repo=path.relative_to(staging_dir).as_posix(), path_or_fileobj=str(path))
        for path in files
    ]
    return api.create_commit(
        repo_id,
        operations,
        commit_message="Upload MATE model (mate-hf publish)",
        repo_type="model",
    )
