"""Decoding audio files with soundfile."""

import numpy as np
import pytest
import soundfile

from mate_hf.audio_io import load_audio


def test_reads_wav_and_flac_paths_and_bytes(tmp_path):
    samples = (np.sin(np.linspace(0, 100, 4000)) * 0.5).astype(np.float32)
    soundfile.write(tmp_path / "a.wav", samples, 8000, subtype="PCM_16")
    soundfile.write(tmp_path / "a.flac", np.stack([samples, samples], 1), 22050)
    wav, rate = load_audio(tmp_path / "a.wav")
    assert rate == 8000 and wav.dtype == np.float32 and np.abs(wav - samples).max() < 1e-4
    flac, rate = load_audio((tmp_path / "a.flac").read_bytes())
    assert rate == 22050 and flac.shape == (4000, 2)


@pytest.mark.parametrize(
    "content, message",
    [(None, "does not exist"), (b"", "cannot decode"), (b"RIFF\x00\x00\x00\x00WAVE", "cannot decode")],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "broken.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        load_audio(path)
    assert "broken.wav" in str(error.value)


def test_file_without_samples(tmp_path):
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="empty.wav holds no samples"):
        load_audio(tmp_path / "empty.wav")
