"""MateModel's training objective: which parts get gradients, the loss against its formula, the unimodal heads and
the class-balanced weights and loss."""

import pytest
import torch
from torch import nn

from mate_hf import MateModel
from mate_hf.modeling_mate import class_balanced_weights


def _targets(inputs):
    batch, length = inputs["utterance_mask"].shape
    torch.manual_seed(1)
    return dict(
        labels=torch.softmax(torch.randn(batch, length, 7), -1),
        arousal_labels=torch.rand(batch, length) * 4 + 1,
        valence_labels=torch.rand(batch, length) * 4 + 1,
    )


def test_gradients_reach_trainable_parts_and_not_the_frozen_text_encoder(model, make_batch):
    model.train()
    inputs = make_batch(3, 2)
    model(**inputs, **_targets(inputs)).loss.backward()
    for part in (model.audio_encoder, model.dialogue_encoder, model.emotion_head, model.arousal_head):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters() if p.requires_grad)
    assert all(p.grad is None and not p.requires_grad for p in model.text_encoder.parameters())
    assert not model.text_encoder.bert.training  # a frozen encoder gives fixed embeddings: no dropout


def test_unfrozen_text_encoder_gets_gradients(config, make_batch):
    config.freeze_text_encoder = False
    model = MateModel(config).train()
    inputs = make_batch(3, 2)
    model(**inputs, **_targets(inputs)).loss.backward()
    word_embeddings = model.text_encoder.bert.embeddings.word_embeddings.weight
    assert word_embeddings.grad is not None and word_embeddings.grad.abs().sum() > 0


def test_freeze_survives_save_and_reload(model, tmp_path):
    model.save_pretrained(tmp_path)
    reloaded = MateModel.from_pretrained(tmp_path)
    assert not any(p.requires_grad for p in reloaded.text_encoder.parameters())
    assert all(p.requires_grad for p in reloaded.dialogue_encoder.parameters())


def _hand_objective(logits, arousal, valence, targets, keep) -> tuple[torch.Tensor, torch.Tensor]:
    """(λ-weighted MATE objective, KL) over the `keep` utterances, written out."""
    votes = targets["labels"][keep]
    kl = (votes * (votes.log() - logits[keep].log_softmax(-1))).sum(-1).mean()
    squared_errors = (arousal[keep] - targets["arousal_labels"][keep]) ** 2 + (
        valence[keep] - targets["valence_labels"][keep]
    ) ** 2
    return 0.66 * kl + 0.34 * squared_errors.mean(), kl


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_loss_matches_formula_and_ignores_non_targets(config, make_batch, weight):
    """The MATE objective written out; with `unimodal_loss_weight` w > 0, plus w × each auxiliary head's."""
    config.audio_encoder, config.unimodal_loss_weight = "per_utterance", weight
    torch.manual_seed(0)
    model = MateModel(config).eval()
    inputs = make_batch(4, 2)
    targets = _targets(inputs)
    target_mask = inputs["utterance_mask"].clone()
    target_mask[0, :2] = 0  # context-only utterances
    with torch.no_grad():
        out = model(**inputs, **targets, target_mask=target_mask)
    keep = target_mask.bool()
    main, kl = _hand_objective(out.logits, out.arousal, out.valence, targets, keep)
    heads = [
        _hand_objective(
            out.unimodal_logits[:, :, m], out.unimodal_arousal[..., m], out.unimodal_valence[..., m], targets, keep
        )[0]
        for m in range(2 if weight else 0)
    ]
    assert torch.allclose(out.loss_emotion, kl, atol=1e-6)  # the logged components stay the main heads'
    assert torch.allclose(out.loss, main + weight * sum(heads), atol=1e-6)
    if weight:
        audio, text = heads
        assert audio > 0 and text > 0 and not torch.allclose(audio, text)


@pytest.mark.parametrize(
    "modalities, weight, heads",
    [("audio+text", 0.5, ["audio", "text"]), ("audio", 0.5, ["audio"]), ("text", 0.5, ["text"]), ("audio+text", 0, [])],
)
def test_one_unimodal_head_per_used_modality_with_a_positive_weight(config, make_batch, modalities, weight, heads):
    config.audio_encoder, config.modalities, config.unimodal_loss_weight = "per_utterance", modalities, weight
    model = MateModel(config).eval()
    with torch.no_grad():
        out = model(**make_batch(3, 2))
    names = {name.split(".")[2] for name in model.state_dict() if name.startswith("unimodal_heads.")}
    assert names == set(heads)
    if heads:
        assert out.unimodal_logits.shape == (2, 3, len(heads), 7)
        assert out.unimodal_arousal.shape == out.unimodal_valence.shape == (2, 3, len(heads))
    else:
        assert model.unimodal_heads is None and out.unimodal_logits is None


@pytest.mark.parametrize("changed_input, moved_modality", [("input_features", 0), ("input_ids", 1)])
def test_unimodal_heads_read_one_utterance_in_one_modality(config, make_batch, changed_input, moved_modality):
    config.audio_encoder, config.unimodal_loss_weight = "per_utterance", 0.5
    model = MateModel(config).eval()
    inputs = make_batch(4)
    changed = {name: tensor.clone() for name, tensor in inputs.items()}
    if changed_input == "input_features":
        changed["input_features"][0, 1] = torch.randn_like(changed["input_features"][0, 1]) * 30
    else:
        changed["input_ids"][0, 1] = changed["input_ids"][0, 2]
    with torch.no_grad():
        before, after = model(**inputs), model(**changed)
    moved = (before.unimodal_logits - after.unimodal_logits).abs().amax(-1)[0] > 1e-6  # (T, modality)
    expected = torch.zeros(4, 2, dtype=torch.bool)
    expected[1, moved_modality] = True
    assert torch.equal(moved, expected)
    assert (before.dialogue_features[0, 3] - after.dialogue_features[0, 3]).abs().max() > 1e-6  # the LSTM sees context


def test_class_balanced_weights_are_the_authors():
    """SPEC §4: n_j = int(count_j / min count), w_j = (1 − β) / (1 − β^n_j), not normalised."""
    weights = class_balanced_weights([230, 610, 405, 95, 260, 6120, 980], 0.9)
    print("class-balanced weights at beta 0.9:", [round(w, 4) for w in weights.tolist()])
    # n = [2, 6, 4, 1, 2, 64, 10]; 0.1 / (1 − 0.9^n), worked by hand:
    # 0.1/0.19, 0.1/0.468559, 0.1/0.3439, 0.1/0.1, 0.1/0.19, 0.1/(1 − 0.9^64 = 0.998822), 0.1/0.6513216
    expected = torch.tensor([0.526316, 0.213420, 0.290782, 1.0, 0.526316, 0.100118, 0.153534])
    assert torch.allclose(weights, expected, atol=1e-6)


def test_class_balanced_weights_with_raw_counts_would_not_balance():
    """Why the ratio: with n_j the raw counts (all ≥ 95), β^n_j ≈ 0 and every weight is 1.0 to 4 decimals."""
    raw = torch.tensor([(1 - 0.9) / (1 - 0.9**n) for n in [230, 610, 405, 95, 260, 6120, 980]])
    assert torch.allclose(raw, torch.ones(7) * 0.1, atol=1e-5)
    assert class_balanced_weights([230, 610, 405, 95, 260, 6120, 980], 0.9).max() == 1.0


def test_class_absent_from_training_gets_weight_zero_and_the_minimum_is_over_present_classes():
    weights = class_balanced_weights([230, 0, 405, 95, 260, 6120, 980], 0.9)
    assert weights[1] == 0.0
    assert torch.allclose(weights[[0, 3]], torch.tensor([0.1 / 0.19, 1.0]))
    with pytest.raises(ValueError, match="at least one class"):
        class_balanced_weights([0] * 7, 0.9)


def test_class_balanced_loss_is_the_authors_bce(config, make_batch):
    """λ · BCELoss(weight=w)(probs, votes), mean over targets × 7, + (1 − λ) · (MSE(A) + MSE(V))."""
    config.loss_type, config.loss_lambda, config.class_balanced_beta = "class_balanced", 0.9, 0.9
    config.emotion_class_counts = [230, 610, 405, 95, 260, 6120, 980]
    model = MateModel(config).eval()
    inputs = make_batch(3, 2)
    targets = _targets(inputs)
    with torch.no_grad():
        out = model(**inputs, **targets)
    keep = inputs["utterance_mask"].bool()
    bce = nn.BCELoss(weight=class_balanced_weights(config.emotion_class_counts, 0.9))
    emotion = bce(out.emotion_probs[keep], targets["labels"][keep])
    mse = nn.MSELoss()
    affect = mse(out.arousal[keep], targets["arousal_labels"][keep]) + mse(
        out.valence[keep], targets["valence_labels"][keep]
    )
    assert torch.allclose(out.loss_emotion, emotion, atol=1e-6)
    assert torch.allclose(out.loss, 0.9 * emotion + 0.1 * affect, atol=1e-6)


def test_class_balanced_loss_needs_counts(make_batch, config):
    config.loss_type = "class_balanced"
    model = MateModel(config).eval()
    inputs = make_batch(2)
    with pytest.raises(ValueError, match="emotion_class_counts"):
        model(**inputs, **_targets(inputs))
    config.emotion_class_counts = [3, 4, 5, 6, 7, 50, 9]
    with torch.no_grad():
        assert torch.isfinite(MateModel(config).eval()(**inputs, **_targets(inputs)).loss)
