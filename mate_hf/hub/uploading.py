"""Uploading a staged folder: the Hub repo is created (or reused) and every staged file added in one commit."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi

from .safety import scan_staged_folder
from .staging import check_repo_id


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
