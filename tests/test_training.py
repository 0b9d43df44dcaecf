"""Training: DDP on two CPU processes, kill-and-resume, gradient accumulation, the loss scaling."""

import json
import re
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mate_hf.data.collator import MateDataCollator
from mate_hf.trainer import MateTrainer, MateTrainingArguments

VOLATILE = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")


def _rank_metrics(stdout: str) -> dict[int, dict]:
    metrics = {}
    for match in re.finditer(r"\[rank (\d+)\] eval metrics: (\{[^\n]*\})", stdout):
        values = json.loads(match[2])
        metrics[int(match[1])] = {k: v for k, v in values.items() if k not in VOLATILE}
    return metrics


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes_agree(tmp_path, tiny_run_path, run_in_repo):
    accelerate = Path(sys.executable).parent / "accelerate"
    result = run_in_repo(
        [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "training/run.py", str(tiny_run_path)]
        + ["--output_dir", str(tmp_path / "ddp")]
    )
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = _rank_metrics(result.stdout)
    assert set(metrics) == {0, 1}, result.stdout[-2000:]
    assert metrics[0] == metrics[1]
    assert all(isinstance(value, float) and value == value for value in metrics[0].values())  # finite, not NaN
    assert (tmp_path / "ddp" / "model.safetensors").exists()
    assert (tmp_path / "ddp" / "processor_config.json").exists()


KILLED_RUN = """
import os, signal, sys
import mate_hf.experiments.recipe as recipe
from transformers import TrainerCallback

class KillAtStep(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 6:
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, as a crash or a pre-empted job

class KilledTrainer(recipe.MateTrainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_callback(KillAtStep())

recipe.MateTrainer = KilledTrainer
recipe.main(sys.argv[1:])
"""


# Log-mels computed in each batch from 1 s windows of the demo's 1–2 s clips: most are cropped at random.
RANDOM_CROP_ARGUMENTS = ["--cache_audio_features", "false", "--model.max_duration", "1.0"]


@pytest.mark.slow
@pytest.mark.parametrize("audio", ["cached", "random_crops"])
def test_killed_run_resumes_to_the_same_weights_and_metrics(tmp_path, audio, tiny_run_path, run_in_repo):
    common = [str(tiny_run_path), "--save_strategy", "steps", "--save_steps", "4"]
    if audio == "random_crops":
        common += RANDOM_CROP_ARGUMENTS
    straight = run_in_repo([sys.executable, "training/run.py", *common, "--output_dir", str(tmp_path / "straight")])
    assert straight.returncode == 0, straight.stderr[-4000:]

    killed = run_in_repo([sys.executable, "-c", KILLED_RUN, *common, "--output_dir", str(tmp_path / "resumed")])
    assert killed.returncode == -9, killed.stderr[-4000:]
    assert sorted(p.name for p in (tmp_path / "resumed").glob("checkpoint-*")) == ["checkpoint-4"]

    resumed = run_in_repo(
        [sys.executable, "training/run.py", *common, "--output_dir", str(tmp_path / "resumed")]
        + ["--resume_from_checkpoint", "last"]
    )
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert _rank_metrics(straight.stdout) == _rank_metrics(resumed.stdout)


@pytest.fixture(scope="module")
def dialogues(demo_dialogues):
    # The first 8 include the 30-turn Sess04_impro03: the two micro-batches hold different numbers of targets.
    return [demo_dialogues[i] for i in (10, 11, 12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5, 6, 7)]


def _gradients(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("encoder, unimodal_loss_weight", [("window_channels", 0.0), ("per_utterance", 0.5)])
def test_gradient_accumulation_2x8_equals_one_batch_of_16(
    dialogues, tmp_path, demo_corpus_texts, build_tiny_mate, encoder, unimodal_loss_weight
):
    model, processor = build_tiny_mate(
        demo_corpus_texts, max_duration=2.0, audio_encoder=encoder, unimodal_loss_weight=unimodal_loss_weight
    )
    model.eval()  # BatchNorm statistics held fixed: only the loss normalisation differs between the two paths
    args = MateTrainingArguments(output_dir=str(tmp_path), gradient_accumulation_steps=2, use_cpu=True, report_to=[])
    trainer = MateTrainer(model=model, args=args)
    assert trainer.loss_is_scaled_for_ga  # training_step must not divide by the accumulation steps again
    collate = MateDataCollator(processor)
    first, second = collate(dialogues[:8]), collate(dialogues[8:])
    assert first["target_mask"].sum() != second["target_mask"].sum()  # unequal micro-batches: a plain mean would be off
    count = trainer._get_num_items_in_batch([first, second], torch.device("cpu"))
    for batch in (first, second):
        trainer.compute_loss(model, batch, num_items_in_batch=count).backward()
    accumulated = _gradients(model)
    model.zero_grad()
    whole = collate(dialogues)
    trainer.compute_loss(model, whole, num_items_in_batch=trainer._get_num_items_in_batch([whole], "cpu")).backward()
    single = _gradients(model)
    assert accumulated.keys() == single.keys() and len(single) > 10
    assert any("unimodal_heads" in name for name in single) == (unimodal_loss_weight > 0)
    for name in single:
        assert torch.allclose(accumulated[name], single[name], rtol=1e-4, atol=1e-7), name


def test_paper_lr_schedule_multiplies_by_0_7_after_a_third_and_half_of_the_epochs(tmp_path, tiny_mate_for_demo_corpus):
    """The authors' MultiStepLR(milestones=[int(E/3), int(E/2)], gamma=0.7), stepped per epoch: with E = 10 epochs of
    3 steps, the rate drops after epoch 3 (step 9) and after epoch 5 (step 15)."""
    model, _ = tiny_mate_for_demo_corpus
    args = MateTrainingArguments(
        output_dir=str(tmp_path), paper_lr_schedule=True, learning_rate=1e-3, num_train_epochs=10, use_cpu=True
    )
    trainer = MateTrainer(model=model, args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=30)
    rates = []
    for _ in range(30):
        rates.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    assert rates[8] == pytest.approx(1e-3) and rates[9] == pytest.approx(7e-4)
    assert (
        rates[14] == pytest.approx(7e-4) and rates[15] == pytest.approx(4.9e-4) and rates[29] == pytest.approx(4.9e-4)
    )


def test_paper_optimizer_is_adam_with_l2_weight_decay_on_every_parameter(tmp_path, tiny_mate_for_demo_corpus):
    """torch.optim.Adam(model.parameters(), lr, weight_decay): the decay is added to the gradient (L2), biases and
    BatchNorm parameters included, unlike the Trainer's AdamW."""
    model, _ = tiny_mate_for_demo_corpus
    args = MateTrainingArguments(
        output_dir=str(tmp_path), paper_optimizer=True, learning_rate=1e-3, weight_decay=1e-5, use_cpu=True
    )
    trainer = MateTrainer(model=model, args=args)
    optimizer = trainer.create_optimizer()
    assert type(optimizer) is torch.optim.Adam
    (group,) = optimizer.param_groups
    assert (group["lr"], group["weight_decay"], group["betas"], group["eps"]) == (1e-3, 1e-5, (0.9, 0.999), 1e-8)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(group["params"]) == len(trainable) and all(a is b for a, b in zip(group["params"], trainable))


def test_drop_last_drops_a_partial_training_batch_but_evaluation_reads_every_sample(
    tmp_path, demo_dialogues, build_tiny_mate
):
    """The authors' DataLoader(drop_last=True) was their training loader's; their test loader kept every window."""
    model, processor = build_tiny_mate(max_duration=0.5)
    args = MateTrainingArguments(
        output_dir=str(tmp_path),
        dataloader_drop_last=True,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        remove_unused_columns=False,
        use_cpu=True,
        report_to=[],
    )
    rows = demo_dialogues.select(range(10))
    trainer = MateTrainer(model=model, args=args, train_dataset=rows, eval_dataset=rows, data_collator=lambda x: x)
    assert sum(len(batch) for batch in trainer.get_train_dataloader()) == 8
    assert sum(len(batch) for batch in trainer.get_eval_dataloader()) == 10
    assert sum(len(batch) for batch in trainer.get_test_dataloader(rows)) == 10
    assert trainer.args.dataloader_drop_last


def test_trainer_tells_the_collator_each_epoch(tmp_path, tiny_mate_for_demo_corpus):
    model, processor = tiny_mate_for_demo_corpus
    collator = MateDataCollator(processor, crop="random")
    args = MateTrainingArguments(output_dir=str(tmp_path), use_cpu=True)
    trainer = MateTrainer(model=model, args=args, data_collator=collator, processing_class=processor)
    for epoch, expected in ((0.0, 0), (2.0, 2), (1.25, 1)):  # 1.25: resumed in the middle of epoch 1
        trainer.state.epoch = epoch
        trainer.callback_handler.on_epoch_begin(args, trainer.state, trainer.control)
        assert collator.epoch == expected


def test_nan_loss_stops_training_naming_the_step(dialogues, tmp_path, tiny_mate_for_demo_corpus):
    from mate_hf.trainer import NonFiniteLossError

    model, processor = tiny_mate_for_demo_corpus
    trainer = MateTrainer(model=model.train(), args=MateTrainingArguments(output_dir=str(tmp_path), use_cpu=True))
    batch = MateDataCollator(processor)(dialogues[:2])
    batch["arousal_labels"][0, 0] = float("nan")
    count = trainer._get_num_items_in_batch([batch], torch.device("cpu"))
    with pytest.raises(NonFiniteLossError, match=r"became nan at step 1"):
        trainer.compute_loss(model, batch, num_items_in_batch=count)
