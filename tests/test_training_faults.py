"""Training faults: a crash while a checkpoint is being written, resuming after it, a full disk, a NaN loss.

In-process runs of MateTrainer on 8 demo dialogues and a tiny MATE (4 optimiser steps, a checkpoint every 2);
one subprocess run is SIGKILLed inside a checkpoint save, as a pre-empted job would be."""

import errno
import json
import signal
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import Trainer
from transformers.trainer_utils import get_last_checkpoint

from mate_hf import MateModel, save_mate_folder
from mate_hf.data.collator import MateDataCollator
from mate_hf.trainer import (
    NonFiniteLossError,
    last_complete_checkpoint,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Crash(Exception):
    """Stands in for the process dying at this point: nothing after it runs, nothing cleans up."""


@pytest.fixture(scope="module")
def dialogues(demo_dialogues):
    return demo_dialogues.select(range(8))


def crash_while_saving(monkeypatch, step: int, method: str = "_save_rng_state") -> None:
    """Make the save of checkpoint-`step` die after its weights and optimizer are written, before its state."""
    original = getattr(Trainer, method)

    def save(self, output_dir, *args, **kwargs):
        if Path(output_dir).name == f"checkpoint-{step}":
            raise Crash(f"died while writing {output_dir}")
        return original(self, output_dir, *args, **kwargs)

    monkeypatch.setattr(Trainer, method, save)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def test_crash_while_saving_leaves_the_previous_checkpoint_loadable_and_resume_matches(
    dialogues, tmp_path, monkeypatch, make_trainer
):
    straight = make_trainer(tmp_path / "straight", dialogues)
    straight.train()

    crashed_dir = tmp_path / "crashed"
    crash_while_saving(monkeypatch, step=4)
    with pytest.raises(Crash):
        make_trainer(crashed_dir, dialogues).train()
    monkeypatch.undo()
    incomplete = crashed_dir / "checkpoint-4"
    assert (incomplete / "model.safetensors").exists() and not (incomplete / "trainer_state.json").exists()
    assert get_last_checkpoint(crashed_dir) == str(incomplete)  # what transformers alone would resume from
    assert last_complete_checkpoint(crashed_dir) == str(crashed_dir / "checkpoint-2")
    MateModel.from_pretrained(crashed_dir / "checkpoint-2")  # the previous checkpoint still loads

    resumed = make_trainer(crashed_dir, dialogues)
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 4
    a, b = _weights(tmp_path / "straight" / "checkpoint-4"), _weights(incomplete)
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_resuming_from_an_interrupted_checkpoint_is_refused_naming_the_last_complete_one(
    dialogues, tmp_path, monkeypatch, make_trainer
):
    crash_while_saving(monkeypatch, step=4)
    with pytest.raises(Crash):
        make_trainer(tmp_path, dialogues).train()
    monkeypatch.undo()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2, "log_hi')  # cut mid-write
    trainer = make_trainer(tmp_path, dialogues)
    with pytest.raises(ValueError, match=r"checkpoint-4 is an incomplete checkpoint .* resume from .*: None"):
        trainer.train(resume_from_checkpoint=str(tmp_path / "checkpoint-4"))
    with pytest.raises(ValueError, match="no complete checkpoint in"):
        trainer.train(resume_from_checkpoint=True)


@pytest.mark.parametrize(
    "where",
    ["transformers.modeling_utils.safe_save_file", "torch.save"],
    ids=["weights", "optimizer"],
)
def test_full_disk_while_saving_a_checkpoint_is_reported_naming_the_folder(
    dialogues, tmp_path, monkeypatch, where, make_trainer
):
    module, name = where.rsplit(".", 1)
    original = getattr(sys.modules[module], name)

    def save(obj, target, *args, **kwargs):
        if "checkpoint-4" in str(target):
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(obj, target, *args, **kwargs)

    monkeypatch.setattr(sys.modules[module], name, save)
    with pytest.raises(OSError) as raised:
        make_trainer(tmp_path, dialogues).train()
    error = raised.value
    assert error.errno == errno.ENOSPC and error.filename == str(tmp_path / "checkpoint-4")
    assert "saving the checkpoint of step 4 failed (No space left on device)" in str(error)
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")


def test_full_disk_while_saving_the_model_folder_names_it(tmp_path, monkeypatch, build_tiny_mate):
    model, processor = build_tiny_mate()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("transformers.modeling_utils.safe_save_file", full)
    with pytest.raises(OSError, match=r"saving the MATE folder failed \(No space left on device\)") as raised:
        save_mate_folder(tmp_path / "model", model, processor)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "model")


class NanOnThirdBatch(MateDataCollator):
    """A data fault that shows only mid-run: the third batch carries a NaN arousal target."""

    def __call__(self, rows):
        batch = super().__call__(rows)
        self.batches = getattr(self, "batches", 0) + 1
        if self.batches == 3:
            batch["arousal_labels"][0, 0] = float("nan")
        return batch


def test_nan_loss_inside_a_run_stops_it_naming_the_step(dialogues, tmp_path, make_trainer):
    trainer = make_trainer(tmp_path, dialogues, collator_class=NanOnThirdBatch)
    with pytest.raises(NonFiniteLossError, match=r"the training loss became nan at step 3 \(epoch"):
        trainer.train()
    assert sorted(path.name for path in tmp_path.glob("checkpoint-*")) == ["checkpoint-2"]


# training/run.py, SIGKILLed while it writes checkpoint-4 unless it resumes; one torch thread, as in-process above.
KILLED_WHILE_SAVING = """
import os, signal, sys
import torch
import mate_hf.experiments.recipe as recipe
from transformers import Trainer

def die(self, output_dir, *args, **kwargs):
    if output_dir.endswith("checkpoint-4"):
        os.kill(os.getpid(), signal.SIGKILL)  # weights and optimizer written, trainer_state.json not yet
    return save_rng_state(self, output_dir, *args, **kwargs)

torch.set_num_threads(1)
if "--resume_from_checkpoint" not in sys.argv:
    save_rng_state, Trainer._save_rng_state = Trainer._save_rng_state, die
recipe.main(sys.argv[1:])
"""


@pytest.mark.slow
def test_run_killed_while_saving_resumes_from_the_last_complete_checkpoint(tmp_path, tiny_run_path, run_in_repo):
    common = [str(tiny_run_path), "--num_train_epochs", "1", "--save_strategy", "steps", "--save_steps", "2"]
    common += ["--output_dir", str(tmp_path)]
    killed = run_in_repo([sys.executable, "-c", KILLED_WHILE_SAVING, *common])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-4000:]
    assert not (tmp_path / "checkpoint-4" / "trainer_state.json").exists()

    resumed = run_in_repo(
        [sys.executable, "-c", KILLED_WHILE_SAVING, *common, "--resume_from_checkpoint", "last"]
        + ["--log_level", "info"]
    )
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert f"Loading model from {tmp_path / 'checkpoint-2'}." in resumed.stderr + resumed.stdout
    state = json.loads((tmp_path / "trainer_state.json").read_text())
    assert state["global_step"] == state["max_steps"] > 4
    MateModel.from_pretrained(tmp_path)
