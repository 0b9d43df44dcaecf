"""Reading audio files: soundfile (bundled libsndfile: wav, flac, ogg, mp3), no FFmpeg needed.

torchaudio ≥ 2.9 loads files through TorchCodec/FFmpeg, which a plain `pip install` does not
bring; soundfile does. Resampling is left to the feature extractor.
"""

import io
import os
import struct

import numpy as np
import soundfile

# A RIFF chunk size of 0xFFFFFFFF (or 0) is what streaming writers put before they know the length.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
# The data chunk follows the format chunk and maybe a few metadata chunks: it starts within this many bytes.
_HEADER_BYTES = 1 << 16


def load_audio(source: str | os.PathLike | bytes) -> tuple[np.ndarray, int]:
    """Decode an audio file (path or raw bytes) → `(samples,)` or `(samples, channels)` float32, rate (Hz).

    Raises:
        ValueError: the file is missing, unreadable, not audio, holds no samples or is a truncated WAV; the
            message names it.
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
    truncation = wav_truncation(source)
    if truncation:
        raise ValueError(f"audio file {name} {truncation}")
    return samples, int(sampling_rate)


def wav_truncation(source: str | os.PathLike | bytes) -> str | None:
    """What is missing from a WAV file cut short (its data chunk announces more bytes than follow), else None.

    libsndfile decodes such a file up to the cut without a word; other formats, and WAVs whose header
    leaves the length open (streamed), return None.
    """
    if isinstance(source, bytes):
        head, size = source[:_HEADER_BYTES], len(source)
    else:
        with open(source, "rb") as file:
            head, size = file.read(_HEADER_BYTES), os.fstat(file.fileno()).st_size
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(head):
        chunk, length = head[position : position + 4], struct.unpack("<I", head[position + 4 : position + 8])[0]
        if chunk == b"data":
            available = size - position - 8
            if length in _UNKNOWN_SIZES or length <= available:
                return None
            return f"is truncated: its header announces {length} bytes of samples, only {available} follow"
        position += 8 + length + (length & 1)
    return None
