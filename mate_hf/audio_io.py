"""Reading audio files: soundfile (bundled libsndfile: wav, flac, ogg, mp3), no FFmpeg needed.

torchaudio ≥ 2.9 loads files through TorchCodec/FFmpeg, which a plain `pip install` does not
bring; soundfile does. Resampling is left to the feature extractor.
"""

import io
import os

import numpy as np
import soundfile


def load_audio(source: str | os.PathLike | bytes) -> tuple[np.ndarray, int]:
    """Decode an audio file (path or raw bytes) → `(samples,)` or `(samples, channels)` float32, rate (Hz).

    Raises:
        ValueError: the file is missing, unreadable, not audio, or holds no samples; the message names it.
    """
    name = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
    if not isinstance(source, bytes) and not os.path.isfile(name):
        raise ValueError(f"audio file {name} does not exist")
    handle = io.BytesIO(source) if isinstance(source, bytes) else name
    try:
        samples, sampling_rate = soundfile.read(handle, dtype="float32", always_2d=False)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        reason = str(error).replace(repr(handle), name)
        raise ValueError(f"cannot decode audio file {name}: {reason}") from error
    if samples.size == 0:
        raise ValueError(f"audio file {name} holds no samples")
    return samples, int(sampling_rate)
