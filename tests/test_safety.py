"""Safety: weights only as safetensors, pickles refused unless asked for, remote code inert at import, and the
publish scan refusing tokens, caches, pickles and local paths."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoModel

from mate_hf import MateModel, load_mate_pipeline, save_mate_folder
from mate_hf.hub import scan_staged_folder

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
REMOTE_CODE = ["configuration_mate", "modeling_mate", "feature_extraction_mate", "processing_mate", "pipeline_mate"]
REMOTE_CODE += ["audio_io", "voice_activity"]


class CodeInPickle:
    """A pickle payload that would leave a marker file behind if unpickling ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, build_tiny_mate) -> Path:
    model, processor = build_tiny_mate()
    return save_mate_folder(tmp_path_factory.mktemp("mate"), model, processor)


def pickled_copy(folder: Path, tmp_path: Path, payload=None) -> Path:
    """The folder with its weights as pytorch_model.bin (the state dict, or `payload`) instead of safetensors."""
    copy = tmp_path / "pickled"
    shutil.copytree(folder, copy)
    weights = copy / "model.safetensors"
    state = MateModel.from_pretrained(folder).state_dict()
    torch.save(state if payload is None else payload, copy / "pytorch_model.bin")
    weights.unlink()
    return copy


# ---------------------------------------------------------------- weights


def test_saved_folder_holds_weights_only_as_safetensors(folder):
    assert (folder / "model.safetensors").is_file()
    assert not [path.name for path in folder.rglob("*") if path.suffix in PICKLE_SUFFIXES]


@pytest.mark.parametrize(
    "load",
    [MateModel.from_pretrained, AutoModel.from_pretrained, load_mate_pipeline],
    ids=["MateModel", "AutoModel", "pipeline"],
)
def test_pickled_weights_are_refused_by_default(folder, tmp_path, load):
    pickled = pickled_copy(folder, tmp_path)
    # The pipeline wraps the loader's OSError in a ValueError that quotes it.
    with pytest.raises((OSError, ValueError), match=r"pickled holds pickled weights \(\.bin\) and no \.safetensors"):
        load(pickled)


def test_pickled_weights_load_when_the_caller_allows_them(folder, tmp_path):
    pickled = pickled_copy(folder, tmp_path)
    allowed, original = MateModel.from_pretrained(pickled, use_safetensors=False), MateModel.from_pretrained(folder)
    assert all(torch.equal(a, b) for a, b in zip(allowed.state_dict().values(), original.state_dict().values()))


def test_even_an_allowed_pickle_cannot_run_code(folder, tmp_path):
    """transformers unpickles with torch's weights_only loader: an object that calls a function is refused."""
    marker = tmp_path / "ran"
    pickled = pickled_copy(folder, tmp_path, payload={"weight": CodeInPickle(marker)})
    with pytest.raises(Exception, match="Weights only load failed"):
        MateModel.from_pretrained(pickled, use_safetensors=False)
    assert not marker.exists()


def test_resume_refuses_a_checkpoint_whose_optimizer_pickle_runs_code(tmp_path, demo_dialogues, make_trainer):
    """Checkpoints hold optimizer.pt, scheduler.pt and rng_state.pth (pickles); resuming reads them with
    weights_only=True, so a planted payload fails to load and never runs."""
    dialogues = demo_dialogues.select(range(8))
    make_trainer(tmp_path, dialogues).train()
    marker = tmp_path / "ran"
    torch.save({"state": CodeInPickle(marker)}, tmp_path / "checkpoint-2" / "optimizer.pt")
    with pytest.raises(Exception, match="Weights only load failed"):
        make_trainer(tmp_path, dialogues).train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    assert not marker.exists()


# ---------------------------------------------------------------- remote code at import

IMPORT_WATCHED = textwrap.dedent(
    """
    import importlib, json, os, sys, types
    sys.dont_write_bytecode = True  # Python's own .pyc cache would count as a write
    import mate_hf  # loads every third-party module the remote code imports, before anything is watched

    folder, names = sys.argv[1], sys.argv[2].split(",")
    WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    WATCHED = ("socket.", "urllib.", "http.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.fork")
    WATCHED += ("os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.truncate", "os.chmod", "shutil.")
    seen = []

    def watch(event, args):
        if event == "open":
            path, mode, flags = args
            if (isinstance(mode, str) and set(mode) & set("wax+")) or (isinstance(flags, int) and flags & WRITE):
                seen.append(f"write {path}")
            elif not str(path).endswith((".py", ".pyc", ".so")):
                seen.append(f"read {path}")
        elif event.startswith(WATCHED):
            seen.append(f"{event} {args!r:.200}")
            if event.startswith("socket."):
                raise OSError("no network in this test")  # an audit hook that raises stops the call

    sys.addaudithook(watch)
    package = types.ModuleType("remote_mate")
    package.__path__ = [folder]  # the saved folder as a package, as transformers' dynamic loader imports it
    sys.modules["remote_mate"] = package
    modules = {name: importlib.import_module(f"remote_mate.{name}") for name in names}
    defined = {
        name: sorted(key for key, value in vars(module).items() if getattr(value, "__module__", "") == module.__name__)
        for name, module in modules.items()
    }
    print(json.dumps({"events": seen, "defined": defined, "files": [m.__file__ for m in modules.values()]}))
    """
)


def test_remote_code_files_only_define_classes_at_import(folder):
    result = _import_watched(folder, REMOTE_CODE)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["events"] == []
    assert report["files"] == [str(folder / f"{name}.py") for name in REMOTE_CODE]
    assert {"MateConfig"} <= set(report["defined"]["configuration_mate"])
    assert {"MateModel", "MatePreTrainedModel"} <= set(report["defined"]["modeling_mate"])
    assert "MateEmotionPipeline" in report["defined"]["pipeline_mate"]


def _import_watched(folder: Path, names: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", IMPORT_WATCHED, str(folder), ",".join(names)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )


def test_the_watch_catches_a_module_that_writes_or_connects(folder, tmp_path):
    """The check above can fail: a file written at import is listed, a connection attempt listed and stopped."""
    noisy = tmp_path / "noisy"
    shutil.copytree(folder, noisy)
    (noisy / "writes.py").write_text(f"open({str(tmp_path / 'written')!r}, 'w').close()\n")
    (noisy / "connects.py").write_text(
        "import socket\ntry:\n    socket.create_connection(('huggingface.co', 443))\nexcept OSError as error:\n"
        "    assert str(error) == 'no network in this test'\n"
    )
    result = _import_watched(noisy, ["writes", "connects"])
    assert result.returncode == 0, result.stderr[-4000:]
    events = json.loads(result.stdout.strip().splitlines()[-1])["events"]
    assert events == [f"write {tmp_path / 'written'}", "socket.getaddrinfo ('huggingface.co', 443, 0, 1, 0)"]


# ---------------------------------------------------------------- publish scan


def _clean_staging(tmp_path: Path) -> Path:
    staged = tmp_path / "staged"
    staged.mkdir()
    save_file({"weight": torch.zeros(2)}, staged / "model.safetensors", metadata={"format": "pt"})
    (staged / "config.json").write_text(json.dumps({"model_type": "mate"}))
    (staged / "README.md").write_text("# MATE\n\nSee /usr/share/doc for nothing in particular.\n")
    return staged


def test_publish_scan_passes_a_clean_folder(tmp_path):
    staged = _clean_staging(tmp_path)
    assert [path.name for path in scan_staged_folder(staged)] == ["README.md", "config.json", "model.safetensors"]


def _plant_in_safetensors_metadata(staged: Path, text: str) -> None:
    save_file({"weight": torch.zeros(2)}, staged / "model.safetensors", metadata={"format": "pt", "note": text})


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (lambda s, t: _plant_in_safetensors_metadata(s, "hf_" + "a1B2" * 9), "model.safetensors contains something"),
        (lambda s, t: (s / "notes.md").write_text("token: secret-value-123"), "notes.md contains something"),
        (lambda s, t: (s / "config.json").write_text(f'{{"data": "{t}/corpus/KEMDy19"}}'), "local absolute path"),
        (lambda s, t: (s / "README.md").write_text("trained on C:\\Users\\kim\\KEMDy19"), "C:\\Users\\kim"),
        (lambda s, t: (s / "README.md").write_text("see /Users/kim/runs"), "/Users/kim"),
        (lambda s, t: (s / ".cache").mkdir(), ".cache is a cache"),
        (lambda s, t: (s / "checkpoint-5").mkdir(), "checkpoint-5 is a cache, pickle or training-state"),
        (lambda s, t: (s / ".git").mkdir(), ".git is a cache"),
        (lambda s, t: (s / ".env").write_text("HF=1"), ".env is a cache"),
        (lambda s, t: (s / "weights.ckpt").write_bytes(b"x"), "weights.ckpt is a cache, pickle"),
        (lambda s, t: (s / "features.npy").write_bytes(b"x"), "features.npy is a cache, pickle"),
        (lambda s, t: (s / "cache.joblib").write_bytes(b"x"), "cache.joblib is a cache, pickle"),
        (lambda s, t: (s / "link.json").symlink_to(s / "config.json"), "link.json is a symbolic link"),
        (lambda s, t: (s / "blob.dat").write_bytes(b"\x00\x01binary"), "blob.dat is an unexpected binary file"),
    ],
    ids=[
        "token-in-safetensors-header",
        "literal-secret",
        "data-root-path",
        "windows-home",
        "mac-home",
        "cache-dir",
        "checkpoint-dir",
        "git",
        "env-file",
        "ckpt",
        "npy",
        "joblib",
        "symlink",
        "binary",
    ],
)
def test_publish_scan_refuses_secrets_caches_pickles_and_paths(tmp_path, plant, message):
    staged = _clean_staging(tmp_path)
    data_root = tmp_path / "data"
    plant(staged, data_root)
    with pytest.raises(ValueError, match="refusing to publish") as error:
        scan_staged_folder(staged, local_paths=[data_root], secrets=["secret-value-123"])
    assert message in str(error.value)
    assert "a1B2a1B2" not in str(error.value) and "secret-value-123" not in str(error.value)
