"""MateModel: sizes, shapes, batching invariance, encode-once, inputs (the objective: test_training_objective.py)."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from transformers import AutoModel, BertModel

from mate_hf import MateConfig, MateModel
from mate_hf.modeling_mate import AUDIO_EVAL_CHUNK, MateAudioEncoder, standardize


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


def _non_text_parameters(model: MateModel) -> int:
    text = sum(p.numel() for p in model.text_encoder.parameters())
    return sum(p.numel() for p in model.parameters()) - text


def _shared_parts() -> int:
    """The LSTM (1584 → 4 × 512) and the heads, the same in both encoder modes."""
    lstm = _lstm(768 + 816, 512, 4)
    emotion = _mlp(8 * 512, [2048, 512, 256, 64], 7)
    affective = _mlp(8 * 512, [2048, 1024, 512], None)
    regressors = 2 * _mlp(512 + 7, [128, 32], 1)
    return lstm + emotion + affective + regressors


def test_default_parameter_count_is_the_authors_model():
    model = MateModel(MateConfig())
    # SPEC §1: convs 8→32 k3, 32→48 k3, 48→32 k5, 32→8 k7 (no bias), each with a BatchNorm; no input BatchNorm.
    audio = (8 * 32 * 9 + 64) + (32 * 48 * 9 + 96) + (48 * 32 * 25 + 64) + (32 * 8 * 49 + 16)
    count = _non_text_parameters(model)
    print(f"MateConfig(): {count:,} parameters outside the text encoder")
    assert count == audio + _shared_parts() == 31_424_377  # the count of the authors' DoRaeMiSol_lstm
    assert model.config.utterance_hidden_size == 1584
    assert model.config.dialogue_hidden_size == 4096
    assert not any("input_norm" in name for name in model.state_dict())


def test_per_utterance_encoder_with_input_batchnorm_keeps_its_parameter_count():
    model = MateModel(MateConfig(audio_encoder="per_utterance", audio_input_norm="batch_norm"))
    # Input BN(1), convs 1→32 k3, 32→48 k3, 48→32 k5, 32→1 k7, each with a BatchNorm.
    audio = 2 + (1 * 32 * 9 + 64) + (32 * 48 * 9 + 96) + (48 * 32 * 25 + 64) + (32 * 1 * 49 + 2)
    assert _non_text_parameters(model) == audio + _shared_parts() == 31_411_373


@pytest.mark.parametrize("encoder", ["window_channels", "per_utterance"])
def test_default_model_output_shapes_for_full_size_clips(encoder):
    model = MateModel(MateConfig(audio_encoder=encoder)).eval()
    batch, length = 2, 3
    features = torch.randn(batch, length, 229, 313)
    embeds = torch.randn(batch, length, 768)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    with torch.no_grad():
        out = model(input_features=features, text_embeds=embeds, utterance_mask=mask)
        positions = model.audio_encoder.positions
        audio = model.audio_encoder(features[0], torch.tensor([[-1] * (positions - 1) + [0]]))
    assert audio.shape == (1, positions, 816)
    assert out.logits.shape == out.emotion_probs.shape == (batch, length, 7)
    assert out.arousal.shape == out.valence.shape == (batch, length)
    assert out.dialogue_features.shape == (batch, length, 4096)
    assert torch.allclose(out.emotion_probs[mask.bool()].sum(-1), torch.ones(5))
    assert torch.all(out.logits[1, 2] == 0)


@pytest.mark.parametrize("encoder", ["window_channels", "per_utterance"])
def test_single_utterance_dialogue(config, make_batch, encoder):
    config.audio_encoder = encoder
    model = MateModel(config).eval()
    inputs = make_batch(1)
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (1, 1, 7)
    assert torch.isfinite(out.logits).all()
    assert 1.0 <= out.arousal.item() <= 5.0 and 1.0 <= out.valence.item() <= 5.0


def test_audio_encoder_lands_on_grid_for_any_clip_length():
    model = MateModel(MateConfig()).eval()
    windows = torch.tensor([[-1, -1, -1, -1, -1, -1, 0, 1]])
    with torch.no_grad():
        for frames in (5, 44, 100, 313, 900):
            assert model.audio_encoder(torch.randn(2, 229, frames), windows).shape == (1, 8, 816)


def test_standardize_equals_a_fresh_batchnorm_in_training_mode_on_each_utterance():
    """What the authors' Dataset did: a new BatchNorm2d(1), never trained, never in eval mode, one utterance at a
    time."""
    features = torch.randn(3, 64, 63) * 20 - 50
    features[1, :, 40:] = -100.0  # padding frames count in the statistics
    expected = torch.cat([nn.BatchNorm2d(1)(utterance[None, None])[0] for utterance in features])
    assert (standardize(features) - expected).abs().max() < 1e-5


@pytest.mark.parametrize("encoder", ["window_channels", "per_utterance"])
@pytest.mark.parametrize("last_channels", [1, 3])
@pytest.mark.parametrize("training", [False, True])
def test_audio_encoder_equals_the_plain_nchw_stack(tiny_config, training, last_channels, encoder):
    """Channels-last activations and, in eval mode, BatchNorm folded into the convs and chunks of
    AUDIO_EVAL_CHUNK inputs change only speed and memory: the reference is conv → BatchNorm → ReLU →
    pool on contiguous NCHW tensors over the whole batch. A last conv of several channels per position gives
    channels × grid features per position, position i's channels being the i-th group."""
    config = tiny_config(audio_conv_channels=[4, 6, 4, last_channels], audio_encoder=encoder)
    encoder_module = MateAudioEncoder(config).train(training)
    for norm in (block.norm for block in encoder_module.blocks):  # trained-looking statistics, so folding shows
        norm.running_mean.normal_(0.0, 1.0)
        norm.running_var.uniform_(0.5, 2.0)
        nn.init.uniform_(norm.weight, 0.5, 1.5)
        nn.init.normal_(norm.bias)
    features = torch.randn(2 * AUDIO_EVAL_CHUNK + 3, 64, 63) * 20 - 50
    positions = encoder_module.positions
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(-1, len(features), (2 * AUDIO_EVAL_CHUNK + 5, positions), generator=generator)
    inputs[:, -1] = torch.arange(len(inputs)) % len(features)  # a window's last slot is a real utterance

    def plain(rows: torch.Tensor) -> torch.Tensor:
        mean = features.mean(dim=(1, 2), keepdim=True)
        variance = features.var(dim=(1, 2), keepdim=True, unbiased=False)
        normalised = torch.cat([torch.zeros(1, 64, 63), (features - mean) / torch.sqrt(variance + 1e-5)])
        hidden = normalised[rows + 1]
        for block in encoder_module.blocks:
            hidden = block.pool(torch.relu(block.norm(block.conv(hidden.contiguous()))))
        pooled = encoder_module.grid_pool(hidden)
        return pooled.reshape(len(rows), positions, last_channels * 4 * 5)

    with torch.no_grad():
        encoded = encoder_module(features, inputs)
        assert encoded.shape == (len(inputs), positions, config.audio_hidden_size)
        assert config.audio_hidden_size == 4 * 5 * last_channels
        assert (encoded - plain(inputs)).abs().max() < 1e-4


def test_a_folder_saved_before_the_encoder_modes_predicts_as_before():
    """A folder written before `audio_encoder` existed (tests/fixtures/mate_before_encoder_modes, made at commit
    677f6bf with its outputs) loads as the per-utterance encoder with a learned input BatchNorm; its config.json
    still says `input_modalities`."""
    folder = Path(__file__).parent / "fixtures" / "mate_before_encoder_modes"
    assert "audio_encoder" not in json.loads((folder / "config.json").read_text())
    with pytest.warns(FutureWarning, match="input_modalities is deprecated"):
        model = AutoModel.from_pretrained(folder).eval()
    assert (model.config.audio_encoder, model.config.audio_input_norm) == ("per_utterance", "batch_norm")
    saved = load_file(folder / "inputs_and_outputs.safetensors")
    with torch.no_grad():
        out = model(
            **{name: saved[name] for name in ("input_features", "input_ids", "attention_mask", "utterance_mask")}
        )
    for name in ("logits", "arousal", "valence"):
        assert torch.equal(getattr(out, name), saved[name]), name


ENCODERS = ["window_channels", "per_utterance"]


@pytest.fixture(params=ENCODERS)
def model_of_each_encoder(request, config):
    """The tiny MATE with each audio encoder (eval mode)."""
    config.audio_encoder = request.param
    torch.manual_seed(0)
    return MateModel(config).eval()


def test_dialogue_alone_equals_dialogue_padded_in_batch(model_of_each_encoder, make_batch):
    model = model_of_each_encoder
    alone = make_batch(3)
    batched = make_batch(3, 9, 5)
    with torch.no_grad():
        out_alone = model(**alone)
        out_batched = model(**batched)
    for name in ("logits", "emotion_probs", "arousal", "valence"):
        difference = (getattr(out_alone, name)[0] - getattr(out_batched, name)[0, :3]).abs().max()
        assert difference < 1e-5, name


@pytest.mark.parametrize("input_norm", ["standardize", "batch_norm"])
def test_padded_slots_never_reach_encoders_or_batchnorm(model_of_each_encoder, make_batch, input_norm):
    model_of_each_encoder.config.audio_input_norm = input_norm
    model = MateModel(model_of_each_encoder.config).eval()
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


def _count_encoder_inputs(model: MateModel) -> dict[str, int]:
    """Audio encoder inputs (utterances or windows), text encoder utterances and LSTM windows per forward."""
    counts = {"audio": 0, "text": 0, "windows": 0}

    def count(name: str, rows_argument: int):
        def hook(_module, args, _output):
            counts[name] += args[rows_argument].shape[0]

        return hook

    model.audio_encoder.register_forward_hook(count("audio", 1))  # (features, inputs): one per input
    model.text_encoder.register_forward_hook(count("text", 0))
    model.dialogue_encoder.register_forward_hook(count("windows", 0))
    return counts


@pytest.mark.parametrize("encoder, audio_inputs", [("window_channels", 16), ("per_utterance", 16)])
def test_each_target_window_is_computed_once_per_forward(config, make_batch, encoder, audio_inputs):
    config.audio_encoder = encoder
    model = MateModel(config).eval()
    counts = _count_encoder_inputs(model)
    inputs = make_batch(12, 4)  # longer than the 8-utterance window: 16 utterances, 16 windows
    with torch.no_grad():
        model(**inputs)
    # window_channels: one CNN pass per target's window; per_utterance: one per utterance.
    assert counts == {"audio": audio_inputs, "text": 16, "windows": 16}


@pytest.mark.parametrize("encoder, audio_inputs", [("window_channels", 5), ("per_utterance", 16)])
def test_context_only_utterances_cost_no_window(config, make_batch, encoder, audio_inputs):
    """Chunks carry earlier turns as context (`target_mask` 0): they are read in the targets' windows, encoded
    once as utterances where the encoder works per utterance, and get no window or prediction of their own."""
    config.audio_encoder = encoder
    model = MateModel(config).eval()
    inputs = make_batch(12, 4)
    target_mask = torch.zeros_like(inputs["utterance_mask"])
    target_mask[0, 9:] = 1
    target_mask[1, 2:] = 1
    counts = _count_encoder_inputs(model)
    with torch.no_grad():
        chunked = model(**inputs, target_mask=target_mask)
        whole = model(**inputs)
    assert counts["windows"] == 5 + 16 and counts["audio"] == audio_inputs + 16
    keep = target_mask.bool()
    assert (chunked.logits[keep] - whole.logits[keep]).abs().max() < 1e-5  # the same windows, the same predictions
    assert torch.all(chunked.logits[~keep] == 0)


def _padded_window(rows: torch.Tensor, window: int) -> torch.Tensor:
    """`(T, ...)` → `(T, window, ...)`: each row with the `window` − 1 rows before it, zeros before the first."""
    padded = torch.cat([rows.new_zeros(window - 1, *rows.shape[1:]), rows])
    return torch.stack([padded[t : t + window] for t in range(len(rows))])


def test_windowed_lstm_equals_explicit_reencoding_of_each_window(config, make_batch):
    """Per-utterance encoder: the reference approach, each 8-utterance window built separately (zeros before the
    start), gives what slicing the once-encoded sequence gives."""
    config.audio_encoder = "per_utterance"
    model = MateModel(config).eval()
    inputs = make_batch(11)
    with torch.no_grad():
        out = model(**inputs)
        audio = model.audio_encoder(inputs["input_features"][0], torch.arange(11).unsqueeze(1)).squeeze(1)
        text = model.text_encoder(inputs["input_ids"][0], inputs["attention_mask"][0], inputs["token_type_ids"][0])
        windows = _padded_window(torch.cat([audio, text], -1), model.config.context_window)
        lstm_out, _ = model.dialogue_encoder.lstm(windows)
        logits = model.emotion_head(lstm_out.flatten(1))
    assert (out.logits[0] - logits).abs().max() < 1e-5


def test_window_channel_encoder_reads_each_window_as_one_input(config, make_batch):
    """Window channels: each target's 8 standardised spectrograms (zeros before the dialogue's start) are the 8
    input channels of one CNN pass, whose 8 output channels are the positions' audio features."""
    model = MateModel(config).eval()
    inputs = make_batch(11)
    features = inputs["input_features"][0]
    with torch.no_grad():
        out = model(**inputs)
        spectrograms = _padded_window(standardize(features), 8)  # (11, 8, n_mels, frames)
        hidden = spectrograms
        for block in model.audio_encoder.blocks:
            hidden = block.pool(torch.relu(block.norm(block.conv(hidden))))
        audio = model.audio_encoder.grid_pool(hidden).flatten(2)  # (11, 8, features per position)
        text = model.text_encoder(inputs["input_ids"][0], inputs["attention_mask"][0], inputs["token_type_ids"][0])
        text_windows = _padded_window(text, 8)
        lstm_out, _ = model.dialogue_encoder.lstm(torch.cat([audio, text_windows], -1))
        logits = model.emotion_head(lstm_out.flatten(1))
    assert (out.logits[0] - logits).abs().max() < 1e-5


def test_prediction_depends_only_on_its_window(model_of_each_encoder, make_batch):
    model = model_of_each_encoder
    inputs = make_batch(10)
    changed = {name: tensor.clone() for name, tensor in inputs.items()}
    changed["input_features"][0, 0] = torch.randn_like(changed["input_features"][0, 0]) * 30
    with torch.no_grad():
        before, after = model(**inputs).dialogue_features[0], model(**changed).dialogue_features[0]
    moved = (before - after).abs().amax(-1) > 1e-6
    assert moved[:8].all() and not moved[8:].any()  # utterance 0 is in the windows of utterances 0..7 only


@pytest.mark.parametrize("modalities, dropped", [("audio", "input_ids"), ("text", "input_features")])
def test_single_modality_runs_without_the_other_input(config, make_batch, modalities, dropped):
    config.modalities = modalities
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


def test_from_pretrained_text_encoder_loads_bert_weights(tiny_config, tmp_path):
    torch.manual_seed(3)
    bert = BertModel(tiny_config(vocab_size=50).text_config)
    bert.save_pretrained(tmp_path / "bert")
    model = MateModel.from_pretrained_text_encoder(str(tmp_path / "bert"), config=tiny_config())
    assert model.config.text_config.vocab_size == 50
    loaded = model.text_encoder.bert.state_dict()
    for name, tensor in bert.state_dict().items():
        if not name.startswith("pooler"):
            assert torch.equal(loaded[name], tensor), name


def test_from_pretrained_text_encoder_rejects_incomplete_checkpoint(tiny_config, tmp_path):
    from safetensors.torch import save_file

    bert = BertModel(tiny_config(vocab_size=50).text_config)
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
