"""MateFeatureExtractor: shapes, resampling, channels, PCM formats, crops and input validation."""

import numpy as np
import pytest
import torch
import torchaudio

from mate_hf import MateFeatureExtractor, feature_extraction_mate


@pytest.fixture(scope="module")
def extractor():
    return MateFeatureExtractor()


def _tones(sampling_rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    """A signal band-limited below 3 kHz, sampled at `sampling_rate`: the same sound at any rate ≥ 8 kHz."""
    t = np.arange(int(seconds * sampling_rate)) / sampling_rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t) + 0.1 * np.sin(2 * np.pi * 2700 * t)
    return np.stack([mono] * channels).astype(np.float32) if channels > 1 else mono.astype(np.float32)


def test_ten_second_clip_gives_229_by_313(extractor):
    features = extractor(np.random.default_rng(0).normal(0, 0.1, 160000), sampling_rate=16000)
    assert features["input_features"].shape == (1, 1, 229, 313)
    assert features["utterance_mask"].tolist() == [[1]]
    assert extractor.num_frames == 313


def test_8khz_stereo_matches_16khz_mono(extractor):
    reference = extractor(_tones(16000, 2.0), sampling_rate=16000)["input_features"][0, 0]
    stereo = _tones(8000, 2.0, channels=2)
    converted = extractor(stereo, sampling_rate=8000)["input_features"][0, 0]
    # Compare where the sound is: mel bands below 3.5 kHz, frames inside the 2 s of audio, energy above -60 dB.
    mel_centres = np.linspace(2595 * np.log10(1 + 30 / 700), 2595 * np.log10(1 + 8000 / 700), 229 + 2)[1:-1]
    low_bands = torch.from_numpy(700 * (10 ** (mel_centres / 2595) - 1) < 3500)
    region = reference[low_bands, 2:60]
    loud = region > -60
    assert loud.sum() > 1000
    assert (region[loud] - converted[low_bands, 2:60][loud]).abs().max() < 1.0  # dB


def test_channels_last_layout_is_accepted(extractor):
    channels_first = _tones(16000, 1.0, channels=2)
    a = extractor(channels_first, sampling_rate=16000)["input_features"]
    b = extractor(channels_first.T.copy(), sampling_rate=16000)["input_features"]
    assert torch.equal(a, b)


def test_integer_pcm_equals_float(extractor):
    signal = _tones(16000, 1.0)
    as_int16 = np.round(signal * 32767).astype(np.int16)
    as_float = as_int16.astype(np.float32) / 32768
    a = extractor(as_int16, sampling_rate=16000)["input_features"]
    b = extractor(as_float, sampling_rate=16000)["input_features"]
    assert torch.allclose(a, b, atol=1e-4)
    c = extractor(as_int16.astype(np.int32) * 65536, sampling_rate=16000)["input_features"]
    assert torch.allclose(a, c, atol=1e-3)
    d = extractor(torch.from_numpy(as_float).double(), sampling_rate=16000)["input_features"]
    assert torch.allclose(b, d, atol=1e-4)


def test_short_clip_is_padded_with_silence(extractor):
    features = extractor(_tones(16000, 1.0), sampling_rate=16000)["input_features"][0, 0]
    assert features[:, -20:].max() == -100.0  # the last frames lie entirely in the zero padding
    assert features[:, :20].max() > -40.0


def test_long_clip_crops(extractor):
    rng = np.random.default_rng(1)
    long_clip = rng.normal(0, 0.1, 16000 * 14).astype(np.float32)
    centre = extractor(long_clip, sampling_rate=16000)["input_features"]
    expected = extractor(long_clip[32000:192000], sampling_rate=16000)["input_features"]
    assert torch.allclose(centre, expected, atol=1e-4)
    first = extractor(long_clip, sampling_rate=16000, crop="random", seed=5)["input_features"]
    again = extractor(long_clip, sampling_rate=16000, crop="random", seed=5)["input_features"]
    other = extractor(long_clip, sampling_rate=16000, crop="random", seed=6)["input_features"]
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_batch_of_dialogues_is_padded_with_a_mask(extractor):
    dialogues = [[_tones(16000, 0.5)] * 3, [_tones(16000, 0.5)]]
    features = extractor(dialogues, sampling_rate=16000)
    assert features["input_features"].shape == (2, 3, 229, 313)
    assert features["utterance_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert torch.all(features["input_features"][1, 1:] == -100.0)


def test_pad_dialogues_pads_every_dimension_and_keeps_the_dtype():
    """The one padding of (B, T, ...) batches: the feature extractor's, the processor's, the collator's, the
    pipeline's."""
    token_ids = [torch.tensor([[2, 7, 3], [2, 3, 0]]), torch.tensor([[2, 9, 9, 3]])]  # 2 and 1 utterances
    padded = feature_extraction_mate.pad_dialogues(token_ids, fill=1)
    assert padded.dtype == torch.long and padded.tolist() == [
        [[2, 7, 3, 1], [2, 3, 0, 1]],
        [[2, 9, 9, 3], [1, 1, 1, 1]],
    ]
    votes = [torch.rand(3, 7), torch.rand(1, 7)]
    assert feature_extraction_mate.pad_dialogues(votes, item_shape=(7,))[1, 1:].eq(0).all()
    with pytest.raises(ValueError, match=r"dialogue 1: expected values of shape \(7,\) per utterance, got \(6,\)"):
        feature_extraction_mate.pad_dialogues([torch.rand(3, 7), torch.rand(2, 6)], item_shape=(7,))
    mask = feature_extraction_mate.dialogue_mask([3, 1, 2], starts=[1, 0, 0])
    assert mask.dtype == torch.long and mask.tolist() == [[0, 1, 1], [1, 0, 0], [1, 1, 0]]


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.array([0.1, np.nan, 0.2], dtype=np.float32), "NaN"),
        (np.array([0.1, np.inf, 0.2]), "NaN or infinite"),
        (np.zeros((2, 3, 400), dtype=np.float32), "shape"),
        (np.array(["a", "b"]), "dtype"),
        ([[np.zeros(100, dtype=np.float32)], []], "dialogue 1"),
        ([], "expected an utterance"),
    ],
)
def test_bad_audio_raises_a_clear_value_error(extractor, audio, message):
    with pytest.raises(ValueError, match=message):
        extractor(audio, sampling_rate=16000)


def test_sampling_rate_is_required_and_checked(extractor):
    with pytest.raises(ValueError, match="sampling_rate is required"):
        extractor(np.zeros(100, dtype=np.float32))
    with pytest.raises(ValueError, match="positive integer"):
        extractor(np.zeros(100, dtype=np.float32), sampling_rate=-8000)


def test_error_names_the_utterance(extractor):
    dialogue = [np.zeros(100, dtype=np.float32), np.array([np.nan], dtype=np.float32)]
    with pytest.raises(ValueError, match="dialogue 0, utterance 1"):
        extractor(dialogue, sampling_rate=16000)


def test_save_and_reload_keeps_settings(tmp_path):
    extractor = MateFeatureExtractor(max_duration=3.0, n_mels=80)
    extractor(np.zeros(800, dtype=np.float32) + 0.1, sampling_rate=16000)  # builds the cached mel transform
    extractor.save_pretrained(tmp_path)
    reloaded = MateFeatureExtractor.from_pretrained(tmp_path)
    assert (reloaded.max_duration, reloaded.n_mels, reloaded.num_frames) == (3.0, 80, extractor.num_frames)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"max_duration": 1.0, "n_fft": 512, "hop_length": 256, "n_mels": 64},
        {"max_duration": 2.0, "n_fft": 1023},
        {"max_duration": 1.024},
    ],
)
@pytest.mark.parametrize("frame_group", [1, 16])
def test_log_mel_skips_the_padding_yet_equals_the_full_spectrogram(settings, frame_group, monkeypatch):
    # Reference: the mel of every frame of the zero-padded waveforms, as computed before the padding was skipped.
    # Grouping rounds the computed frames up; one frame per group leaves no slack to hide an off-by-one.
    monkeypatch.setattr(feature_extraction_mate, "_FRAME_GROUP", frame_group)
    extractor = MateFeatureExtractor(**settings)
    n, half = extractor.num_samples, extractor.n_fft // 2
    lengths = [1, 100, half, half + 1, 5000, n // 2, n - 2 * half, n - half - 1, n - half, n - 700, n - 1, n]
    rng = np.random.default_rng(0)
    waveforms = np.zeros((len(lengths) + 2, n), dtype=np.float32)
    for row, length in enumerate(lengths):
        waveforms[row, :length] = rng.normal(0, 0.1, length)
    waveforms[-2, 3000:3100] = 0.5  # a burst between zeros; the last row stays silent
    batch = torch.from_numpy(waveforms)
    full_mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=16000,
        n_fft=extractor.n_fft,
        hop_length=extractor.hop_length,
        f_min=30.0,
        f_max=8000.0,
        n_mels=extractor.n_mels,
        power=2.0,
    )
    expected = 10.0 * torch.log10(torch.clamp(full_mel(batch), min=1e-10))
    features = extractor.log_mel(batch)
    assert features.shape == expected.shape == (len(waveforms), extractor.n_mels, extractor.num_frames)
    assert (features - expected).abs().max() < 1e-4
    assert torch.equal(features[-1], torch.full_like(features[-1], -100.0))
    one_by_one = torch.cat([extractor.log_mel(batch[row : row + 1]) for row in range(len(batch))])
    assert (one_by_one - expected).abs().max() < 1e-4
