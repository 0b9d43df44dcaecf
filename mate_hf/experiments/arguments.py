"""The arguments of a training run, read from a run config (YAML or JSON) and the command line.

A run config is a mapping: the fields of `ModelArguments`, `DataArguments` and `MateTrainingArguments` at the top
level, and the model's settings as the mapping `model`, handed to `MateConfig` as they are:

    kemdy19_dir: demo_corpus/KEMDy19
    num_train_epochs: 20
    model:
      modalities: audio+text
      lstm_hidden_size: 128
      text_config: {hidden_size: 128, num_hidden_layers: 2}

On the command line, after the file: `--num_train_epochs 3` for a run argument, `--model.lstm_hidden_size 64` for a
model setting (its value read as YAML, so `--model.audio_conv_channels "[4, 6, 4, 1]"` is a list).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from ..configuration_mate import DEPRECATED_MODALITIES_NAME, MateConfig
from ..trainer import MateTrainingArguments

logger = logging.getLogger(__name__)

MODEL_KEY = "model"
# Written before model settings were a mapping: a JSON string of MateConfig settings.
DEPRECATED_CONFIG_OVERRIDES = "config_overrides"
CONFIG_FILE_SUFFIXES = (".yaml", ".yml", ".json")
# Renamed MateConfig settings that MateConfig still reads (with a FutureWarning of its own).
RENAMED_MODEL_SETTINGS = {DEPRECATED_MODALITIES_NAME}


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "A saved MATE folder or Hub id to start from (config, weights, processor)."}
    )
    text_encoder: str | None = field(
        default=None,
        metadata={
            "help": "BERT-family folder or Hub id whose weights and tokenizer start the text encoder: "
            "skt/kobert-base-v1 or monologg/kobert (KoBERT, the authors'), snunlp/KR-BERT-char16424 (KR-BERT). Without "
            "it the text encoder is randomly initialised and a character vocabulary is built from the corpus "
            "transcripts (offline)."
        },
    )


@dataclass
class DataArguments:
    kemdy19_dir: str | None = field(default=None, metadata={"help": "Root of KEMDy19 (annotation/, wav/)."})
    kemdy20_dir: str | None = field(default=None, metadata={"help": "Root of KEMDy20; with kemdy19_dir, both."})
    role: str = field(default="speaker", metadata={"help": "speaker or listener (KEMDy19; KEMDy20 has speaker only)."})
    fold: int | None = field(default=None, metadata={"help": "Evaluate on this session fold (0-4); train on the rest."})
    num_folds: int = field(default=5, metadata={"help": "Session folds of the corpus."})
    eval_sessions: str | None = field(
        default=None, metadata={"help": "Held-out sessions instead of a fold, e.g. '13-16' (the paper's step 1)."}
    )
    max_targets_per_chunk: int = field(
        default=32,
        metadata={
            "help": "Dialogues are cut into samples of this many target utterances, each with the context_window - 1 "
            "utterances before its first target. 1: a sample is one window (a target and its 7 predecessors), the "
            "authors' recipe."
        },
    )
    cache_audio_features: bool = field(
        default=True,
        metadata={
            "help": "Compute each clip's whole log-mel once instead of every epoch; a batch cuts a clip longer than "
            "max_duration to its window of frames, at a random offset in training (drawn from the seed, the epoch "
            "and the segment id), centred in evaluation. false: every batch decodes its audio and cuts in samples."
        },
    )
    strict: bool = field(default=False, metadata={"help": "Fail on the first data anomaly instead of skipping it."})


@dataclass
class RunArguments:
    """Everything one training run needs: the three argument dataclasses and the model's settings."""

    model: ModelArguments
    data: DataArguments
    training: MateTrainingArguments
    model_settings: dict[str, Any]  # MateConfig keyword arguments (the run config's `model` mapping)


ARGUMENT_CLASSES = (ModelArguments, DataArguments, MateTrainingArguments)


def argument_names() -> set[str]:
    return {item.name for cls in ARGUMENT_CLASSES for item in dataclasses.fields(cls) if item.init}


def model_setting_names() -> set[str]:
    return {item.name for item in dataclasses.fields(MateConfig)}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file holding a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        settings = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a mapping of settings, not {type(settings).__name__}")
    return settings


def parse_command_line(tokens: list[str]) -> dict[str, Any]:
    """`--name value`, `--name=value`, `--name v1 v2` (a list) and a bare `--flag` (True) → a mapping; a dotted
    `--model.name value` becomes `{"model": {"name": value}}`, the value read as YAML."""
    parsed: dict[str, list[str]] = {}
    name = None
    for token in tokens:
        if token.startswith("--"):
            name, has_value, value = token[2:].partition("=")
            parsed[name] = [value] if has_value else []
        elif name is None:
            raise ValueError(f"unexpected argument {token!r}: give --name value pairs")
        else:
            parsed[name].append(token)
    settings: dict[str, Any] = {}
    for key, values in parsed.items():
        prefix, dot, setting = key.partition(".")
        if dot and prefix == MODEL_KEY:
            items = [yaml.safe_load(value) for value in values]
            settings.setdefault(MODEL_KEY, {})[setting] = True if not items else items[0] if len(items) == 1 else items
        elif dot:
            raise ValueError(f"--{key}: only model settings are dotted (--model.{setting})")
        else:
            settings[key] = True if not values else values[0] if len(values) == 1 else values
    return settings


def merge_settings(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; the `model` mapping is merged key by key (nested mappings too); `None` drops a key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge_nested(merged, upgrade_settings(layer))
    return _drop_none(merged)


def _merge_nested(low: dict, high: dict) -> dict:
    merged = dict(low)
    for key, value in high.items():
        both_mappings = isinstance(merged.get(key), dict) and isinstance(value, dict)
        merged[key] = _merge_nested(merged[key], value) if both_mappings else value
    return merged


def _drop_none(settings: dict) -> dict:
    return {
        key: _drop_none(value) if isinstance(value, dict) else value
        for key, value in settings.items()
        if value is not None
    }


def upgrade_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings written in an older form, moved into `model` with a FutureWarning: a `config_overrides` JSON string,
    and model settings given at the top level (e.g. `loss_lambda: 0.75` instead of `model: {loss_lambda: 0.75}`)."""
    settings = dict(settings)
    model = dict(settings.get(MODEL_KEY) or {})
    legacy = settings.pop(DEPRECATED_CONFIG_OVERRIDES, None)
    if legacy:
        _warn_moved(DEPRECATED_CONFIG_OVERRIDES, "the mapping `model` (YAML) or --model.NAME VALUE")
        model = _merge_nested(json.loads(legacy) if isinstance(legacy, str) else dict(legacy), model)
    for key in sorted(set(settings) & model_setting_names() - argument_names()):
        _warn_moved(key, f"model.{key}")
        model.setdefault(key, settings.pop(key))
    if model:
        settings[MODEL_KEY] = model
    return settings


def _warn_moved(old: str, new: str) -> None:
    warnings.warn(f"the run setting {old!r} is deprecated: write {new}", FutureWarning, stacklevel=3)


def check_model_settings(model_settings: dict[str, Any], source: str) -> None:
    """Fail on a model setting MateConfig does not have, naming it and where it came from."""
    unknown = sorted(set(model_settings) - model_setting_names() - RENAMED_MODEL_SETTINGS)
    if unknown:
        raise ValueError(f"{source}: unknown model settings {unknown}; MateConfig has {sorted(model_setting_names())}")


def to_argv(settings: dict[str, Any]) -> list[str]:
    """Run arguments (no `model`) → the command line HfArgumentParser reads (sorted: equal settings, equal argv)."""
    argv = []
    for key in sorted(settings):
        value = settings[key]
        if isinstance(value, bool):
            values = ["true" if value else "false"]
        elif isinstance(value, (list, tuple)):
            values = [str(item) for item in value]
        else:
            values = [str(value)]
        argv += [f"--{key}", *values]
    return argv


def run_arguments(settings: dict[str, Any], source: str = "the run settings") -> RunArguments:
    """Run settings (a run config's mapping, merged) → the parsed arguments; an unknown name fails, naming it."""
    settings = upgrade_settings(settings)
    model_settings = settings.pop(MODEL_KEY, None) or {}
    if not isinstance(model_settings, dict):
        raise ValueError(f"{source}: `model` must be a mapping of MateConfig settings, got {model_settings!r}")
    check_model_settings(model_settings, source)
    unknown = sorted(set(settings) - argument_names())
    if unknown:
        raise ValueError(f"{source}: unknown run arguments {unknown} (see `python training/run.py --help`)")
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=to_argv(settings))
    return RunArguments(model_args, data_args, training_args, model_settings)


def parse_run_arguments(argv: list[str]) -> RunArguments:
    """A run config file as the first argument (optional), then command-line settings that override it."""
    if argv and argv[0] in ("-h", "--help"):
        usage = "training/run.py [RUN_CONFIG.yaml] [--name value ...] [--model.name value ...]"
        epilog = "model settings (--model.NAME VALUE, or the mapping `model` of a run config): " + ", ".join(
            sorted(model_setting_names() - {"transformers_version", "architectures"})
        )
        parser = HfArgumentParser(ARGUMENT_CLASSES, usage=usage, epilog=epilog)
        parser.parse_args_into_dataclasses(args=argv)  # prints the help and exits
    source = "the command line"
    settings: dict[str, Any] = {}
    if argv and argv[0].endswith(CONFIG_FILE_SUFFIXES):
        source = f"{argv[0]} and the command line"
        settings, argv = read_config_file(argv[0]), argv[1:]
    return run_arguments(merge_settings(settings, parse_command_line(argv)), source)
