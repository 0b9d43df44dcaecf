"""`MateTrainer`: the Hugging Face Trainer with MATE's objective, normalised for accumulation and DDP.

Needs the training extras (accelerate); `import mate_hf` does not import this module.
"""

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .data.augmentation import shift_into_padding
from .modeling_mate import mate_loss
from .saving import save_failure

TARGET_NAMES = ("labels", "arousal_labels", "valence_labels", "target_mask")
# Everything the collator yields besides model inputs; `label_names` makes the Trainer hand them to metrics.
LABEL_NAMES = ["labels", "arousal_labels", "valence_labels", "majority_labels", "target_mask"]
LOSS_PARTS = ("loss_emotion", "loss_arousal", "loss_valence")


@dataclass
class MateTrainingArguments(TrainingArguments):
    paper_lr_schedule: bool = field(
        default=False,
        metadata={
            "help": "The authors' schedule (MultiStepLR): a constant learning rate, multiplied by 0.7 once int(E/3) "
            "and again once int(E/2) of the E epochs are done. Overrides lr_scheduler_type."
        },
    )
    paper_optimizer: bool = field(
        default=False,
        metadata={
            "help": "The authors' optimiser: torch.optim.Adam over every parameter, weight_decay as an L2 term added "
            "to the gradient (not AdamW's decoupled decay). Overrides optim."
        },
    )
    time_shift_augmentation: bool = field(
        default=False,
        metadata={
            "help": "Start each training utterance's log-mel a random number of frames later, within the silence "
            "after it (the window's padding), so the audio encoder cannot key on where the sound sits. Off in "
            "evaluation. Not in the paper."
        },
    )


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def is_complete_checkpoint(folder: str | Path) -> bool:
    """Whether a checkpoint's save finished: Trainer writes `trainer_state.json` last, so a run killed while
    saving leaves a folder without it, or with it cut short."""
    try:
        json.loads((Path(folder) / TRAINER_STATE_NAME).read_text())
    except (OSError, ValueError):
        return False
    return True


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest `checkpoint-N` folder of `output_dir` whose save finished, or None.

    transformers' `get_last_checkpoint` takes the highest N even when its save was interrupted.
    """
    steps = {}
    for path in Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        step = path.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-")
        if step.isdigit() and is_complete_checkpoint(path):
            steps[int(step)] = path
    return str(steps[max(steps)]) if steps else None


def paper_lr_milestones(num_training_steps: int, num_epochs: float, max_steps: int = -1) -> list[int]:
    """Optimiser steps after which the authors' MultiStepLR multiplies the learning rate by 0.7: the ends of epochs
    int(E/3) and int(E/2) of E (their scheduler steps once per epoch). With `max_steps` set, or under one epoch, a
    third and a half of the steps."""
    if max_steps > 0 or num_epochs < 1:
        return [max(1, num_training_steps // 3), max(1, num_training_steps // 2)]
    steps_per_epoch = num_training_steps / num_epochs
    return [max(1, round(int(num_epochs / 3) * steps_per_epoch)), max(1, round(int(num_epochs / 2) * steps_per_epoch))]


class CollatorEpochCallback(TrainerCallback):
    """Tells the trainer's data collator which epoch it is collating, so its random crops differ per epoch and a
    resumed run knows the epoch it resumes in."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer

    def on_epoch_begin(self, args, state, control, **kwargs):
        # 0 at the start, e + 1 after epoch e, fractional (e.g. 1.25) when resuming in the middle of epoch 1.
        self.trainer.data_collator.epoch = int(state.epoch)


class MateTrainer(Trainer):
    """Trainer whose loss is `mate_loss` summed over target utterances and divided by the number of
    targets in the whole optimiser step (all accumulated micro-batches, all processes), so gradient
    accumulation and DDP give the gradient of one large batch. The emotion, arousal and valence terms
    are logged separately. Evaluation returns `(emotion_probs, arousal, valence)` as predictions and
    `LABEL_NAMES` as label ids, the convention of `mate_hf.metrics.make_compute_metrics`, and reads every
    sample even with `dataloader_drop_last` (which drops the last partial batch of training only).
    `paper_optimizer` and `paper_lr_schedule` give the authors' Adam and MultiStepLR.
    """

    # compute_loss already divides by the step's target count: no extra division by accumulation steps.
    loss_is_scaled_for_ga = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loss_part_sums = dict.fromkeys(LOSS_PARTS, 0.0)
        self._step_at_last_log = 0
        if self.args.time_shift_augmentation and not hasattr(self.processing_class, "feature_extractor"):
            raise ValueError("time_shift_augmentation needs the trainer's processing_class to be a MateProcessor")
        if hasattr(self.data_collator, "epoch"):
            self.add_callback(CollatorEpochCallback(self))

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs):
        """`Trainer.train`; `resume_from_checkpoint=True` takes the last complete checkpoint, and a checkpoint
        whose save was interrupted is refused (Trainer would fail on its missing state file)."""
        if resume_from_checkpoint is True:
            resume_from_checkpoint = last_complete_checkpoint(self.args.output_dir)
            if resume_from_checkpoint is None:
                raise ValueError(f"no complete checkpoint in {self.args.output_dir} to resume from")
        elif resume_from_checkpoint and not is_complete_checkpoint(resume_from_checkpoint):
            previous = last_complete_checkpoint(Path(resume_from_checkpoint).parent)
            raise ValueError(
                f"{resume_from_checkpoint} is an incomplete checkpoint (no readable {TRAINER_STATE_NAME}: its save "
                f"was interrupted); resume from the last complete one: {previous}"
            )
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def get_eval_dataloader(self, eval_dataset=None):
        with self._keeping_the_last_batch():
            return super().get_eval_dataloader(eval_dataset)

    def get_test_dataloader(self, test_dataset):
        with self._keeping_the_last_batch():
            return super().get_test_dataloader(test_dataset)

    @contextlib.contextmanager
    def _keeping_the_last_batch(self):
        # `dataloader_drop_last` is a training setting (the authors dropped the last partial training batch):
        # evaluation and prediction must see every sample, not lose up to a batch of them silently.
        drop_last = self.args.dataloader_drop_last
        self.args.dataloader_drop_last = False
        try:
            yield
        finally:
            self.args.dataloader_drop_last = drop_last

    def _save_checkpoint(self, model, trial) -> None:
        try:
            super()._save_checkpoint(model, trial)
        except OSError as error:
            step = self.state.global_step
            folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{step}"
            raise save_failure(error, f"saving the checkpoint of step {step}", folder, "; resuming skips it") from error

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device) -> torch.Tensor | None:
        if not batch_samples or "target_mask" not in batch_samples[0]:
            return None
        count = sum((batch["target_mask"] > 0).sum() for batch in batch_samples).to(device)
        if self.args.world_size > 1:
            count = self.accelerator.gather(count).sum()
        return count

    def compute_loss(self, model, inputs: dict, return_outputs: bool = False, num_items_in_batch=None):
        model_inputs = {k: v for k, v in inputs.items() if k not in TARGET_NAMES and k != "majority_labels"}
        # The model then computes windows for the targets only: context-only utterances cost no window.
        model_inputs["target_mask"] = inputs["target_mask"]
        if model.training and self.args.time_shift_augmentation and "input_features" in model_inputs:
            model_inputs["input_features"] = self._time_shifted(model_inputs["input_features"])
        outputs = model(**model_inputs)
        targets = {name: inputs[name] for name in TARGET_NAMES}
        config = self.accelerator.unwrap_model(model).config
        loss, emotion, arousal, valence = mate_loss(
            outputs,
            targets["labels"],
            targets["arousal_labels"],
            targets["valence_labels"],
            targets["target_mask"],
            config,
            num_targets=num_items_in_batch,
        )
        if num_items_in_batch is not None and self.args.world_size > 1:
            # DDP averages gradients over processes; the loss is already normalised by the global count.
            loss = loss * self.args.world_size
        if model.training:
            self._check_finite(loss)
            self._record_parts(emotion, arousal, valence)
        outputs.loss, outputs.loss_emotion, outputs.loss_arousal, outputs.loss_valence = loss, emotion, arousal, valence
        return (loss, outputs) if return_outputs else loss

    def _time_shifted(self, features: torch.Tensor) -> torch.Tensor:
        # Drawn here, inside the step, rather than in the collator: the Trainer restores torch's generator on
        # resume at a step boundary, while the data loader has already collated the next batch by then.
        return shift_into_padding(features, self.processing_class.feature_extractor.padding_value)

    def _check_finite(self, loss: torch.Tensor) -> None:
        if not math.isfinite(loss.item()):
            raise NonFiniteLossError(
                f"the training loss became {loss.item()} at step {self.state.global_step + 1} "
                f"(epoch {self.state.epoch or 0:.2f}); lower the learning rate or check the inputs of this batch"
            )

    def _record_parts(self, *parts: torch.Tensor) -> None:
        # Each micro-batch's part is normalised by the step's global target count: summed over a step
        # they give the step's value (per process, hence × world size).
        for name, value in zip(LOSS_PARTS, parts):
            self._loss_part_sums[name] += value.item() * self.args.world_size

    def log(self, logs: dict, start_time: float | None = None) -> None:
        steps = self.state.global_step - self._step_at_last_log
        if "loss" in logs and steps > 0:
            for name, total in self._loss_part_sums.items():
                logs[name] = round(total / steps, 6)
            self._loss_part_sums = dict.fromkeys(LOSS_PARTS, 0.0)
            self._step_at_last_log = self.state.global_step
        super().log(logs, start_time)

    def create_optimizer(self, model=None):
        if not self.args.paper_optimizer:
            return super().create_optimizer(model)
        if self.optimizer is None:
            model = self.model if model is None else model
            self.optimizer = torch.optim.Adam(
                [parameter for parameter in model.parameters() if parameter.requires_grad],
                lr=self.args.learning_rate,
                betas=(self.args.adam_beta1, self.args.adam_beta2),
                eps=self.args.adam_epsilon,
                weight_decay=self.args.weight_decay,
            )
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        if not self.args.paper_lr_schedule:
            return super().create_scheduler(num_training_steps, optimizer)
        if self.lr_scheduler is None:
            self.lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(
                self.optimizer if optimizer is None else optimizer,
                milestones=paper_lr_milestones(num_training_steps, self.args.num_train_epochs, self.args.max_steps),
                gamma=0.7,
            )
        return self.lr_scheduler

    def prediction_step(self, model, inputs: dict, prediction_loss_only: bool, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        if prediction_loss_only:
            return loss.detach(), None, None
        predictions = (outputs.emotion_probs, outputs.arousal, outputs.valence)
        labels = tuple(inputs[name] for name in LABEL_NAMES)
        return loss.detach(), predictions, labels
