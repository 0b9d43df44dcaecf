"""The scan before anything leaves the machine: a staged folder must hold no cache, pickle, training state,
symbolic link, Hugging Face token or absolute path of this machine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .model_folder import AUDIO_SUFFIXES

# The folder that holds the mate_hf package: the project's checkout, or site-packages of an installed copy.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

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


def staged_files(staging_dir: Path) -> list[Path]:
    return sorted(path for path in Path(staging_dir).rglob("*") if path.is_file())


def scan_staged_folder(
    staging_dir: str | Path, local_paths: Sequence[str | Path] = (), secrets: Sequence[str] = ()
) -> list[Path]:
    """Refuse a folder that holds forbidden files, a Hub token or this machine's absolute paths.

    `local_paths` are scanned for besides the staging folder, the working directory, the folder holding the
    mate_hf package and $HOME; `secrets` are literal strings (a `--token`) that must not appear either.

    Returns:
        The staged files.

    Raises:
        ValueError: naming the first offending file and what was found (never the secret itself).
    """
    staging_dir = Path(staging_dir).resolve()
    needles = _path_needles([staging_dir, Path.cwd(), PROJECT_ROOT, Path.home(), *local_paths])
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
