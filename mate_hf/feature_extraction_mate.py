"""Feature extractor of MATE: utterance waveforms → 16 kHz mono → fixed-length log-mel spectrograms."""

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torchaudio
from transformers import BatchFeature, SequenceFeatureExtractor

# Log-mel of digital silence: power is clamped at 1e-10 before dB, so zero padding lands here.
SILENCE_DB = -100.0
_POWER_FLOOR = 1e-10

# Integer PCM formats and the divisor that maps them to [-1, 1).
_INTEGER_SCALES = {np.dtype(np.int8): 2.0**7, np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


def to_mono_float32(waveform, name: str = "audio") -> np.ndarray:
    """Convert one utterance's samples to a 1-D float32 array in [-1, 1].

    Args:
        waveform: numpy array, torch tensor or list of numbers, shape `(samples,)` or
            `(channels, samples)` / `(samples, channels)`: the shorter axis is taken as channels,
            which are averaged. Integer PCM (int8/16/32, uint8) is scaled to [-1, 1).
        name: how error messages refer to this utterance.

    Raises:
        ValueError: empty audio, more than 2 dimensions, non-numeric samples, NaN or Inf.
    """
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    array = np.asarray(waveform)
    if array.dtype == np.uint8:
        array = (array.astype(np.float32) - 128.0) / 128.0
    elif array.dtype in _INTEGER_SCALES:
        array = array.astype(np.float32) / _INTEGER_SCALES[array.dtype]
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    else:
        raise ValueError(
            f"{name}: samples must be int8, int16, int32 or uint8 PCM or floating point, got dtype {array.dtype}"
        )
    if array.ndim == 2:
        channel_axis = 0 if array.shape[0] <= array.shape[1] else 1
        array = array.mean(axis=channel_axis, dtype=np.float32)
    elif array.ndim != 1:
        raise ValueError(f"{name}: expected (samples,) or a 2-D (channels, samples) array, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: the audio is empty (0 samples)")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: the audio contains NaN or infinite samples")
    return array


@lru_cache(maxsize=16)
def _resampler(orig_rate: int, target_rate: int) -> torchaudio.transforms.Resample:
    # Building the windowed-sinc kernel costs more than applying it to a short clip: build once per rate.
    return torchaudio.transforms.Resample(orig_rate, target_rate)


def resample(waveform: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a 1-D float32 waveform from `orig_rate` to `target_rate` Hz (band-limited sinc)."""
    if orig_rate == target_rate:
        return waveform
    with torch.inference_mode():
        return _resampler(int(orig_rate), int(target_rate))(torch.from_numpy(waveform)).numpy()


def crop_or_pad(waveform: np.ndarray, num_samples: int, crop: str, rng: np.random.Generator | None) -> np.ndarray:
    """Cut or zero-pad (at the end) a 1-D waveform to exactly `num_samples`.

    `crop="center"` keeps the middle of a long clip (inference); `crop="random"` a random window
    drawn from `rng` (training augmentation); `crop="start"` the beginning.
    """
    excess = waveform.shape[0] - num_samples
    if excess <= 0:
        return np.pad(waveform, (0, -excess))
    if crop == "center":
        start = excess // 2
    elif crop == "random":
        start = int((rng or np.random.default_rng()).integers(0, excess + 1))
    elif crop == "start":
        start = 0
    else:
        raise ValueError(f"crop must be 'center', 'random' or 'start', got {crop!r}")
    return waveform[start : start + num_samples]


class MateFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Turns the utterances of dialogues into MATE's audio input: each waveform is converted to mono
    float32, resampled to `sampling_rate`, cropped or zero-padded to `max_duration` seconds and
    turned into a power mel spectrogram in dB (a 10 s clip gives 229 × 313 with the defaults).

    Args:
        sampling_rate (`int`, defaults to 16000): Rate (Hz) every waveform is resampled to.
        max_duration (`float`, defaults to 10.0): Seconds per utterance after crop/pad.
        n_fft (`int`, defaults to 2048), hop_length (`int`, defaults to 512),
        f_min (`float`, defaults to 30.0), f_max (`float`, defaults to 8000.0),
        n_mels (`int`, defaults to 229): Mel spectrogram settings.
        padding_value (`float`, defaults to -100.0): Value of padded (absent) utterance slots, the
            log-mel of silence.
    """

    model_input_names = ["input_features", "utterance_mask"]

    def __init__(
        self,
        sampling_rate: int = 16000,
        max_duration: float = 10.0,
        n_fft: int = 2048,
        hop_length: int = 512,
        f_min: float = 30.0,
        f_max: float = 8000.0,
        n_mels: int = 229,
        padding_value: float = SILENCE_DB,
        **kwargs,
    ):
        kwargs.pop("feature_size", None)
        super().__init__(feature_size=n_mels, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.max_duration = max_duration
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.f_min = f_min
        self.f_max = f_max
        self.n_mels = n_mels
        self._mel_transform = None

    @property
    def num_samples(self) -> int:
        """Samples per utterance after crop/pad."""
        return int(round(self.max_duration * self.sampling_rate))

    @property
    def num_frames(self) -> int:
        """Spectrogram frames per utterance (313 for 10 s at hop 512, centred frames)."""
        return self.num_samples // self.hop_length + 1

    def to_dict(self) -> dict:
        output = super().to_dict()
        output.pop("_mel_transform", None)
        return output

    def _mel(self) -> torchaudio.transforms.MelSpectrogram:
        if self._mel_transform is None:
            self._mel_transform = torchaudio.transforms.MelSpectrogram(
                sample_rate=self.sampling_rate,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                f_min=self.f_min,
                f_max=self.f_max,
                n_mels=self.n_mels,
                power=2.0,
            )
        return self._mel_transform

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Log-mel (dB) of a batch of equal-length waveforms: `(N, samples)` → `(N, n_mels, frames)`."""
        with torch.inference_mode():
            power = self._mel()(waveforms)
            return 10.0 * torch.log10(torch.clamp(power, min=_POWER_FLOOR))

    def prepare_waveform(
        self,
        waveform,
        sampling_rate: int,
        crop: str = "center",
        rng: np.random.Generator | None = None,
        name: str = "audio",
    ) -> np.ndarray:
        """One utterance → mono float32 at `self.sampling_rate`, cut or padded to `num_samples`."""
        return crop_or_pad(self.mono_at_model_rate(waveform, sampling_rate, name), self.num_samples, crop, rng)

    def mono_at_model_rate(self, waveform, sampling_rate: int, name: str = "audio") -> np.ndarray:
        """One recording → mono float32 at `self.sampling_rate`, any length (see `to_mono_float32`)."""
        if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
            raise ValueError(f"{name}: sampling_rate must be a positive integer, got {sampling_rate!r}")
        return resample(to_mono_float32(waveform, name), sampling_rate, self.sampling_rate)

    def __call__(
        self,
        raw_speech,
        sampling_rate: int | None = None,
        crop: str = "center",
        seed: int | None = None,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> BatchFeature:
        """Featurize one utterance, one dialogue (list of utterances) or a batch of dialogues.

        Args:
            raw_speech: a waveform (numpy array / tensor / list of numbers), a list of waveforms
                (one dialogue), or a list of such lists (a batch of dialogues). Dialogues may
                differ in length.
            sampling_rate: rate (Hz) of the given waveforms; required.
            crop: how clips longer than `max_duration` are cut: `"center"`, `"random"` or `"start"`.
            seed: seed of the random crop, for reproducible training batches.
            return_tensors: `"pt"` (default), `"np"` or `None` (lists).

        Returns:
            [`BatchFeature`] with
            - `input_features`: `(batch, utterances, n_mels, frames)`; absent utterance slots hold
              `padding_value`.
            - `utterance_mask`: `(batch, utterances)`, 1 for a real utterance, 0 for padding.
        """
        if sampling_rate is None:
            raise ValueError(
                f"sampling_rate is required: pass the rate (Hz) of the audio; it is resampled to {self.sampling_rate}"
            )
        dialogues = as_dialogues(raw_speech, is_utterance=_is_waveform, what="audio")
        rng = np.random.default_rng(seed)
        prepared = [
            self.prepare_waveform(utterance, sampling_rate, crop, rng, name=f"audio of dialogue {d}, utterance {u}")
            for d, dialogue in enumerate(dialogues)
            for u, utterance in enumerate(dialogue)
        ]
        features = self.log_mel(torch.from_numpy(np.stack(prepared)))
        batch = self._scatter_into_dialogues(features, [len(dialogue) for dialogue in dialogues])
        return BatchFeature(batch, tensor_type=return_tensors)

    def _scatter_into_dialogues(self, features: torch.Tensor, lengths: list[int]) -> dict:
        max_length = max(lengths)
        input_features = torch.full(
            (len(lengths), max_length, *features.shape[1:]), self.padding_value, dtype=features.dtype
        )
        utterance_mask = torch.zeros(len(lengths), max_length, dtype=torch.long)
        start = 0
        for index, length in enumerate(lengths):
            input_features[index, :length] = features[start : start + length]
            utterance_mask[index, :length] = 1
            start += length
        return {"input_features": input_features, "utterance_mask": utterance_mask}


def _is_waveform(value) -> bool:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return True
    return isinstance(value, Sequence) and len(value) > 0 and isinstance(value[0], (int, float, np.number))


def as_dialogues(value, is_utterance, what: str) -> list[list]:
    """Normalise one utterance, one dialogue or a batch of dialogues to a list of dialogues.

    Raises:
        ValueError: nothing given, an empty dialogue, or a nesting that is none of the three.
    """
    if is_utterance(value):
        return [[value]]
    if not isinstance(value, Sequence) or len(value) == 0:
        raise ValueError(f"{what}: expected an utterance, a dialogue (list of utterances) or a list of dialogues")
    if all(is_utterance(item) for item in value):
        return [list(value)]
    dialogues = []
    for index, dialogue in enumerate(value):
        if not isinstance(dialogue, Sequence) or isinstance(dialogue, str) or len(dialogue) == 0:
            raise ValueError(f"{what}: dialogue {index} must be a non-empty list of utterances")
        for position, utterance in enumerate(dialogue):
            if not is_utterance(utterance):
                raise ValueError(
                    f"{what}: dialogue {index}, utterance {position} is a {type(utterance).__name__}, not an utterance"
                )
        dialogues.append(list(dialogue))
    return dialogues


__all__ = ["MateFeatureExtractor"]
