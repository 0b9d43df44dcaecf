"""The models and inputs every measure shares: MATE and wav2vec2 with random weights, speech-like WAV files, cached
log-mels."""

from pathlib import Path

import numpy as np
import soundfile
import torch
from transformers import (
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForSequenceClassification,
    pipeline,
)

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer

from .settings import TRANSCRIPTS, Settings


def build_mate(settings: Settings, **overrides) -> tuple[MateModel, MateProcessor]:
    """A MATE of the run's size (the default architecture, KoBERT-shaped text encoder) with random weights;
    `overrides` change its config."""
    torch.manual_seed(0)
    config = MateConfig(**{**settings.mate_config, **overrides})
    model = MateModel(config).eval()
    processor = MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), build_char_tokenizer(TRANSCRIPTS))
    return model, processor


def build_wav2vec2_pipeline(settings: Settings):
    """What a user would otherwise pick: wav2vec2-base for audio classification, through the pipeline."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(num_labels=7, **settings.wav2vec2_config)
    model = Wav2Vec2ForSequenceClassification(config).eval()
    return pipeline("audio-classification", model=model, feature_extractor=Wav2Vec2FeatureExtractor())


def speech_like(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonics with a wandering pitch plus a little noise: a voiced stand-in with a speech-like spectrum."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    return (0.1 * voice + rng.normal(0, 0.01, t.shape)).astype(np.float32)


def write_corpus(folder: Path, count: int, rate: int, max_duration: float, long_every: int = 0) -> list[Path]:
    """`count` WAV files (16-bit PCM) at `rate`, a few seconds each like conversational turns (log-normal
    around 3 s, 0.5 s to 1.4 × the model's window); with `long_every`, every `long_every`-th file is 1.05 to
    1.4 × the window, so that the feature window cuts it."""
    rng = np.random.default_rng(rate)
    paths = []
    for index in range(count):
        seconds = float(np.clip(rng.lognormal(np.log(0.3 * max_duration), 0.6), 0.5, 1.4 * max_duration))
        if long_every and index % long_every == long_every - 1:
            seconds = rng.uniform(1.05, 1.4) * max_duration
        path = folder / f"{rate}_{index:03d}.wav"
        soundfile.write(path, speech_like(seconds, rate, rng), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def random_log_mels(
    config: MateConfig, shape: tuple[int, ...], generator: torch.Generator | None = None
) -> torch.Tensor:
    """Cached 10 s log-mels of shape `(*shape, n_mels, frames)`, in the dB range of speech: the model's cost does
    not depend on their values."""
    frames = MateFeatureExtractor(**config.audio_feature_kwargs()).num_frames
    return torch.randn(*shape, config.n_mels, frames, generator=generator) * 20 - 50


def at_last_slot(value, window: int) -> torch.Tensor:
    """`value` in the window's last slot (the target's), zeros in the others: `(window, *value's shape)`."""
    value = torch.as_tensor(value, dtype=torch.float32)
    slots = value.new_zeros(window, *value.shape)
    slots[-1] = value
    return slots
