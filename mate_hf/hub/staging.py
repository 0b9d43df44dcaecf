"""Staging: write into one new folder exactly what the Hub repo will hold, chosen file by file (never "everything
but ..."), and scan it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .examples import choose_examples, record_outputs, stage_examples
from .model_card import build_model_card
from .model_folder import check_model_dir, data_roots, model_file_names, remote_code_files
from .safety import scan_staged_folder

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


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
        template: the model card template (Jinja); default: the `model_card.md` that ships with mate_hf.hub.

    Returns:
        The staging folder.

    Raises:
        FileNotFoundError: the model folder or its config.json is missing.
        ValueError: the folder is not a complete MATE folder, examples are missing or unreadable, or the staged
            folder holds something that must not be published; the message names the file.
    """
    model_dir = check_model_dir(model_dir)
    check_repo_id(repo_id)
    code_files = remote_code_files(model_dir)
    chosen = choose_examples(model_dir, examples)
    staging_dir = _prepare_staging_dir(Path(staging_dir), model_dir)
    for name in model_file_names(model_dir) + code_files:
        shutil.copyfile(model_dir / name, staging_dir / name)
    staged_examples = stage_examples(chosen, staging_dir)
    record_outputs(model_dir, staged_examples)
    card = build_model_card(model_dir, repo_id, staged_examples, code_files, template)
    card.save(staging_dir / "README.md")
    local_paths = [model_dir, *(example.source.parent for example in staged_examples)]
    scan_staged_folder(staging_dir, local_paths=local_paths + data_roots(model_dir))
    return staging_dir


def check_repo_id(repo_id: str) -> None:
    if not _REPO_ID.match(repo_id or "") or ".." in repo_id or len(repo_id) > 96:
        raise ValueError(f"--repo-id must look like USER/NAME (letters, digits, '-', '_', '.'), got {repo_id!r}")


def _prepare_staging_dir(staging_dir: Path, model_dir: Path) -> Path:
    staging_dir = staging_dir.resolve()
    if staging_dir == model_dir or model_dir in staging_dir.parents:
        raise ValueError(f"the staging folder {staging_dir} must lie outside the model folder {model_dir}")
    if staging_dir.exists() and (not staging_dir.is_dir() or any(staging_dir.iterdir())):
        raise ValueError(f"the staging folder {staging_dir} exists and is not empty: give a new or empty folder")
    staging_dir.mkdir(parents=True, exist_ok=True)
    return staging_dir
