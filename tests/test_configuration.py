"""MateConfig defaults (SPEC §1) and validation."""

import json
import warnings
from pathlib import Path

import pytest

from mate_hf import EMOTION_LABELS, MateConfig


def test_defaults_follow_the_spec():
    config = MateConfig()
    assert (config.sampling_rate, config.max_duration, config.n_fft, config.hop_length) == (16000, 10.0, 2048, 512)
    assert (config.f_min, config.f_max, config.n_mels) == (30.0, 8000.0, 229)
    assert (config.audio_encoder, config.audio_input_norm) == ("window_channels", "standardize")
    assert list(config.audio_conv_channels) == [32, 48, 32, 1]
    assert list(config.audio_conv_kernel_sizes) == [3, 3, 5, 7]
    assert (config.context_window, config.lstm_hidden_size, config.lstm_num_layers) == (8, 512, 4)
    assert (config.audio_hidden_size, config.text_hidden_size, config.utterance_hidden_size) == (816, 768, 1584)
    text = config.text_config
    # Shaped like KoBERT (skt/kobert-base-v1), the authors' text encoder.
    assert (text.model_type, text.vocab_size, text.hidden_size, text.num_hidden_layers) == ("bert", 8002, 768, 12)
    assert text.num_attention_heads == 12
    assert [config.id2label[i] for i in range(7)] == list(EMOTION_LABELS)
    assert EMOTION_LABELS == ("disgust", "angry", "sad", "fear", "surprise", "neutral", "happy")
    assert config.loss_lambda == 0.66 and config.loss_type == "kl" and config.freeze_text_encoder


@pytest.mark.parametrize("encoder", ["window_channels", "per_utterance"])
def test_round_trip_keeps_every_setting(tmp_path, encoder):
    config = MateConfig(
        lstm_bidirectional=True,
        loss_type="class_balanced",
        emotion_class_counts=[1, 2, 3, 4, 5, 6, 7],
        audio_encoder=encoder,
    )
    config.save_pretrained(tmp_path)
    reloaded = MateConfig.from_pretrained(tmp_path)
    assert reloaded.to_dict() == config.to_dict()
    assert reloaded.audio_encoder == encoder and reloaded.audio_input_norm == "standardize"
    assert reloaded.dialogue_hidden_size == 8 * 512 * 2


def test_a_saved_config_without_encoder_modes_is_the_per_utterance_model(tmp_path):
    """Folders saved before `audio_encoder` existed were built with the per-utterance encoder and a learned input
    BatchNorm; a config built in code without the fields gets today's defaults."""
    saved = MateConfig().to_dict()
    del saved["audio_encoder"], saved["audio_input_norm"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    old = MateConfig.from_pretrained(tmp_path)
    assert (old.audio_encoder, old.audio_input_norm) == ("per_utterance", "batch_norm")
    assert MateConfig(lstm_hidden_size=64).audio_encoder == "window_channels"


def test_input_modalities_keyword_is_deprecated_for_modalities(tmp_path):
    with pytest.warns(FutureWarning, match="input_modalities is deprecated, use modalities"):
        config = MateConfig(input_modalities="audio")
    assert config.modalities == "audio"
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["modalities"] == "audio" and "input_modalities" not in saved
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a config saved today loads without the warning
        assert MateConfig.from_pretrained(tmp_path).modalities == "audio"


def test_a_saved_config_with_input_modalities_loads_into_modalities(tmp_path):
    """tests/fixtures/mate_before_encoder_modes was saved when the setting was called `input_modalities`."""
    fixture = Path(__file__).parent / "fixtures" / "mate_before_encoder_modes" / "config.json"
    old = json.loads(fixture.read_text())
    assert old["input_modalities"] == "audio+text" and "modalities" not in old
    old["input_modalities"] = "text"
    (tmp_path / "config.json").write_text(json.dumps(old))
    for folder, expected in ((fixture.parent, "audio+text"), (tmp_path, "text")):
        with pytest.warns(FutureWarning, match="input_modalities is deprecated, use modalities"):
            config = MateConfig.from_pretrained(folder)
        assert config.modalities == expected
    resaved = tmp_path / "resaved"
    config.save_pretrained(resaved)
    saved = json.loads((resaved / "config.json").read_text())
    assert saved["modalities"] == "text" and "input_modalities" not in saved


def test_input_modalities_attribute_is_a_deprecated_alias():
    config = MateConfig()
    with pytest.warns(FutureWarning, match="use modalities"):
        config.input_modalities = "text"
    assert config.modalities == "text" and "input_modalities" not in config.to_dict()
    with pytest.warns(FutureWarning, match="use modalities"):
        assert config.input_modalities == "text"


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(modalities="video"), "modalities"),
        (dict(loss_lambda=1.5), "loss_lambda"),
        (dict(context_window=0), "context_window"),
        (dict(audio_conv_kernel_sizes=[3, 3, 5]), "one entry per conv block"),
        (dict(emotion_class_counts=[1, 2]), "one count per emotion"),
        (dict(audio_encoder="per_window"), "audio_encoder"),
        (dict(audio_input_norm="layer_norm"), "audio_input_norm"),
        (dict(unimodal_loss_weight=0.5), "needs audio_encoder='per_utterance'"),
        (dict(class_balanced_beta=1.0), "class_balanced_beta"),
    ],
)
def test_invalid_settings_are_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        MateConfig(**settings)
