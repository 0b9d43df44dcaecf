"""Feature extractor of MATE: utterance waveforms → 16 kHz mono → fixed-length log-mel spectrograms."""

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from transformers import BatchFeature, SequenceFeatureExtractor

# Log-mel of digital silence: power is clamped at 1e-10 before dB, so zero padding lands here.
SILENCE_DB = -100.0
_POWER_FLOOR = 1e-10

# Integer PCM formats and the divisor that maps them to [-1, 1).
_INTEGER_SCALES = {np.dtype(np.int8): 2.0**7, np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}
# log_mel computes the frames of rows of similar length together, lengths rounded up to this many frames.
_FRAME_GROUP = 16
# Above this many resampler taps (44.1 kHz → 16 kHz needs 70,560) a rate is first moved to a round one.
_MAX_RESAMPLER_TAPS = 2**20
_MAX_FLOAT_AMPLITUDE = 2.0**31
# Output samples per piece when a long recording is resampled (about a minute at 16 kHz).
_RESAMPLE_CHUNK = 2**20


def to_mono_float32(waveform, name: str = "audio") -> np.ndarray:
    """Convert one utterance's samples to a 1-D float32 array in [-1, 1].

    Args:
        waveform: numpy array, torch tensor or list of numbers, shape `(samples,)` or
            `(channels, samples)` / `(samples, channels)`: the shorter axis is taken as channels,
            which are averaged (so a clip with fewer samples than channels, under a millisecond, is
            read transposed; it comes out valid and all but silent either way). Integer PCM
            (int8/16/32, uint8) is scaled to [-1, 1).
        name: how error messages refer to this utterance.

    Raises:
        ValueError: empty audio, more than 2 dimensions, non-numeric samples, NaN or Inf, floating-point
            samples beyond ±2^31 (their spectrum overflows).
    """
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    array = np.asarray(waveform)
    if array.dtype == np.uint8:
        array = (array.astype(np.float32) - 128.0) / 128.0
    elif array.dtype in _INTEGER_SCALES:
        array = array.astype(np.float32) / _INTEGER_SCALES[array.dtype]
    elif np.issubdtype(array.dtype, np.floating):
        _check_amplitude(array, name)
        array = array.astype(np.float32, copy=False)
    else:
        raise ValueError(
            f"{name}: samples must be int8, int16, int32 or uint8 PCM or floating point, got dtype {array.dtype}"
        )
    if array.ndim not in (1, 2):
        raise ValueError(f"{name}: expected (samples,) or a 2-D (channels, samples) array, got shape {array.shape}")
    # Before averaging channels: the mean of a (channels, 0) array is NaN, not empty.
    if array.size == 0:
        raise ValueError(f"{name}: the audio is empty (0 samples, shape {array.shape})")
    if array.ndim == 2:
        channel_axis = 0 if array.shape[0] <= array.shape[1] else 1
        array = array.mean(axis=channel_axis, dtype=np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: the audio contains NaN or infinite samples")
    return array


def _check_amplitude(array: np.ndarray, name: str) -> None:
    # Louder than int32 PCM left unscaled, the power spectrum overflows float32 and every feature is NaN.
    peak = float(np.abs(array).max(initial=0.0))
    if math.isfinite(peak) and peak > _MAX_FLOAT_AMPLITUDE:
        raise ValueError(
            f"{name}: floating-point samples reach {peak:.3g}; expected [-1, 1] (at most ±2^31, unscaled int32 PCM)"
        )


@lru_cache(maxsize=16)
def _resampler(orig_rate: int, target_rate: int) -> torchaudio.transforms.Resample:
    # Building the windowed-sinc kernel costs more than applying it to a short clip: build once per rate.
    return torchaudio.transforms.Resample(orig_rate, target_rate)


def resample(waveform: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a 1-D float32 waveform from `orig_rate` to `target_rate` Hz (band-limited sinc).

    A long recording goes through in pieces of `_RESAMPLE_CHUNK` output samples: resampled whole, an
    hour at 8 kHz needs 2 GB of intermediate copies.
    """
    if orig_rate == target_rate:
        return waveform
    total = resampled_length(waveform.shape[0], orig_rate, target_rate)
    if total <= _RESAMPLE_CHUNK:
        with torch.inference_mode():
            return _resampler(int(orig_rate), int(target_rate))(torch.from_numpy(waveform)).numpy()
    output = np.empty(total, dtype=np.float32)
    for start in range(0, total, _RESAMPLE_CHUNK):
        length = min(_RESAMPLE_CHUNK, total - start)
        output[start : start + length] = _resampled_span(waveform, orig_rate, target_rate, start, length)
    return output


def resampled_length(num_samples: int, orig_rate: int, target_rate: int) -> int:
    """Samples of a `num_samples`-long waveform after resampling (exact integer ceiling)."""
    divisor = math.gcd(int(orig_rate), int(target_rate))
    return -(-num_samples * (target_rate // divisor) // (orig_rate // divisor))


def _resampled_span(waveform: np.ndarray, orig_rate: int, target_rate: int, start: int, length: int) -> np.ndarray:
    """Samples `[start, start + length)` of the resampled waveform, resampling only the source they need.

    The resampler consumes `stride` source samples per step and emits `phases` samples; cutting the
    source on a step boundary, with the filter's reach on both sides, gives the same samples.
    """
    resampler = _resampler(int(orig_rate), int(target_rate))
    stride, phases = orig_rate // resampler.gcd, target_rate // resampler.gcd
    first_step = max(0, start // phases - resampler.width // stride - 1)
    stop = ((start + length) // phases + 1) * stride + resampler.width
    with torch.inference_mode():
        part = resampler(torch.from_numpy(waveform[first_step * stride : stop])).numpy()
    part = part[start - first_step * phases :][:length]
    # torchaudio rounds its output length in float32: the last sample of a long span may be missing.
    return np.pad(part, (0, length - part.shape[0]))


def crop_or_pad(waveform: np.ndarray, num_samples: int, crop: str, rng: np.random.Generator | None) -> np.ndarray:
    """Cut or zero-pad (at the end) a 1-D waveform to exactly `num_samples`.

    `crop="center"` keeps the middle of a long clip (inference); `crop="random"` a random window
    drawn from `rng` (training augmentation); `crop="start"` the beginning.
    """
    excess = waveform.shape[0] - num_samples
    if excess <= 0:
        return np.pad(waveform, (0, -excess))
    start = crop_start(excess, crop, rng)
    return waveform[start : start + num_samples]


def crop_start(excess: int, crop: str, rng: np.random.Generator | None) -> int:
    """First sample of the window kept from a clip `excess` (> 0) samples longer than it (see `crop_or_pad`)."""
    if crop == "center":
        return excess // 2
    if crop == "random":
        return int((rng or np.random.default_rng()).integers(0, excess + 1))
    if crop == "start":
        return 0
    raise ValueError(f"crop must be 'center', 'random' or 'start', got {crop!r}")


def resample_window(
    waveform: np.ndarray, orig_rate: int, target_rate: int, num_samples: int, crop: str, rng: np.random.Generator | None
) -> np.ndarray:
    """`crop_or_pad(resample(waveform, ...), num_samples, crop, rng)`, resampling only what the window needs:
    an hour-long recording costs what its 10 s window costs."""
    if orig_rate == target_rate:
        return crop_or_pad(waveform, num_samples, crop, rng)
    excess = resampled_length(waveform.shape[0], orig_rate, target_rate) - num_samples
    if excess <= 0:
        return crop_or_pad(resample(waveform, orig_rate, target_rate), num_samples, crop, rng)
    return _resampled_span(waveform, orig_rate, target_rate, crop_start(excess, crop, rng), num_samples)


def to_resamplable_rate(waveform: np.ndarray, orig_rate: int, target_rate: int) -> tuple[np.ndarray, int]:
    """The waveform and its rate, moved to the next multiple of 100 Hz when `orig_rate` is an odd one.

    The sinc resampler's kernel has (orig/gcd) × (target/gcd) taps: 70 k for 44.1 kHz, but 200 M for
    12,347 Hz (minutes and gigabytes). Linear interpolation up by less than 100 Hz keeps the band and
    the timing; the sinc resampler then goes on from a rate whose kernel is small.
    """
    divisor = math.gcd(orig_rate, target_rate)
    if (orig_rate // divisor) * (target_rate // divisor) <= _MAX_RESAMPLER_TAPS:
        return waveform, orig_rate
    rate = -(-orig_rate // 100) * 100
    size = max(1, round(waveform.shape[0] * rate / orig_rate))
    with torch.inference_mode():
        moved = F.interpolate(torch.from_numpy(waveform)[None, None], size=size, mode="linear", align_corners=False)
    return moved[0, 0].numpy(), rate


def _mono_and_rate(waveform, sampling_rate, target_rate: int, name: str) -> tuple[np.ndarray, int]:
    if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
        raise ValueError(f"{name}: sampling_rate must be a positive integer, got {sampling_rate!r}")
    return to_resamplable_rate(to_mono_float32(waveform, name), int(sampling_rate), target_rate)


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

    def mel_spectrogram(self) -> torchaudio.transforms.MelSpectrogram:
        """torchaudio's power mel spectrogram with this extractor's settings (made once, then reused)."""
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
        """Log-mel (dB) of a batch of equal-length waveforms: `(N, samples)` → `(N, n_mels, frames)`, on their device.

        Most utterances are a few seconds zero-padded to `max_duration`, and a frame that sees only zeros is
        exactly `SILENCE_DB`: only the frames that reach a non-zero sample are computed, in one batched call
        per group of rows of similar length, and the rest is filled with the constant.
        """
        num_rows, num_samples = waveforms.shape
        frames_to_compute = self._frames_to_compute(waveforms)
        with torch.inference_mode():
            mel = self.mel_spectrogram().to(waveforms.device)
            output = waveforms.new_full((num_rows, self.n_mels, num_samples // self.hop_length + 1), SILENCE_DB)
            for frames in torch.unique(frames_to_compute).tolist():
                rows = (frames_to_compute == frames).nonzero().squeeze(1)
                power = mel(waveforms[rows, : self._samples_for_frames(frames, num_samples)])[..., :frames]
                output[rows, :, :frames] = 10.0 * torch.log10(torch.clamp(power, min=_POWER_FLOOR))
            return output

    def _frames_to_compute(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Per row, the leading frames that may see a non-zero sample, rounded up to `_FRAME_GROUP` frames so
        that rows of similar length share a call; every frame after them is silence."""
        num_samples = waveforms.shape[-1]
        all_frames = num_samples // self.hop_length + 1
        positions = torch.arange(1, num_samples + 1, dtype=torch.int32, device=waveforms.device)
        signal_end = ((waveforms != 0) * positions).amax(-1)  # 0 for an all-zero row
        # Centred frames start n_fft // 2 samples early: frame t sees samples from t · hop − n_fft // 2 on.
        frames = (signal_end + self.n_fft // 2 + self.hop_length - 1) // self.hop_length
        frames = (frames + _FRAME_GROUP - 1) // _FRAME_GROUP * _FRAME_GROUP
        # The last frames reflect the end of the waveform into themselves: a signal that reaches it needs them all.
        frames[signal_end >= num_samples - self.n_fft // 2] = all_frames
        return frames.clamp(max=all_frames)

    def _samples_for_frames(self, frames: int, num_samples: int) -> int:
        """Samples whose spectrogram gives the first `frames` frames exactly: the last one must end before the
        reflection padding of the cut waveform begins (and that padding needs more than n_fft // 2 samples)."""
        if frames == num_samples // self.hop_length + 1:
            return num_samples
        needed = (frames - 1) * self.hop_length + self.n_fft - self.n_fft // 2
        return min(num_samples, max(needed, self.n_fft // 2 + 1))

    def prepare_waveform(
        self,
        waveform,
        sampling_rate: int,
        crop: str = "center",
        rng: np.random.Generator | None = None,
        name: str = "audio",
    ) -> np.ndarray:
        """One utterance → mono float32 at `self.sampling_rate`, cut or padded to `num_samples`."""
        mono, rate = _mono_and_rate(waveform, sampling_rate, self.sampling_rate, name)
        return resample_window(mono, rate, self.sampling_rate, self.num_samples, crop, rng)

    def mono_at_model_rate(self, waveform, sampling_rate: int, name: str = "audio") -> np.ndarray:
        """One recording → mono float32 at `self.sampling_rate`, any length (see `to_mono_float32`)."""
        return resample(*_mono_and_rate(waveform, sampling_rate, self.sampling_rate, name), self.sampling_rate)

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
        lengths = [len(dialogue) for dialogue in dialogues]
        batch = {
            "input_features": pad_dialogues(features.split(lengths), fill=self.padding_value),
            "utterance_mask": dialogue_mask(lengths),
        }
        return BatchFeature(batch, tensor_type=return_tensors)


def pad_dialogues(
    dialogues: Sequence[torch.Tensor], fill: float = 0.0, item_shape: tuple | None = None
) -> torch.Tensor:
    """Per-dialogue tensors `(T_i, ...)` → one `(B, max T, ...)` tensor of their dtype, `fill` in the slots after a
    dialogue's last utterance.

    With `item_shape`, each utterance's value must have that shape (`ValueError` otherwise); without it, values
    of different sizes (e.g. token positions) are also padded with `fill` at the end of each dimension.
    """
    if item_shape is not None:
        for index, dialogue in enumerate(dialogues):
            if tuple(dialogue.shape[1:]) != tuple(item_shape):
                raise ValueError(
                    f"dialogue {index}: expected values of shape {tuple(item_shape)} per utterance, "
                    f"got {tuple(dialogue.shape[1:])}"
                )
    shape = [max(sizes) for sizes in zip(*(dialogue.shape for dialogue in dialogues))]
    padded = dialogues[0].new_full((len(dialogues), *shape), fill)
    for index, dialogue in enumerate(dialogues):
        padded[(index, *(slice(0, size) for size in dialogue.shape))] = dialogue
    return padded


def dialogue_mask(lengths: Sequence[int], starts: Sequence[int] | None = None) -> torch.Tensor:
    """`(B, max T)` long mask: 1 from `starts[i]` (default 0) to `lengths[i]` in row i, 0 elsewhere."""
    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for index, length in enumerate(lengths):
        mask[index, (starts[index] if starts is not None else 0) : length] = 1
    return mask


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
