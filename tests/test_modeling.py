"""MateModel: sizes, shapes, batching invariance, encode-once, gradients, loss."""

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel

from mate_hf import MateConfig, MateModel
from mate_hf.modeling_mate import AUDIO_EVAL_CHUNK, MateAudioEncoder, class_balanced_weights

from .conftest import tiny_config


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _mlp(n_in: int, hidden: list[int], n_out: int | None) -> int:
    """Linear + BatchNorm1d (2 params per feature) per hidden layer, plus an optional output Linear."""
    total = 0
    for size in hidden:
        total += _linear(n_in, size) + 2 * size
        n_in = size
    return total + (_linear(n_in, n_out) if n_out else 0)


def _lstm(n_in: int, hidden: int, layers: int) -> int:
    total = 0
    for _ in range(layers):
        total += 4 * hidden * (n_in + hidden) + 2 * 4 * hidden
        n_in = hidden
    return total


def test_default_parameter_count_matches_spec_arithmetic():
    model = MateModel(MateConfig())
    # SPEC §1: input BN(1), convs 1→32 k3, 32→48 k3, 48→32 k5, 32→1 k7 (no bias) each with a BN.
    audio = 2 + (1 * 32 * 9 + 64) + (32 * 48 * 9 + 96) + (48 * 32 * 25 + 64) + (32 * 1 * 49 + 2)
    lstm = _lstm(768 + 816, 512, 4)
    emotion = _mlp(8 * 512, [2048, 512, 256, 64], 7)
    affective = _mlp(8 * 512, [2048, 1024, 512], None)
    regressors = 2 * _mlp(512 + 7, [128, 32], 1)
    expected = audio + lstm + emotion + affective + regressors
    text = sum(p.numel() for p in model.text_encoder.parameters())
    assert sum(p.numel() for p in model.parameters()) - text == expected == 31_411_373
    assert model.config.utterance_hidden_size == 1584
    assert model.config.dialogue_hidden_size == 4096


def test_default_model_output_shapes_for_full_size_clips():
    model = MateModel(MateConfig()).eval()
    batch, length = 2, 3
    features = torch.randn(batch, length, 229, 313)
    embeds = torch.randn(batch, length, 768)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    with torch.no_grad():
        out = model(input_features=features, text_embeds=embeds, utterance_mask=mask)
        audio_embedding = model.audio_encoder(features[0])
    assert audio_embedding.shape == (3, 816)
    assert out.logits.shape == out.emotion_probs.shape == (batch, length, 7)
    assert out.arousal.shape == out.valence.shape == (batch, length)
    assert out.dialogue_features.shape == (batch, length, 4096)
    assert torch.allclose(out.emotion_probs[mask.bool()].sum(-1), torch.ones(5))
    assert torch.all(out.logits[1, 2] == 0)


def test_single_utterance_dialogue(model, make_batch):
    inputs = make_batch(1)
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (1, 1, 7)
    assert torch.isfinite(out.logits).all()
    assert 1.0 <= out.arousal.item() <= 5.0 and 1.0 <= out.valence.item() <= 5.0


def test_audio_encoder_lands_on_grid_for_any_clip_length():
    model = MateModel(MateConfig()).eval()
    with torch.no_grad():
        for frames in (5, 44, 100, 313, 900):
            assert model.audio_encoder(torch.randn(2, 229, frames)).shape == (2, 816)


@pytest.mark.parametrize("last_channels", [1, 3])
@pytest.mark.parametrize("training", [False, True])
def test_audio_encoder_equals_the_plain_nchw_stack(training, last_channels):
    """Channels-last activations and, in eval mode, BatchNorm folded into the convs and chunks of
    AUDIO_EVAL_CHUNK utterances change only speed and memory: the reference is conv → BatchNorm → ReLU →
    pool on contiguous NCHW tensors over the whole batch. A last conv of several channels gives channels × grid
    features."""
    config = tiny_config(audio_conv_channels=[4, 6, 4, last_channels])
    encoder = MateAudioEncoder(config).train(training)
    for norm in (block.norm for block in encoder.blocks):  # trained-looking statistics, so folding shows
        norm.running_mean.normal_(0.0, 1.0)
        norm.running_var.uniform_(0.5, 2.0)
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.normal_(norm.bias)
    features = torch.randn(2 * AUDIO_EVAL_CHUNK + 3, 64, 63) * 20 - 50

    def plain(batch: torch.Tensor) -> torch.Tensor:
        hidden = encoder.input_norm(batch.unsqueeze(1))
        for block in encoder.blocks:
            hidden = block.pool(torch.relu(block.norm(block.conv(hidden.contiguous()))))
        return encoder.grid_pool(hidden).flatten(1)

    with torch.no_grad():
        encoded = encoder(features)
        assert encoded.shape == (len(features), config.audio_hidden_size) == (len(features), 4 * 5 * last_channels)
        assert (encoded - plain(features)).abs().max() < 1e-4


def test_dialogue_alone_equals_dialogue_padded_in_batch(model, make_batch):
    alone = make_batch(3)
    batched = make_batch(3, 9, 5)
    with torch.no_grad():
        out_alone = model(**alone)
        out_batched = model(**batched)
    for name in ("logits", "emotion_probs", "arousal", "valence"):
        difference = (getattr(out_alone, name)[0] - getattr(out_batched, name)[0, :3]).abs().max()
        assert difference < 1e-5, name


def test_padded_slots_never_reach_encoders_or_batchnorm(model, make_batch):
    inputs = make_batch(2, 6)
    inputs["input_features"][0, 2:] = float("nan")  # padding slots filled with poison
    inputs["input_ids"][0, 2:] = 10**6  # out of vocabulary: an embedding lookup would fail
    seen = []
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    with torch.no_grad():
        out = model(**inputs)
    assert seen and set(seen) == {8}
    assert torch.isfinite(out.logits).all()


def test_each_utterance_is_encoded_once_per_forward(model, make_batch):
    counts = {"audio": 0, "text": 0}
    model.audio_encoder.register_forward_hook(
        lambda _m, args, _o: counts.__setitem__("audio", counts["audio"] + args[0].shape[0])
    )
    model.text_encoder.register_forward_hook(
        lambda _m, args, _o: counts.__setitem__("text", counts["text"] + args[0].shape[0])
    )
    inputs = make_batch(12, 4)  # longer than the 8-utterance window: 16 utterances, 16 windows
    with torch.no_grad():
        model(**inputs)
    assert counts == {"audio": 16, "text": 16}


def test_windowed_lstm_equals_explicit_reencoding_of_each_window(model, make_batch):
    """The reference approach: build each 8-utterance window separately (zeros before the start)."""
    inputs = make_batch(11)
    with torch.no_grad():
        out = model(**inputs)
        audio = model.audio_encoder(inputs["input_features"][0])
        text = model.text_encoder(inputs["input_ids"][0], inputs["attention_mask"][0], inputs["token_type_ids"][0])
        utterances = torch.cat([audio, text], -1)
        window = model.config.context_window
        padded = torch.cat([torch.zeros(window - 1, utterances.shape[1]), utterances])
        windows = torch.stack([padded[t : t + window] for t in range(11)])
        lstm_out, _ = model.dialogue_encoder.lstm(windows)
        logits = model.emotion_head(lstm_out.flatten(1))
    assert (out.logits[0] - logits).abs().max() < 1e-5


def test_prediction_depends_only_on_its_window(model, make_batch):
    inputs = make_batch(10)
    changed = {name: tensor.clone() for name, tensor in inputs.items()}
    changed["input_features"][0, 0] = torch.randn_like(changed["input_features"][0, 0]) * 30
    with torch.no_grad():
        before, after = model(**inputs).dialogue_features[0], model(**changed).dialogue_features[0]
    moved = (before - after).abs().amax(-1) > 1e-6
    assert moved[:8].all() and not moved[8:].any()  # utterance 0 is in the windows of utterances 0..7 only


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
    config.unimodal_loss_weight = weight
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
    config.input_modalities, config.unimodal_loss_weight = modalities, weight
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
    config.unimodal_loss_weight = 0.5
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


def test_class_balanced_weights_follow_the_formula():
    counts, beta = [10, 100, 1000, 5, 50, 5000, 500], 0.99
    raw = torch.tensor([(1 - beta) / (1 - beta**n) for n in counts])
    weights = class_balanced_weights(counts, beta)
    assert torch.allclose(weights, raw / raw.sum() * 7)
    assert weights[3] > weights[0] > weights[5]  # rarer classes weigh more


def test_class_balanced_loss_needs_counts(make_batch, config):
    config.loss_type = "class_balanced"
    model = MateModel(config).eval()
    inputs = make_batch(2)
    with pytest.raises(ValueError, match="emotion_class_counts"):
        model(**inputs, **_targets(inputs))
    config.emotion_class_counts = [3, 4, 5, 6, 7, 50, 9]
    with torch.no_grad():
        assert torch.isfinite(MateModel(config).eval()(**inputs, **_targets(inputs)).loss)


@pytest.mark.parametrize("modalities, dropped", [("audio", "input_ids"), ("text", "input_features")])
def test_single_modality_runs_without_the_other_input(config, make_batch, modalities, dropped):
    config.input_modalities = modalities
    model = MateModel(config).eval()
    inputs = make_batch(3)
    del inputs[dropped]
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (1, 3, 7)


def test_text_embeds_replace_input_ids(model, make_batch):
    inputs = make_batch(3, 5)
    embeds = model.embed_text(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    with torch.no_grad():
        from_ids = model(**inputs).logits
        from_embeds = model(
            input_features=inputs["input_features"], text_embeds=embeds, utterance_mask=inputs["utterance_mask"]
        ).logits
    assert (from_ids - from_embeds).abs().max() < 1e-5


def test_from_pretrained_text_encoder_loads_bert_weights(tmp_path):
    bert_config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    torch.manual_seed(3)
    bert = BertModel(bert_config)
    bert.save_pretrained(tmp_path / "bert")
    model = MateModel.from_pretrained_text_encoder(str(tmp_path / "bert"), config=tiny_config())
    assert model.config.text_config.vocab_size == 50
    loaded = model.text_encoder.bert.state_dict()
    for name, tensor in bert.state_dict().items():
        if not name.startswith("pooler"):
            assert torch.equal(loaded[name], tensor), name


def test_from_pretrained_text_encoder_rejects_incomplete_checkpoint(tmp_path):
    from safetensors.torch import save_file

    bert_config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    bert = BertModel(bert_config)
    bert.save_pretrained(tmp_path / "bert")
    state = {k: v for k, v in bert.state_dict().items() if "encoder.layer.0.output" not in k}
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "bert" / "model.safetensors")
    with pytest.raises(ValueError, match="lacks text-encoder weights"):
        MateModel.from_pretrained_text_encoder(str(tmp_path / "bert"), config=tiny_config())


def test_missing_inputs_are_reported(model):
    with pytest.raises(ValueError, match="needs input_features"):
        model(input_ids=torch.ones(1, 2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="no utterance"):
        model(
            input_features=torch.zeros(1, 2, 64, 63),
            text_embeds=torch.zeros(1, 2, 32),
            utterance_mask=torch.zeros(1, 2),
        )
