#!/usr/bin/env python
"""Run one MATE experiment: several settings, each on every session fold (`cv`) or on one validation split
(`sweep`), then write the tables and plots of `report.py`.

    python training/cross_validate.py training/configs/experiments/demo_modalities.yaml
    python training/cross_validate.py training/configs/experiments/kemdy19_speaker_cv.yaml \
        --kemdy19_dir /data/KEMDy19 --output_dir runs/speaker-cv

An experiment file (YAML) names a base run config and the settings to compare:

    name: demo_modalities     # the title of results.md (default: the file's stem)
    base: ../demo.yaml        # a training/run.py config; a path relative to this file, or a mapping
    mode: cv                  # cv: every session fold; sweep: one split (eval_sessions), best setting chosen
    folds: [0, 1, 2, 3, 4]    # cv: the folds to run (default: all `num_folds` of the base)
    eval_sessions: 13-16      # sweep: the held-out sessions (default 13-16, the paper's step 1)
    select_by: f1_at_1_batch64  # sweep: the eval metric that picks the best setting (higher is better); the
                                # default, F1@1 per batch of 64, is the published F1 that chose λ and β
    output_dir: outputs/experiments/demo_modalities
    overrides: {num_train_epochs: 10}      # run arguments for every setting (optional)
    settings:                 # name → run arguments that override the base; the name is a folder name
      audio+text: {input_modalities: audio+text}
      audio: {input_modalities: audio}
    grid:                     # optional: every setting × every combination of these values
      loss_lambda: [0.5, 0.66, 0.75, 0.8]

Run arguments are those of `training/run.py` (see `parse_arguments`). Precedence, lowest first: base, `overrides`,
the command line, the setting (a setting is what the experiment compares, so the command line cannot erase it; a
clash is logged). `config_overrides` (a JSON string or a mapping) is merged key by key at every level instead of
replaced; a value `null` removes an argument. `fold`, `eval_sessions` and `output_dir` of the base are replaced
by each run's split and folder.

Command-line arguments after the YAML: `--output_dir DIR`, `--mode cv|sweep`, `--folds 0,2`, `--settings a,b`
(run only those), `--eval_sessions 13-16`, `--select_by METRIC` and `--rerun` belong to the experiment; any other
`--name value` (e.g. `--kemdy19_dir /data/KEMDy19`, `--num_train_epochs 60`) goes to every run.

Output: `<output_dir>/<setting>/<split>/` run folders (`fold<k>` or `eval<sessions>`, each written by
`training/run.py`'s `run()` plus `cv_run.json`), `experiment.json`, and `report.py`'s `results.json`,
`results.md` and plots. A run folder whose `cv_run.json` records the same arguments is reused (resume after an
interruption); `--rerun` trains it again.
"""

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

import yaml
from transformers import set_seed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DEFAULT_SELECT_BY, write_report  # noqa: E402
from run import parse_arguments, run  # noqa: E402

logger = logging.getLogger("cross_validate")

MODES = ("cv", "sweep")
EXPERIMENT_FILE_KEYS = {
    "name",
    "base",
    "mode",
    "folds",
    "eval_sessions",
    "select_by",
    "output_dir",
    "overrides",
    "settings",
    "grid",
}
# Experiment-level command-line options; every other option goes to the runs.
COMMAND_LINE_KEYS = {"output_dir", "mode", "folds", "settings", "eval_sessions", "select_by", "rerun"}
# Set per run from its split and folder; a setting may not change them.
SPLIT_KEYS = ("fold", "eval_sessions", "output_dir")
SETTING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,-]*$")
SHORT_GRID_NAMES = {"loss_lambda": "lambda", "class_balanced_beta": "beta"}
RUN_RECORD = "cv_run.json"


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
    settings: dict[str, dict[str, Any]]  # setting name → complete run arguments (without split and folder)
    splits: list[Split]

    def describe(self) -> dict[str, Any]:
        """The JSON-ready plan, written to `experiment.json` and read back by `report.py`."""
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


def parse_command_line(tokens: list[str]) -> dict[str, Any]:
    """`--name value`, `--name=value`, `--name v1 v2` (a list) and a bare `--flag` (True) → a mapping."""
    parsed: dict[str, list[str]] = {}
    name = None
    for token in tokens:
        if token.startswith("--"):
            name, has_value, value = token[2:].partition("=")
            parsed[name] = [value] if has_value else []
        elif name is None:
            raise ValueError(f"unexpected argument {token!r}: after the experiment file, give --name value pairs")
        else:
            parsed[name].append(token)
    return {key: True if not values else values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _config_overrides(value: Any) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"config_overrides must be a JSON object or a mapping, got {value!r}")
    return value


def _merge_nested(low: dict, high: dict) -> dict:
    merged = dict(low)
    for key, value in high.items():
        merged[key] = (
            _merge_nested(merged[key], value)
            if isinstance(merged.get(key), dict) and isinstance(value, dict)
            else value
        )
    return merged


def merge_arguments(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; `config_overrides` is merged key by key (nested mappings too); `None` drops a key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "config_overrides" and value is not None:
                merged[key] = _merge_nested(_config_overrides(merged.get(key)), _config_overrides(value))
            else:
                merged[key] = value
    return {key: value for key, value in merged.items() if value is not None}


def to_argv(arguments: dict[str, Any]) -> list[str]:
    """Run arguments → the command line `training/run.py` parses (sorted, so equal arguments give equal argv)."""
    argv = []
    for key in sorted(arguments):
        value = arguments[key]
        if isinstance(value, bool):
            values = ["true" if value else "false"]
        elif isinstance(value, dict):
            values = [json.dumps(value, sort_keys=True)]
        elif isinstance(value, (list, tuple)):
            values = [str(item) for item in value]
        else:
            values = [str(value)]
        argv += [f"--{key}", *values]
    return argv


def expand_grid(settings: dict[str, dict], grid: dict[str, list] | None) -> dict[str, dict]:
    """Every setting × every combination of the grid's values, named `<setting>,lambda=0.5,beta=0.9`."""
    if not grid:
        return settings
    keys = list(grid)
    expanded = {}
    for name, arguments in (settings or {"": {}}).items():
        for values in itertools.product(*(grid[key] for key in keys)):
            label = ",".join(f"{SHORT_GRID_NAMES.get(key, key)}={value}" for key, value in zip(keys, values))
            expanded[f"{name},{label}" if name else label] = {**arguments, **dict(zip(keys, values))}
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
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a mapping of run arguments")
    return settings, str(path)


def load_experiment(path: str | Path, command_line: dict[str, Any] | None = None) -> Experiment:
    """Read an experiment file, apply the command line and resolve every setting's run arguments."""
    path = Path(path)
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise ValueError(f"{path} must hold a mapping (see training/cross_validate.py)")
    unknown = set(spec) - EXPERIMENT_FILE_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(EXPERIMENT_FILE_KEYS)}")
    command_line = dict(command_line or {})
    experiment_options = {key: command_line.pop(key) for key in list(command_line) if key in COMMAND_LINE_KEYS}
    only_settings = experiment_options.pop("settings", None)
    spec = {**spec, **experiment_options}

    mode = spec.get("mode", "cv")
    if mode not in MODES:
        raise ValueError(f"{path}: mode must be one of {MODES}, got {mode!r}")
    if "fold" in command_line:
        raise ValueError("--fold is not a per-experiment option: use --folds 0,2")
    base, base_source = _load_base(spec.get("base", {}), path)
    base = {key: value for key, value in base.items() if key not in SPLIT_KEYS}
    common = merge_arguments(base, spec.get("overrides") or {}, command_line)

    raw_settings = expand_grid(spec.get("settings") or {}, spec.get("grid"))
    if not raw_settings:
        raise ValueError(f"{path}: no settings (give 'settings', 'grid' or both)")
    if only_settings:
        wanted = _as_list(only_settings)
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
        ignored = sorted(key for key in set(arguments) & set(command_line) if key != "config_overrides")
        if ignored:
            logger.warning("setting %s keeps its own %s over the command line", name, ", ".join(ignored))
        settings[name] = merge_arguments(common, arguments)

    if mode == "cv":
        if "eval_sessions" in spec:
            raise ValueError("eval_sessions belongs to mode sweep; mode cv runs the session folds")
        num_folds = int(common.get("num_folds", 5))
        folds = [int(fold) for fold in _as_list(spec["folds"])] if "folds" in spec else list(range(num_folds))
        bad = [fold for fold in folds if not 0 <= fold < num_folds]
        if bad:
            raise ValueError(f"folds {bad} outside 0..{num_folds - 1}")
        splits = [Split(f"fold{fold}", fold=fold) for fold in folds]
    else:
        eval_sessions = str(spec.get("eval_sessions", "13-16")).replace(" ", "")
        splits = [Split(f"eval{eval_sessions}", eval_sessions=eval_sessions)]

    output_dir = spec.get("output_dir") or f"outputs/experiments/{path.stem}"
    return Experiment(
        name=str(spec.get("name", path.stem)),
        source=str(path),
        base=base_source,
        mode=mode,
        output_dir=Path(output_dir),
        select_by=str(spec.get("select_by", DEFAULT_SELECT_BY)),
        settings=settings,
        splits=splits,
    )


def check_experiment(experiment: Experiment) -> None:
    """Fail before any training: every run's arguments parse, every corpus folder exists."""
    for name, arguments in experiment.settings.items():
        for key in ("kemdy19_dir", "kemdy20_dir"):
            folder = arguments.get(key)
            if folder and not Path(folder).is_dir():
                raise FileNotFoundError(
                    f"setting {name!r}: {key} {folder!r} is not a folder; pass --{key} /path/to/corpus"
                )
        for split in experiment.splits:
            parse_arguments(run_argv(experiment, name, split))


def run_folder(experiment: Experiment, setting: str, split: Split) -> Path:
    return experiment.output_dir / setting / split.name


def run_argv(experiment: Experiment, setting: str, split: Split) -> list[str]:
    folder = {"output_dir": str(run_folder(experiment, setting, split))}
    return to_argv({**experiment.settings[setting], **split.arguments(), **folder})


def _argv_pairs(argv: list[str]) -> dict[str, str]:
    pairs, name = {}, None
    for token in argv:
        if token.startswith("--"):
            name = token[2:]
            pairs[name] = ""
        else:
            pairs[name] = f"{pairs[name]} {token}".strip()
    return pairs


def _finished(folder: Path, argv: list[str]) -> bool:
    """Whether `folder` holds a finished run of exactly `argv`; a finished run of other arguments is logged."""
    record = folder / RUN_RECORD
    if not (record.is_file() and (folder / "eval_results.json").is_file()):
        return False
    previous = json.loads(record.read_text(encoding="utf-8")).get("argv")
    if previous == argv:
        return True
    old, new = _argv_pairs(previous or []), _argv_pairs(argv)
    changed = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    logger.warning("%s holds a run with other arguments (%s): training it again", folder, ", ".join(changed))
    return False


def run_one(experiment: Experiment, setting: str, split: Split, rerun: bool = False) -> dict:
    """Train and evaluate one setting on one split (in this process), or reuse the finished folder."""
    folder = run_folder(experiment, setting, split)
    argv = run_argv(experiment, setting, split)
    if not rerun and _finished(folder, argv):
        logger.info("%s / %s: finished before, reusing %s", setting, split.name, folder)
        return json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    logger.info("%s / %s: training into %s", setting, split.name, folder)
    (folder / RUN_RECORD).unlink(missing_ok=True)
    model_args, data_args, training_args = parse_arguments(argv)
    set_seed(training_args.seed)
    start = time.perf_counter()
    metrics = run(model_args, data_args, training_args)
    record = {
        "setting": setting,
        "split": split.name,
        "fold": split.fold,
        "eval_sessions": split.eval_sessions,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "argv": argv,
        "metrics": metrics,
    }
    (folder / RUN_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    gc.collect()
    return record


def run_experiment(experiment: Experiment, rerun: bool = False) -> dict:
    """Every setting on every split (setting by setting), then `report.write_report` over the output folder."""
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
        raise SystemExit("usage: python training/cross_validate.py EXPERIMENT.yaml [--name value ...]")
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


if __name__ == "__main__":
    main()
