"""2. Featurization of audio files (decode, resample to 16 kHz, log-mel): this package's batched path against the
authors' per-file `librosa.load(sr=16000)` + torchaudio mel spectrogram in dB."""

from pathlib import Path

import numpy as np
import soundfile
import torch

from mate_hf import MateFeatureExtractor
from mate_hf.audio_io import load_audio

from .inputs import write_corpus
from .results import Row
from .settings import Settings
from .timing import best_times
from .training import ReferenceFeaturizer


def featurize_files(extractor: MateFeatureExtractor, paths: list[Path], batch: int = 16) -> list[torch.Tensor]:
    """This package: soundfile decode, resampler built once per rate, batched log-mel of the real frames only
    (what `mate_hf.data.featurize_audio` and the collator do)."""
    features = []
    for start in range(0, len(paths), batch):
        waveforms = [
            extractor.prepare_waveform(*load_audio(path), name=str(path)) for path in paths[start : start + batch]
        ]
        features.append(extractor.log_mel(torch.from_numpy(np.stack(waveforms))))
    return features


def bench_featurization(extractor: MateFeatureExtractor, settings: Settings, folder: Path, rate: int) -> Row:
    paths = write_corpus(folder, settings.feature_files, rate, extractor.max_duration)
    reference = ReferenceFeaturizer(extractor)  # built once, as in their Dataset
    ours, theirs = best_times(
        lambda: featurize_files(extractor, paths),
        lambda: [reference(path) for path in paths],
        repeats=settings.inference_repeats,
    )
    seconds = sum(soundfile.info(path).duration for path in paths)
    return Row(
        "2. featurization of files",
        f"{len(paths)} WAV files at {rate / 1000:g} kHz, {seconds / len(paths):.1f} s on average",
        "files/s",
        len(paths) / ours,
        len(paths) / theirs,
        higher_is_better=True,
        target=1.5,
    )
