"""The time-shift augmentation: what it moves, and that MateTrainer applies it in training steps only."""

import pytest
import torch

from mate_hf.data.augmentation import shift_into_padding
from mate_hf.data.collator import MateDataCollator
from mate_hf.trainer import MateTrainer, MateTrainingArguments


def _sound_span(utterance: torch.Tensor, padding_value: float) -> tuple[int, int]:
    """First and last frame of `utterance` (n_mels, frames) that are not entirely padding."""
    sounding = (utterance != padding_value).any(dim=0).nonzero().flatten()
    return int(sounding[0]), int(sounding[-1])


def test_each_sound_moves_later_within_its_silence(demo_dialogues, tiny_mate_for_demo_corpus):
    _, processor = tiny_mate_for_demo_corpus
    padding = processor.feature_extractor.padding_value
    # With the 30-turn Sess04_impro03 among 8-9-turn dialogues: padded slots.
    batch = MateDataCollator(processor)(list(demo_dialogues.select(range(15, 19))))
    features = batch["input_features"]
    torch.manual_seed(3)
    shifted = shift_into_padding(features, padding)
    torch.manual_seed(3)
    assert torch.equal(shift_into_padding(features, padding), shifted)  # torch's seed decides
    frames = features.shape[-1]
    shifts = []
    for b, t in batch["utterance_mask"].nonzero().tolist():
        before, after = features[b, t], shifted[b, t]
        first, last = _sound_span(before, padding)
        shift = _sound_span(after, padding)[0] - first
        assert 0 <= shift <= frames - 1 - last  # no sound leaves the window
        assert torch.equal(after[:, first + shift : last + shift + 1], before[:, first : last + 1])
        assert (after[:, : first + shift] == padding).all()
        shifts.append(shift)
    assert len(set(shifts)) > 5  # drawn per utterance, not one offset for the batch
    padded_slots = batch["utterance_mask"] == 0
    assert padded_slots.any() and torch.equal(shifted[padded_slots], features[padded_slots])


def test_silence_and_full_windows_stay_as_they_are():
    silent = torch.full((1, 4, 10), -100.0)
    full = torch.randn(1, 4, 10)
    torch.manual_seed(0)
    assert torch.equal(shift_into_padding(silent, -100.0), silent)
    assert torch.equal(shift_into_padding(full, -100.0), full)


def _features_the_model_sees(trainer: MateTrainer, model, batch: dict) -> torch.Tensor:
    seen = []
    hook = model.register_forward_pre_hook(
        lambda _, args, kwargs: seen.append(kwargs["input_features"]), with_kwargs=True
    )
    try:
        trainer.compute_loss(model, batch)
    finally:
        hook.remove()
    return seen[0]


def test_trainer_shifts_training_steps_only(demo_dialogues, tiny_mate_for_demo_corpus, tmp_path):
    model, processor = tiny_mate_for_demo_corpus
    args = MateTrainingArguments(output_dir=str(tmp_path), time_shift_augmentation=True, use_cpu=True, report_to=[])
    trainer = MateTrainer(model=model, args=args, processing_class=processor)
    batch = MateDataCollator(processor)(list(demo_dialogues.select(range(2))))
    torch.manual_seed(0)
    seen_in_training = _features_the_model_sees(trainer, model.train(), batch)
    torch.manual_seed(0)
    assert torch.equal(
        seen_in_training, shift_into_padding(batch["input_features"], processor.feature_extractor.padding_value)
    )
    assert not torch.equal(seen_in_training, batch["input_features"])
    assert torch.equal(_features_the_model_sees(trainer, model.eval(), batch), batch["input_features"])

    with pytest.raises(ValueError, match="needs the trainer's processing_class to be a MateProcessor"):
        MateTrainer(model=model, args=args)
