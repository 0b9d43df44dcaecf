"""One MATE experiment (`training/cross_validate.py`): several settings, each on every session fold (`cv`) or on
one validation split (`sweep`), then the tables and plots of `mate_hf.experiments.report`.

An experiment file (YAML) names a base run config and the settings to compare:

    name: demo_modalities     # the title of results.md (default: the file's stem)
    base: ../demo.yaml        # a run config; a path relative to this file, or a mapping
    mode: cv                  # cv: every session fold; sweep: one split (eval_sessions), best setting chosen
    folds: [0, 1, 2, 3, 4]    # cv: the folds to run (default: all `num_folds` of the base)
    eval_sessions: 13-16      # sweep: the held-out sessions (default 13-16, the paper's step 1)
    select_by: f1_at_1_batch64  # sweep: the eval metric that picks the best setting (higher is better)
    output_dir: outputs/experiments/demo_modalities
    overrides: {num_train_epochs: 10}      # run settings for every setting (optional)
    settings:                 # name → run settings over the base; the name is a folder name
      audio+text: {model: {modalities: audio+text}}
      audio: {model: {modalities: audio}}
    grid:                     # optional: every setting × every combination of these values
      model.loss_lambda: [0.5, 0.66, 0.75, 0.8]

Run settings are those of a run config (`mate_hf.experiments.arguments`): run arguments at the top level, model
settings in the mapping `model`. Precedence, lowest first: base, `overrides`, the command line, the setting (a
setting is what the experiment compares, so the command line cannot erase it; a clash is logged). `model` is
merged key by key at every level; a value `null` removes a setting. `fold`, `eval_sessions` and `output_dir` of the
base are replaced by each run's split and folder.

Command-line options after the experiment file: `--output_dir DIR`, `--mode cv|sweep`, `--folds 0,2`,
`--settings a,b` (run only those), `--eval_sessions 13-16`, `--select_by METRIC` and `--rerun` belong to the
experiment; any other `--name value` or `--model.name value` goes to every run.

Output: `<output_dir>/<setting>/<split>/` run folders (`fold<k>` or `eval<sessions>`, each written by the recipe plus
`cv_run.json`), `experiment.json`, and the report's `results.json`, `results.md` and plots. A run folder whose
`cv_run.json` records the same settings is reused (resume after an interruption); `--rerun` trains it again.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import set_seed

from ..results import DEFAULT_SELECT_BY
from .arguments import MODEL_KEY, merge_settings, parse_command_line, read_config_file, run_arguments
from .recipe import run
from .report import RUN_RECORD, write_report

logger = logging.getLogger(__name__)

MODES = ("cv", "sweep")
EXPERIMENT_FILE_KEYS = {"name", "base", "mode", "folds", "eval_sessions", "select_by", "output_dir"}
EXPERIMENT_FILE_KEYS |= {"overrides", "settings", "grid"}
# Experiment-level command-line options; every other option goes to the runs.
COMMAND_LINE_KEYS = {"output_dir", "mode", "folds", "settings", "eval_sessions", "select_by", "rerun"}
# Set per run from its split and folder; a setting may not change them.
SPLIT_KEYS = ("fold", "eval_sessions", "output_dir")
SETTING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,-]*$")
SHORT_GRID_NAMES = {"loss_lambda": "lambda", "class_balanced_beta": "beta"}


@dataclass(frozen=True)
class Split:
    """One train/eval division: a session fold (`cv`) or explicit evaluation sessions (`sweep`)."""

    name: str
    fold: int | None = None
    eval_sessions: str | None = None

    def arguments(self) -> dict[str, Any]:
        return {"fold": self.fold} if self.fold is not None else {"eval_sessions": self.eval_sessions}


@dataclass
class Experiment:
    name: str
    source: str
    base: str
    mode: str
    output_dir: Path
    select_by: str
    settings: dict[str, dict[str, Any]]  # setting name → complete run settings (without split and folder)
    splits: list[Split]

    def describe(self) -> dict[str, Any]:
        """The JSON-ready plan, written to `experiment.json` and read back by the report."""
        return {
            "name": self.name,
            "source": self.source,
            "base": self.base,
            "mode": self.mode,
            "select_by": self.select_by,
            "settings": list(self.settings),
            "splits": [split.name for split in self.splits],
            "arguments": self.settings,
        }


def nested_setting(key: str, value: Any) -> dict[str, Any]:
    """`("model.loss_lambda", 0.5)` → `{"model": {"loss_lambda": 0.5}}`; an undotted key stays at the top."""
    prefix, dot, name = key.partition(".")
    if dot and prefix != MODEL_KEY:
        raise ValueError(f"grid key {key!r}: only model settings are dotted (model.{name})")
    return {MODEL_KEY: {name: value}} if dot else {key: value}


def expand_grid(settings: dict[str, dict], grid: dict[str, list] | None) -> dict[str, dict]:
    """Every setting × every combination of the grid's values, named `<setting>,lambda=0.5,beta=0.9`."""
    if not grid:
        return settings
    keys = list(grid)
    expanded = {}
    for name, arguments in (settings or {"": {}}).items():
        for values in itertools.product(*(grid[key] for key in keys)):
            short = [SHORT_GRID_NAMES.get(key.rpartition(".")[2], key) for key in keys]
            label = ",".join(f"{key}={value}" for key, value in zip(short, values))
            layers = [nested_setting(key, value) for key, value in zip(keys, values)]
            expanded[f"{name},{label}" if name else label] = merge_settings(arguments or {}, *layers)
    return expanded


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]


def _load_base(base: Any, experiment_file: Path) -> tuple[dict, str]:
    if isinstance(base, dict):
        return base, "inline"
    if not isinstance(base, str):
        raise ValueError(f"{experiment_file}: 'base' must be a run config path or a mapping")
    path = Path(base)
    if not path.is_absolute():
        path = experiment_file.parent / path
    return read_config_file(path), str(path)


def _split_plan(path: Path, spec: dict, common: dict) -> list[Split]:
    if spec.get("mode", "cv") == "sweep":
        eval_sessions = str(spec.get("eval_sessions", "13-16")).replace(" ", "")
        return [Split(f"eval{eval_sessions}", eval_sessions=eval_sessions)]
    if "eval_sessions" in spec:
        raise ValueError(f"{path}: eval_sessions belongs to mode sweep; mode cv runs the session folds")
    num_folds = int(common.get("num_folds", 5))
    folds = [int(fold) for fold in _as_list(spec["folds"])] if "folds" in spec else list(range(num_folds))
    bad = [fold for fold in folds if not 0 <= fold < num_folds]
    if bad:
        raise ValueError(f"{path}: folds {bad} outside 0..{num_folds - 1}")
    return [Split(f"fold{fold}", fold=fold) for fold in folds]


def _settings(spec: dict, common: dict, command_line: dict, only: Any) -> dict[str, dict]:
    raw_settings = expand_grid(spec.get("settings") or {}, spec.get("grid"))
    if not raw_settings:
        raise ValueError("no settings (give 'settings', 'grid' or both)")
    if only:
        wanted = _as_list(only)
        missing = [name for name in wanted if name not in raw_settings]
        if missing:
            raise ValueError(f"--settings {missing} not in the experiment (it has {list(raw_settings)})")
        raw_settings = {name: raw_settings[name] for name in wanted}
    settings = {}
    for name, arguments in raw_settings.items():
        if not SETTING_NAME.match(name):
            raise ValueError(f"setting name {name!r} must be a plain folder name (letters, digits, . _ + = , -)")
        arguments = arguments or {}
        clash = sorted(set(arguments) & set(SPLIT_KEYS))
        if clash:
            raise ValueError(f"setting {name!r} sets {clash}: the experiment decides splits and folders")
        ignored = sorted(key for key in set(arguments) & set(command_line) if key != MODEL_KEY)
        if ignored:
            logger.warning("setting %s keeps its own %s over the command line", name, ", ".join(ignored))
        settings[name] = merge_settings(common, arguments)
    return settings


def load_experiment(path: str | Path, command_line: dict[str, Any] | None = None) -> Experiment:
    """Read an experiment file, apply the command line and resolve every setting's run settings."""
    path = Path(path)
    spec = read_config_file(path)
    unknown = set(spec) - EXPERIMENT_FILE_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(EXPERIMENT_FILE_KEYS)}")
    command_line = dict(command_line or {})
    experiment_options = {key: command_line.pop(key) for key in list(command_line) if key in COMMAND_LINE_KEYS}
    only_settings = experiment_options.pop("settings", None)
    spec = {**spec, **experiment_options}
    if spec.get("mode", "cv") not in MODES:
        raise ValueError(f"{path}: mode must be one of {MODES}, got {spec.get('mode')!r}")
    if "fold" in command_line:
        raise ValueError("--fold is not a per-experiment option: use --folds 0,2")
    base, base_source = _load_base(spec.get("base", {}), path)
    base = {key: value for key, value in base.items() if key not in SPLIT_KEYS}
    common = merge_settings(base, spec.get("overrides") or {}, command_line)
    try:
        settings = _settings(spec, common, command_line, only_settings)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    return Experiment(
        name=str(spec.get("name", path.stem)),
        source=str(path),
        base=base_source,
        mode=spec.get("mode", "cv"),
        output_dir=Path(spec.get("output_dir") or f"outputs/experiments/{path.stem}"),
        select_by=str(spec.get("select_by", DEFAULT_SELECT_BY)),
        settings=settings,
        splits=_split_plan(path, spec, common),
    )


def check_experiment(experiment: Experiment) -> None:
    """Fail before any training: every run's settings parse, every corpus folder exists."""
    for name, arguments in experiment.settings.items():
        for key in ("kemdy19_dir", "kemdy20_dir"):
            folder = arguments.get(key)
            if folder and not Path(folder).is_dir():
                raise FileNotFoundError(
                    f"setting {name!r}: {key} {folder!r} is not a folder; pass --{key} /path/to/corpus"
                )
        for split in experiment.splits:
            run_arguments(run_settings(experiment, name, split), source=f"setting {name!r}")


def run_folder(experiment: Experiment, setting: str, split: Split) -> Path:
    return experiment.output_dir / setting / split.name


def run_settings(experiment: Experiment, setting: str, split: Split) -> dict[str, Any]:
    """The complete settings of one run: the setting's, its split and its folder."""
    folder = {"output_dir": str(run_folder(experiment, setting, split))}
    return {**experiment.settings[setting], **split.arguments(), **folder}


def _finished(folder: Path, settings: dict[str, Any]) -> bool:
    """Whether `folder` holds a finished run of exactly `settings`; a finished run of others is logged."""
    record = folder / RUN_RECORD
    if not (record.is_file() and (folder / "eval_results.json").is_file()):
        return False
    previous = json.loads(record.read_text(encoding="utf-8")).get("settings") or {}
    if previous == settings:
        return True
    changed = sorted(key for key in previous.keys() | settings.keys() if previous.get(key) != settings.get(key))
    logger.warning("%s holds a run with other settings (%s): training it again", folder, ", ".join(changed))
    return False


def run_one(experiment: Experiment, setting: str, split: Split, rerun: bool = False) -> dict:
    """Train and evaluate one setting on one split (in this process), or reuse the finished folder."""
    folder = run_folder(experiment, setting, split)
    # Through JSON, as the record stores them: tuples become lists, so a reloaded record compares equal.
    settings = json.loads(json.dumps(run_settings(experiment, setting, split)))
    if not rerun and _finished(folder, settings):
        logger.info("%s / %s: finished before, reusing %s", setting, split.name, folder)
        return json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    logger.info("%s / %s: training into %s", setting, split.name, folder)
    (folder / RUN_RECORD).unlink(missing_ok=True)
    arguments = run_arguments(settings, source=f"setting {setting!r}")
    set_seed(arguments.training.seed)
    start = time.perf_counter()
    metrics = run(arguments)
    record = {
        "setting": setting,
        "split": split.name,
        "fold": split.fold,
        "eval_sessions": split.eval_sessions,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "settings": settings,
        "metrics": metrics,
    }
    (folder / RUN_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    gc.collect()
    return record


def run_experiment(experiment: Experiment, rerun: bool = False) -> dict:
    """Every setting on every split (setting by setting), then `write_report` over the output folder."""
    check_experiment(experiment)
    experiment.output_dir.mkdir(parents=True, exist_ok=True)
    (experiment.output_dir / "experiment.json").write_text(
        json.dumps(experiment.describe(), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    total = len(experiment.settings) * len(experiment.splits)
    start = time.perf_counter()
    for index, (setting, split) in enumerate(itertools.product(experiment.settings, experiment.splits), 1):
        logger.info("run %d/%d (%.0f s so far)", index, total, time.perf_counter() - start)
        run_one(experiment, setting, split, rerun=rerun)
    logger.info("%d runs in %.0f s; writing the report", total, time.perf_counter() - start)
    return write_report(experiment.output_dir)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or not argv[0].endswith((".yaml", ".yml")):
        usage = "usage: python training/cross_validate.py EXPERIMENT.yaml [--name value ...] [--model.name value ...]"
        raise SystemExit(f"{usage}\n\n{__doc__}")
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=logging.INFO,
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    command_line = parse_command_line(argv[1:])
    rerun = str(command_line.pop("rerun", False)).lower() in ("true", "1", "yes")
    experiment = load_experiment(argv[0], command_line)
    results = run_experiment(experiment, rerun=rerun)
    print((experiment.output_dir / "results.md").read_text(encoding="utf-8"))
    return results
