"""MATE's speed and training memory, side by side with the authors' reference procedure and the usual alternative.

1. Training throughput: the authors' data path (per window, its 8 wav files decoded with librosa and their mel
   spectrograms computed again, every epoch) against windows assembled by this package's collator from log-mels
   cached once; both then run the same optimiser step (forward, loss, backward, Adam) of the same model, so the
   ratio measures the data path.
2. Featurization of audio files (decode, resample to 16 kHz, log-mel): this package's path against the reference's
   per-file `librosa.load(sr=16000)` + torchaudio mel spectrogram in dB.
3. Inference per 10 s utterance (features and text encoder included): the MATE pipeline against a wav2vec2-base
   audio-classification model through the transformers pipeline (random weights).
4. Cost growth: forward time and peak memory against dialogue length T and batch size.
5. Training memory: peak memory of one optimiser step of the kemdy19 recipe, measured at a few small batches of
   windows and extrapolated linearly to its 64 windows per step.

From the repository root:

    python -m benchmarks --output benchmarks/RESULTS.md   # full run, default architecture
    python -m benchmarks --quick --output /tmp/quick.md   # CI-sized, under a minute
    python -m benchmarks --measures training memory       # some of the measures

Every model is built from a config with random weights: nothing is downloaded. Times are the best of a few repeats
(the least disturbed by other processes), or the sum over the same batches for both paths (training); no number here
is asserted anywhere.
"""

import os

# Set here, before any module of the package imports torch or transformers (`python -m benchmarks` imports this
# file first).
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the Hub
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the memory profiler's device probe is noise on CPU-only machines
