"""An installed (non-editable) mate-hf publishes: the wheel carries the model card template and the remote-code
check, and `mate-hf publish --dry-run` of a fresh virtual environment stages and verifies a folder with it, far from
the checkout.

The fresh environment gets the heavy dependencies (torch, transformers, ...) without a download: a `.pth` file
puts this environment's site-packages after its own. A directory named by a `.pth` line does not have its own
`.pth` files run, so the editable install of mate_hf living there stays invisible; the wheel is the only mate_hf.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import soundfile

from mate_hf import save_mate_folder
from mate_hf.hub import DEFAULT_TEMPLATE

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "setup.cfg", "README.md")


def _run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command with a clean PYTHONPATH and no Hub access, outside the checkout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of a copy of the sources (a build in the checkout would leave build/ and egg-info behind)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE_FILES:
        shutil.copyfile(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "mate_hf", source / "mate_hf", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    run = _run([*command, "-w", str(tmp_path / "dist"), str(source)], cwd=tmp_path)
    assert run.returncode == 0, (
        f"building the wheel failed; --no-build-isolation uses this environment's build backend, which needs "
        f"setuptools>=77 (PEP 639 license string):\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    )
    (wheel,) = (tmp_path / "dist").glob("mate_hf-*.whl")
    return wheel


def make_venv(tmp_path: Path) -> tuple[Path, Path]:
    """(python, site-packages) of a new environment that sees this one's packages after its own."""
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path)
    site_packages = Path(purelib.stdout.strip())
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "mate_hf_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return python, site_packages


def test_the_installed_wheel_publishes_with_its_own_card_template(tmp_path, build_tiny_mate, make_dialogue):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"mate_hf/hub/model_card.md", "mate_hf/hub/verify_remote_code.py", "mate_hf/cli.py"} <= names
        assert archive.read("mate_hf/hub/model_card.md").decode() == DEFAULT_TEMPLATE.read_text(encoding="utf-8")

    python, site_packages = make_venv(tmp_path)
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", str(wheel)]
    run = _run(install, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    where = "import json, sys, mate_hf.hub; print(json.dumps([mate_hf.hub.__file__, sys.path]))"
    run = _run([str(python), "-c", where], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    package_file, path = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(package_file).is_relative_to(site_packages), package_file
    assert str(REPO_ROOT) not in path and "" not in path[1:]  # the checkout is not importable

    model_dir = save_mate_folder(tmp_path / "model", *build_tiny_mate())
    (audio,), _ = make_dialogue(1, seed=2)
    soundfile.write(tmp_path / "a.wav", audio, 16000)
    staging = tmp_path / "staged"
    arguments = ["publish", str(model_dir), "--repo-id", "user/tiny", "--dry-run", "--examples", "a.wav"]
    run = _run([str(python.parent / "mate-hf"), *arguments, "--staging-dir", str(staging)], cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "loads with trust_remote_code=True without mate_hf" in run.stdout and "dry run" in run.stdout
    card = (staging / "README.md").read_text(encoding="utf-8")
    assert "# tiny: MATE, emotion recognition in Korean conversation (audio + text)" in card
    assert 'pipeline(model="user/tiny", trust_remote_code=True)' in card and "`a.wav`" in card
    assert "{{" not in card and "widget:" in card
