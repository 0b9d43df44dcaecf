"""Checking a staged folder as a Hub user would load it: in a fresh Python without mate_hf, with
`trust_remote_code=True`, giving the outputs that its card records."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

from huggingface_hub import ModelCard

from . import verify_remote_code
from .examples import outputs_agree, staged_transcript, widget_output


def verify_staged(staging_dir: str | Path, timeout: float = 600) -> list[dict]:
    """Load the staged folder with `trust_remote_code=True` in a fresh Python where `mate_hf` cannot be imported,
    run its pipeline on every widget example, and check the results against the card's recorded outputs.

    The fresh Python runs `verify_remote_code.py` by its file path (its docstring says why not with `-m`).

    Returns:
        The pipeline results, one per widget example.

    Raises:
        ValueError: the folder does not load without the package, or gives other outputs than the card records.
    """
    staging_dir = Path(staging_dir).resolve()
    widget = ModelCard.load(staging_dir / "README.md").data.to_dict().get("widget") or []
    examples = [(entry["src"], staged_transcript(staging_dir / entry["src"])) for entry in widget]
    script = resources.files(__package__).joinpath(Path(verify_remote_code.__file__).name)
    with resources.as_file(script) as path:  # a real file even if the package were imported from a zip
        try:
            run = subprocess.run(
                [sys.executable, str(path), str(staging_dir), json.dumps(examples)],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=staging_dir,
            )
        except subprocess.TimeoutExpired as error:
            raise ValueError(f"loading {staging_dir} as remote code took more than {timeout:g} s") from error
    lines = [line for line in run.stdout.splitlines() if line.startswith(verify_remote_code.RESULTS_PREFIX)]
    if run.returncode != 0 or not lines:
        raise ValueError(f"{staging_dir} does not load without mate_hf installed:\n{run.stderr[-3000:]}")
    results = json.loads(lines[-1].removeprefix(verify_remote_code.RESULTS_PREFIX))["results"]
    for entry, result in zip(widget, results):
        if not outputs_agree(entry["output"], result):
            raise ValueError(
                f"README.md records {entry['output']} for {entry['src']}, but the staged folder gives "
                f"{widget_output(result)}"
            )
    return results
