"""Finding the utterances of a recorded conversation by voice activity (Silero VAD).

`silero_vad` is imported when a recording is first segmented, never at import: a folder loaded as remote code
does not need it unless voice activity is asked for.
"""

import math
import threading
import warnings
from functools import lru_cache

import numpy as np
import torch

from .feature_extraction_mate import resample

# Defaults for conversational speech, measured on 40 synthetic conversations of the demo corpus' espeak-ng turns
# built as in tests/test_voice_activity.py:
# - threshold 0.5: Silero's own default; speech ends when the probability falls below threshold - 0.15.
# - min silence 0.2 s: turns in conversation are separated by short pauses (gaps between speakers are about
#   0.2 s typically; 0.2 s is also the usual boundary of inter-pausal units). Silero's speech probability decays
#   for 0.05-0.1 s after speech stops, so a pause looks that much shorter to it: with 0.3 s, turns 0.3-0.45 s
#   apart were read as one utterance in 15 of 40 test conversations (in none with 0.2 s). A longer pause within
#   a turn splits it; each part is still read in context, whereas a merge blends two turns (two speakers, maybe
#   two emotions) into one prediction.
# - min speech 0.25 s: shorter bursts (a click, a cough, a breath) carry no emotion the model can read.
# - pad 0.05 s: a soft onset starts before the first 32 ms frame called speech; the detected end already lags
#   the speech (see above), so a larger pad only adds silence (0.1 s: median boundary error 0.18 s, not 0.13 s).
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_SILENCE_S = 0.2
DEFAULT_MIN_SPEECH_S = 0.25
DEFAULT_SPEECH_PAD_S = 0.05
# Rates the Silero model reads; anything else is resampled to 16 kHz for it.
VAD_RATES = (8000, 16000)
MISSING_SILERO = (
    "segmenting a conversation by voice activity needs silero-vad: pip install silero-vad, or pass segmentation='fixed'"
)
# The model keeps a recurrent state between 32 ms frames: one recording at a time per process.
_VAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def load_vad():
    """`(model, get_speech_timestamps)` of silero-vad: the TorchScript model shipped in its wheel (no download),
    loaded once per process.

    Raises:
        ImportError: silero-vad is not installed (the message says how to install it, or how to do without).
    """
    threads = torch.get_num_threads()
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as error:
        raise ImportError(MISSING_SILERO) from error
    finally:
        torch.set_num_threads(threads)  # importing silero_vad sets torch to one thread for the whole process
    with warnings.catch_warnings():  # its loader's own deprecated calls (importlib.resources.path, torch.jit.load)
        warnings.simplefilter("ignore", DeprecationWarning)
        model = load_silero_vad()
    return model, get_speech_timestamps


def check_vad_settings(
    threshold: float = DEFAULT_THRESHOLD,
    min_silence_s: float = DEFAULT_MIN_SILENCE_S,
    min_speech_s: float = DEFAULT_MIN_SPEECH_S,
    speech_pad_s: float = DEFAULT_SPEECH_PAD_S,
) -> None:
    """Raise a ValueError naming the first setting out of range (see `speech_spans`)."""
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise ValueError(f"vad_threshold must be a number between 0 and 1 (exclusive), got {threshold!r}")
    for name, value in (
        ("min_silence_duration", min_silence_s),
        ("min_speech_duration", min_speech_s),
        ("speech_pad", speech_pad_s),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")


def speech_spans(
    mono: np.ndarray,
    sampling_rate: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_silence_s: float = DEFAULT_MIN_SILENCE_S,
    min_speech_s: float = DEFAULT_MIN_SPEECH_S,
    speech_pad_s: float = DEFAULT_SPEECH_PAD_S,
) -> list[tuple[int, int]]:
    """The stretches of speech of a mono recording, in order: `[(start, end), ...]` sample indices at
    `sampling_rate` (end exclusive); `[]` when it holds no speech.

    Args:
        mono: `(samples,)` float waveform in [-1, 1].
        sampling_rate: its rate (Hz); other rates than 8 or 16 kHz are resampled to 16 kHz for the model.
        threshold: speech probability (per 32 ms frame) from which a frame is speech.
        min_silence_s: a pause shorter than this does not end an utterance.
        min_speech_s: speech shorter than this is dropped.
        speech_pad_s: seconds added on both sides of each utterance (half the pause each, when the pause is shorter
            than twice this).
    """
    check_vad_settings(threshold, min_silence_s, min_speech_s, speech_pad_s)
    model, get_speech_timestamps = load_vad()
    audio = np.ascontiguousarray(mono, dtype=np.float32)
    rate = int(sampling_rate)
    if rate not in VAD_RATES:
        audio, rate = resample(audio, rate, 16000), 16000
    with _VAD_LOCK, torch.no_grad():
        spans = get_speech_timestamps(
            torch.from_numpy(audio),
            model,
            threshold=threshold,
            sampling_rate=rate,
            min_speech_duration_ms=min_speech_s * 1000,
            min_silence_duration_ms=min_silence_s * 1000,
            speech_pad_ms=speech_pad_s * 1000,
            return_seconds=False,
        )
    scale = int(sampling_rate) / rate
    total = mono.shape[0]
    found = [(min(round(span["start"] * scale), total), min(round(span["end"] * scale), total)) for span in spans]
    return [(start, end) for start, end in found if end > start]
