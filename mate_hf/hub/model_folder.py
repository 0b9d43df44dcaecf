"""What a MATE folder holds and which of its files a Hub repo needs: the model-folder checks, the weight, config and
processor files, and the remote-code `.py` files that `trust_remote_code=True` imports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..saving import check_mate_folder

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
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

_RELATIVE_IMPORT = re.compile(r"^\s*from\s+\.(\w*)\s+import\s+([\w, ()]+)", re.MULTILINE)
_ABSOLUTE_PACKAGE_IMPORT = re.compile(r"^\s*(from|import)\s+mate_hf\b", re.MULTILINE)


def read_json(path: Path, required: bool = False) -> Any:
    """The parsed file; None for a missing optional file.

    Raises:
        ValueError: a required file is missing, or the file is not valid JSON; the message names it.
    """
    if not path.is_file():
        if required:
            raise ValueError(f"{path} does not exist")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def check_model_dir(model_dir: str | Path) -> Path:
    """The resolved folder, if it holds a MATE saved with `save_mate_folder` (`mate_hf.saving.check_mate_folder`)
    whose weight shards are all there and whose config names its remote code.

    Raises:
        FileNotFoundError: the folder or its config.json is missing.
        ValueError: anything else that keeps it from loading from the Hub; the message names the file.
    """
    folder, config = check_mate_folder(model_dir)
    folder = folder.resolve()
    weight_files(folder)  # every shard an index names
    if not config.get("custom_pipelines") or not config.get("auto_map"):
        raise ValueError(
            f"{folder / 'config.json'} has no custom_pipelines/auto_map, so the Hub copy would not load with "
            "trust_remote_code=True: save the folder with mate_hf.save_mate_folder"
        )
    return folder


def weight_files(folder: Path) -> list[str]:
    """The safetensors weights (an index and its shards, or `model.safetensors`); empty without any."""
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        shards = sorted(set(read_json(index)["weight_map"].values()))
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise ValueError(f"{index} names missing weight shards: {', '.join(missing)}")
        return [SAFETENSORS_INDEX, *shards]
    return ["model.safetensors"] if (folder / "model.safetensors").is_file() else []


def model_file_names(folder: Path) -> list[str]:
    """Weights, config and processor files (remote code aside), in a fixed order."""
    present = [name for name in CONFIG_FILES + PROCESSOR_FILES if (folder / name).is_file()]
    return weight_files(folder) + present


def data_roots(model_dir: Path) -> list[str]:
    """The corpus roots that `training/run.py` recorded in `data_report.json` (absolute paths of this machine)."""
    report = read_json(model_dir / "data_report.json") or {}
    return [entry["root"] for entry in (report.get("reports") or {}).values() if entry.get("root")]


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
        data = read_json(folder / name) or {}
        for value in _auto_map_values(data):
            references.append((name, value))
    pipelines = (read_json(folder / "config.json") or {}).get("custom_pipelines") or {}
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
