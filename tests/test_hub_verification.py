"""`verify_staged` (mate_hf.hub.verification) and the script it runs, `verify_remote_code.py`: a staged folder
loads with `trust_remote_code=True` in a Python where `mate_hf` cannot be imported, from its own code, and gives
the outputs its card records; a folder that needs the package, or a card that records other outputs, is refused."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from huggingface_hub import ModelCard

from mate_hf import save_mate_folder
from mate_hf.hub import stage, verify_remote_code, verify_staged

pytestmark = pytest.mark.slow  # every test runs a fresh Python that loads transformers

REPO_ID = "someone/mate-verified"


@pytest.fixture(scope="module")
def staged(tmp_path_factory, build_tiny_mate, make_dialogue, sampling_rate) -> Path:
    """A tiny MATE staged with two examples, the first with a transcript beside it."""
    base = tmp_path_factory.mktemp("verify")
    folder = save_mate_folder(base / "model", *build_tiny_mate(initializer_range=0.5))
    audio, texts = make_dialogue(2, seed=1)
    examples = [base / "clips" / "first.wav", base / "clips" / "second.wav"]
    examples[0].parent.mkdir()
    for path, waveform in zip(examples, audio):
        soundfile.write(path, waveform, sampling_rate)
    examples[0].with_suffix(".txt").write_text(texts[0], encoding="utf-8")
    return stage(folder, base / "staged", REPO_ID, examples=examples)


def _copy(staged: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "staged"
    shutil.copytree(staged, copy)
    return copy


def _run_script(staged: Path, *python_arguments: str) -> subprocess.CompletedProcess:
    examples = json.dumps([["first.wav", None]])
    return subprocess.run(
        [sys.executable, *python_arguments, str(staged), examples],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=staged,
    )


def test_the_staged_folder_loads_from_its_own_code_and_gives_the_recorded_outputs(staged):
    results = verify_staged(staged)
    widget = ModelCard.load(staged / "README.md").data.to_dict()["widget"]
    assert len(results) == len(widget) == 2
    assert results[0]["modalities"] == "audio+text" and results[1]["modalities"] == "audio"
    run = _run_script(staged, verify_remote_code.__file__)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1].removeprefix(verify_remote_code.RESULTS_PREFIX))
    assert set(report["classes"]) == {"model", "processor", "pipeline", "pipeline model"}
    assert all(module.startswith("transformers_modules.") for module in report["classes"].values())
    assert report["classes"]["pipeline"].endswith(".pipeline_mate")


def test_the_script_refuses_to_run_after_mate_hf_was_imported(staged):
    """`python -m mate_hf.hub.verify_remote_code` imports mate_hf first, which registers MATE with transformers."""
    run = _run_script(staged, "-m", "mate_hf.hub.verify_remote_code")
    assert run.returncode != 0
    assert "imported already" in run.stderr and "not with python -m" in run.stderr
    assert verify_remote_code.RESULTS_PREFIX not in run.stdout


def test_a_folder_whose_code_needs_mate_hf_is_refused(staged, tmp_path):
    copy = _copy(staged, tmp_path)
    modeling = copy / "modeling_mate.py"
    # Not an `import mate_hf` line (staging refuses those), but the same need, at import time.
    modeling.write_text(modeling.read_text(encoding="utf-8") + '\n__import__("importlib").import_module("mate_hf")\n')
    with pytest.raises(ValueError, match="does not load without mate_hf installed") as error:
        verify_staged(copy)
    assert "mate_hf" in str(error.value).split("installed:", 1)[1]


def test_a_card_that_records_other_outputs_is_refused(staged, tmp_path):
    copy = _copy(staged, tmp_path)
    card = ModelCard.load(copy / "README.md")
    card.data.widget[1]["output"][0]["score"] = round(card.data.widget[1]["output"][0]["score"] + 0.01, 4)
    card.save(copy / "README.md")
    with pytest.raises(ValueError, match="README.md records .* for second.wav, but the staged folder gives"):
        verify_staged(copy)
