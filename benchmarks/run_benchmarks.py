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

    python benchmarks/run_benchmarks.py --output benchmarks/RESULTS.md   # full run, default architecture
    python benchmarks/run_benchmarks.py --quick --output /tmp/quick.md   # CI-sized, under a minute
    python benchmarks/run_benchmarks.py --measures training memory       # some of the measures

Every model is built from a config with random weights: nothing is downloaded. Times are the best of a few repeats
(the least disturbed by other processes), or the sum over the same batches for both paths (training); no number here
is asserted anywhere.
"""

import argparse
import datetime
import itertools
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the Hub
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the memory profiler's device probe is noise on CPU-only machines

import datasets  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
import transformers  # noqa: E402
from torch import nn  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import (  # noqa: E402
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForSequenceClassification,
    pipeline,
)

from mate_hf import TASK, MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer  # noqa: E402
from mate_hf.audio_io import load_audio  # noqa: E402
from mate_hf.data.collator import LogMelCache, MateDataCollator, chunk_dialogues, featurize_audio  # noqa: E402

SAMPLING_RATE = 16000
MEASURES = ("training", "featurization", "inference", "growth", "memory")
TRANSCRIPTS = [
    "오늘 회의는 생각보다 길어져서 조금 피곤하네요",
    "그 얘기를 듣고 정말 깜짝 놀랐어요",
    "왜 이렇게 늦었는지 설명 좀 해 봐",
    "너무 기뻐서 눈물이 날 것 같아요",
    "혼자 남겨진 것 같아 마음이 무거워요",
    "괜찮아요 천천히 다시 해 봐요",
]
# The kemdy19 recipe (training/configs/experiments/kemdy19_base.yaml, the authors' main.py): 64 windows per
# optimiser step, the last partial batch dropped, Adam with weight decay as an L2 term, no clipping.
RECIPE_BATCH_WINDOWS = 64
RECIPE_LEARNING_RATE = 1e-3
RECIPE_WEIGHT_DECAY = 1e-5
# Training windows of a 4-session KEMDy19 fold (SPEC §6), for the optimiser steps per epoch.
KEMDY19_TRAIN_WINDOWS = 8200
# The memory measure answers whether the recipe's step fits a 24 GB (GiB) card.
MEMORY_BUDGET_GIB = 24
# What the model's training step reads from a batch (the collator's `majority_labels` serve the metrics only).
STEP_INPUTS = (
    "input_features",
    "text_embeds",
    "utterance_mask",
    "target_mask",
    "labels",
    "arousal_labels",
    "valence_labels",
)
# Every 8th clip of the training corpus is longer than the feature window, so that both paths cut some.
LONG_CLIP_EVERY = 8
# Peak training memory is measured for these variants of the run's model (MateConfig overrides).
MEMORY_CASES = {
    "window_channels (default), unidirectional LSTM": {},
    "window_channels, bidirectional LSTM": {"lstm_bidirectional": True},
    "per_utterance (variant), unidirectional LSTM": {"audio_encoder": "per_utterance"},
}


@dataclass
class Settings:
    """Sizes of one run: the full run measures the default architecture, `--quick` a tiny one."""

    name: str
    mate_config: dict = field(default_factory=dict)
    wav2vec2_config: dict = field(default_factory=dict)
    train_dialogues: int = 3
    train_dialogue_length: int = 24
    train_batch_windows: int = 8
    train_batches: int = 8
    feature_files: int = 64
    feature_rates: tuple = (16000, 44100)
    inference_batch: int = 16
    inference_repeats: int = 5
    growth_lengths: tuple = (1, 4, 16, 64, 256)
    growth_batches: tuple = (1, 4)
    # Batches of windows whose peak lies on the line: at 1 the heads' BatchNorm1d cannot train; at 2 a bidirectional
    # LSTM's peak is still set by its weight-sized gradients and Adam's temporaries, not by the activations.
    memory_batches: tuple = (4, 6, 8)


FULL = Settings(name="full")
QUICK = Settings(
    name="quick",
    mate_config=dict(
        text_config=dict(
            vocab_size=400, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        ),
        max_duration=2.0,
        n_mels=64,
        n_fft=512,
        hop_length=256,
        audio_conv_channels=[4, 6, 4, 1],
        audio_embedding_grid=[4, 5],
        lstm_hidden_size=16,
        lstm_num_layers=2,
        emotion_head_sizes=[32, 16],
        affective_head_sizes=[32, 16],
        affective_regressor_sizes=[8],
    ),
    wav2vec2_config=dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    ),
    train_dialogue_length=8,
    train_batch_windows=4,
    train_batches=2,
    feature_files=6,
    inference_batch=4,
    inference_repeats=2,
    growth_lengths=(1, 4, 16),
    growth_batches=(1, 2),
    memory_batches=(2, 3, 4),
)


@dataclass
class Row:
    """One comparison: `ours` and `baseline` in `unit`; the ratio says how many times better ours is."""

    measure: str
    case: str
    unit: str
    ours: float
    baseline: float
    higher_is_better: bool
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours


@dataclass
class GrowthPoint:
    batch: int
    length: int
    seconds: float
    peak_bytes: int

    @property
    def utterances(self) -> int:
        return self.batch * self.length


@dataclass
class MemoryFit:
    """Peak bytes of one training step at a few batch sizes (windows), and the least-squares line through them."""

    case: str
    batches: tuple[int, ...]
    peaks: list[int]

    @property
    def line(self) -> tuple[float, float]:
        """(fixed bytes, bytes per window)."""
        per_window, fixed = np.polyfit(self.batches, self.peaks, 1)
        return float(fixed), float(per_window)

    def at(self, windows: int) -> float:
        fixed, per_window = self.line
        return fixed + per_window * windows

    @property
    def worst_residual(self) -> float:
        return max(abs(peak - self.at(batch)) for batch, peak in zip(self.batches, self.peaks))


def best_times(*functions: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of the fastest of `repeats` calls of each function, after `warmup` untimed ones. The functions
    take turns, so that a burst of load from other processes hits them alike."""
    for function in functions:
        for _ in range(warmup):
            function()
    times = [math.inf] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[index] = min(times[index], time.perf_counter() - start)
    return times


def peak_cpu_memory(function: Callable[[], object]) -> int:
    """Peak bytes held by torch's CPU allocator during one call, from the profiler's allocation records."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Profiler clears events at the end of each cycle": one cycle here
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as recording:
            function()
    records = [event for event in recording.profiler.kineto_results.events() if event.name() == "[memory]"]
    records.sort(key=lambda event: event.start_ns())
    return max(itertools.accumulate((event.nbytes() for event in records), initial=0))


# --- models and inputs ------------------------------------------------------------------------------------


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


# --- 1. training throughput ---------------------------------------------------------------------------------


def recipe_optimizer(model: MateModel) -> torch.optim.Adam:
    """The kemdy19 recipe's optimiser (the authors'): Adam over the trainable parameters, weight decay as L2."""
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return torch.optim.Adam(trainable, lr=RECIPE_LEARNING_RATE, weight_decay=RECIPE_WEIGHT_DECAY)


def optimizer_step(model: MateModel, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> None:
    """One training step of the recipe on a batch of windows: forward with targets, loss, backward, Adam."""
    optimizer.zero_grad()
    model(**{name: batch[name] for name in STEP_INPUTS}).loss.backward()
    optimizer.step()


def training_dialogues(folder: Path, settings: Settings, config: MateConfig) -> list[dict]:
    """Dialogue rows as the corpus readers give them (per-utterance lists in turn order) over WAV files written
    here, with what both paths take as precomputed: each transcript's sentence embedding (random) and the targets."""
    length = settings.train_dialogue_length
    count = settings.train_dialogues * length
    paths = write_corpus(folder, count, SAMPLING_RATE, config.max_duration, long_every=LONG_CLIP_EVERY)
    rng = np.random.default_rng(2)
    dialogues = []
    for start in range(0, count, length):
        turns = paths[start : start + length]
        votes = rng.dirichlet(np.ones(config.num_labels), length).astype(np.float32)
        dialogues.append(
            {
                "segment_id": [path.stem for path in turns],
                "audio_path": [str(path) for path in turns],
                "emotion_votes": votes.tolist(),
                "emotion_majority": np.eye(config.num_labels, dtype=np.int64)[votes.argmax(1)].tolist(),
                "arousal": rng.uniform(1, 5, length).tolist(),
                "valence": rng.uniform(1, 5, length).tolist(),
                "text_embeds": rng.normal(size=(length, config.text_hidden_size)).astype(np.float32).tolist(),
            }
        )
    return dialogues


class ReferenceFeaturizer:
    """The authors' featurisation of one file (their `EmotionDataset`): `librosa.load(path, sr=16000)`, zero-padded
    to the feature window or cut to it at a random offset, torchaudio's mel spectrogram in dB."""

    def __init__(self, extractor: MateFeatureExtractor, seed: int = 42):
        self.sampling_rate = extractor.sampling_rate
        self.num_samples = extractor.num_samples
        self.rng = np.random.default_rng(seed)
        self.log_mel = nn.Sequential(
            torchaudio.transforms.MelSpectrogram(
                sample_rate=extractor.sampling_rate,
                n_fft=extractor.n_fft,
                hop_length=extractor.hop_length,
                f_min=extractor.f_min,
                f_max=extractor.f_max,
                n_mels=extractor.n_mels,
            ),
            torchaudio.transforms.AmplitudeToDB(),
        )

    def __call__(self, path: str | Path) -> torch.Tensor:
        """→ `(1, 1, n_mels, frames)`, the shape their `BatchNorm2d(1)` takes."""
        waveform, _ = librosa.load(path, sr=self.sampling_rate)
        if len(waveform) <= self.num_samples:
            waveform = librosa.util.fix_length(waveform, size=self.num_samples)
        else:
            start = self.rng.integers(len(waveform) - self.num_samples)
            waveform = waveform[start : start + self.num_samples]
        return self.log_mel(torch.from_numpy(waveform)[None, None])


class ReferenceWindows(Dataset):
    """The authors' training samples (`EmotionDataset.__getitem__`), one per target: each real slot of the target's
    window featurised from its file again, standardised by their untrained `BatchNorm2d(1)` in training mode (one
    utterance at a time), zeros for the slots before the dialogue's start, the precomputed sentence embeddings
    looked up. Items carry MateModel's input names (the window as a dialogue of W slots, the target last), so
    that both paths run the same model step."""

    def __init__(self, dialogues: list[dict], extractor: MateFeatureExtractor, window: int):
        self.dialogues = dialogues
        self.window = window
        self.featurize = ReferenceFeaturizer(extractor)
        self.standardize = nn.BatchNorm2d(1)  # never trained, never in eval mode, as theirs
        self.frame_shape = (extractor.n_mels, extractor.num_frames)
        self.targets = [(index, turn) for index, row in enumerate(dialogues) for turn in range(len(row["audio_path"]))]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        dialogue, target = self.targets[index]
        row = self.dialogues[dialogue]
        audio = torch.zeros(self.window, *self.frame_shape)
        text = torch.zeros(self.window, len(row["text_embeds"][0]))
        present = torch.zeros(self.window, dtype=torch.long)
        for slot, turn in enumerate(range(target + 1 - self.window, target + 1)):
            if turn >= 0:  # a slot before the dialogue's start stays zero
                audio[slot] = self.standardize(self.featurize(row["audio_path"][turn]))[0, 0].detach()
                text[slot] = torch.tensor(row["text_embeds"][turn])
                present[slot] = 1
        return {
            "input_features": audio,
            "text_embeds": text,
            "utterance_mask": present,
            "target_mask": at_last_slot(1, self.window).long(),
            "labels": at_last_slot(row["emotion_votes"][target], self.window),
            "arousal_labels": at_last_slot(row["arousal"][target], self.window),
            "valence_labels": at_last_slot(row["valence"][target], self.window),
        }


def at_last_slot(value, window: int) -> torch.Tensor:
    """`value` in the window's last slot (the target's), zeros in the others: `(window, *value's shape)`."""
    value = torch.as_tensor(value, dtype=torch.float32)
    slots = value.new_zeros(window, *value.shape)
    slots[-1] = value
    return slots


def cached_windows(
    dialogues: list[dict], processor: MateProcessor, context: int
) -> tuple[datasets.Dataset, LogMelCache]:
    """This package's training samples, prepared as training/run.py does: each clip's whole log-mel computed once
    (the rows carry their sentence embeddings already), and one sample per window: a target and its `context`
    predecessors."""
    rows = datasets.Dataset.from_list(dialogues)
    return chunk_dialogues(rows, max_targets=1, context=context), featurize_audio(rows, processor)


def timed_steps(
    loader: DataLoader, model: MateModel, optimizer: torch.optim.Optimizer
) -> Iterator[tuple[float, float]]:
    """Per batch of `loader`: seconds to assemble it, seconds of the optimiser step on it."""
    batches = iter(loader)
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            return
        assembled = time.perf_counter()
        optimizer_step(model, optimizer, batch)
        yield assembled - start, time.perf_counter() - assembled


def training_loaders(
    folder: Path, processor: MateProcessor, settings: Settings, config: MateConfig
) -> tuple[DataLoader, DataLoader, float]:
    """Loaders of the same windows in the same shuffled batches, ours and the reference's (both assembling batches
    in the main process), and the seconds our cache took to build."""
    dialogues = training_dialogues(folder, settings, config)
    start = time.perf_counter()
    cached, audio_cache = cached_windows(dialogues, processor, context=config.context_window - 1)
    cache_seconds = time.perf_counter() - start
    reference = ReferenceWindows(dialogues, processor.feature_extractor, config.context_window)
    order = torch.randperm(len(reference), generator=torch.Generator().manual_seed(0)).tolist()
    batch = settings.train_batch_windows
    collator = MateDataCollator(processor, crop="random", audio_cache=audio_cache)
    ours = DataLoader(cached, batch, sampler=order, drop_last=True, collate_fn=collator)
    return ours, DataLoader(reference, batch, sampler=order, drop_last=True), cache_seconds


def time_training(loaders: tuple[DataLoader, ...], model: MateModel, batches: int) -> np.ndarray:
    """Seconds `(loader, [assembling, model step])` over `batches` batches of each loader, after one untimed batch
    each (lazy imports, first-call allocations). The loaders take turns batch by batch, so that a burst of load from
    other processes hits them alike."""
    if any(len(loader) <= batches for loader in loaders):
        raise ValueError(
            f"the training corpus gives fewer than {batches} + 1 batches; add dialogues or shorten batches"
        )
    model.train()
    optimizer = recipe_optimizer(model)
    steps = zip(*(timed_steps(loader, model, optimizer) for loader in loaders))
    seconds = np.array(list(itertools.islice(steps, 1, batches + 1))).sum(axis=0)
    model.eval()
    return seconds


def bench_training(model: MateModel, processor: MateProcessor, settings: Settings) -> list[Row]:
    config, batch = model.config, settings.train_batch_windows
    with tempfile.TemporaryDirectory() as folder:
        ours, reference, cache_seconds = training_loaders(Path(folder), processor, settings, config)
        (ours_data, ours_step), (reference_data, reference_step) = time_training(
            (ours, reference), model, settings.train_batches
        )
    windows = settings.train_batches * batch
    targets = reference.dataset.targets
    files = sum(min(turn + 1, config.context_window) for _, turn in targets) / len(targets)
    step_row = Row(
        "1. training throughput",
        f"optimiser step with its data, batches of {batch} windows",
        "windows/s",
        windows / (ours_data + ours_step),
        windows / (reference_data + reference_step),
        higher_is_better=True,
        note=f"model step (forward, loss, backward, Adam) {1000 * ours_step / windows:.0f} / "
        f"{1000 * reference_step / windows:.0f} ms per window, the same work in both: the ratio measures the data path",
    )
    data_row = Row(
        "1. training throughput",
        f"data path alone: assembling batches of {batch} windows",
        "windows/s",
        windows / ours_data,
        windows / reference_data,
        higher_is_better=True,
        note=f"reference: {files:.1f} WAV files decoded and featurised per window; ours: log-mels cached once "
        f"({cache_seconds:.1f} s for {len(targets)} clips, not timed)",
    )
    return [step_row, data_row]


# --- 2. featurization of files -------------------------------------------------------------------------


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


# --- 3. inference per utterance --------------------------------------------------------------------------


def bench_inference(model: MateModel, processor: MateProcessor, settings: Settings) -> list[Row]:
    mate = pipeline(TASK, model=model.eval(), processor=processor)
    wav2vec2 = build_wav2vec2_pipeline(settings)
    seconds = processor.feature_extractor.max_duration
    waveform = speech_like(seconds, SAMPLING_RATE, np.random.default_rng(0))
    mate_input = {"raw": waveform, "sampling_rate": SAMPLING_RATE, "text": TRANSCRIPTS[0]}
    baseline_input = {"raw": waveform, "sampling_rate": SAMPLING_RATE}
    repeats, count = settings.inference_repeats, settings.inference_batch
    ours, theirs = best_times(lambda: mate(mate_input), lambda: wav2vec2(baseline_input), repeats=repeats)
    latency = Row(
        "3. inference per utterance",
        f"latency, one {seconds:g} s utterance with its transcript",
        "ms",
        1000 * ours,
        1000 * theirs,
        higher_is_better=False,
        target=15.0,
        note="MATE: features, tokenizer, text encoder, model; baseline: wav2vec2-base audio classification",
    )
    ours, theirs = best_times(
        lambda: mate([mate_input] * count, batch_size=count),
        lambda: wav2vec2([baseline_input] * count, batch_size=count),
        repeats=repeats,
    )
    throughput = Row(
        "3. inference per utterance",
        f"throughput, batches of {count} utterances of {seconds:g} s",
        "utterances/s",
        count / ours,
        count / theirs,
        higher_is_better=True,
        target=15.0,
    )
    compute = Row(
        "3. inference per utterance",
        f"compute for one {seconds:g} s utterance, as latency",
        "GFLOP",
        counted_flops(lambda: mate(mate_input)) / 1e9,
        counted_flops(lambda: wav2vec2(baseline_input)) / 1e9,
        higher_is_better=False,
        note=f"counted by torch.utils.flop_counter: the bound on the speed-up; MATE's LSTM "
        f"({number(lstm_flops(model) / 1e9)} GFLOP per window) is not counted",
    )
    return [latency, throughput, compute]


def lstm_flops(model: MateModel) -> int:
    """Floating-point operations of the dialogue LSTM over one window (2 per weight per step), which the flop
    counter does not count."""
    lstm = model.dialogue_encoder.lstm
    weights = sum(parameter.numel() for name, parameter in lstm.named_parameters() if name.startswith("weight"))
    return 2 * weights * model.config.context_window


def counted_flops(function: Callable[[], object]) -> int:
    """Floating-point operations of one call (matmuls, convolutions, attention), independent of machine load."""
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


# --- 4. cost growth ---------------------------------------------------------------------------------------


def growth_inputs(model: MateModel, batch: int, length: int) -> dict[str, torch.Tensor]:
    """Dialogues of cached log-mels and sentence embeddings (the text encoder's cost per utterance is fixed)."""
    config = model.config
    return {
        "input_features": random_log_mels(config, (batch, length)),
        "text_embeds": torch.randn(batch, length, config.text_hidden_size),
    }


def bench_growth(model: MateModel, settings: Settings) -> list[GrowthPoint]:
    points = []
    for batch, length in itertools.product(settings.growth_batches, settings.growth_lengths):
        inputs = growth_inputs(model, batch, length)

        def forward(inputs=inputs):
            with torch.inference_mode():
                return model(**inputs)

        (seconds,) = best_times(forward, repeats=1 if batch * length >= 256 else 2)
        points.append(GrowthPoint(batch, length, seconds, peak_cpu_memory(forward)))
    return points


# --- 5. training memory -------------------------------------------------------------------------------------


def complete_windows(config: MateConfig, windows: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A training batch of the recipe as the collator yields it from the caches: `windows` windows with all W slots
    real (the common case, and the largest), cached log-mels and sentence embeddings, the target in the last slot."""
    shape = (windows, config.context_window)
    return {
        "input_features": random_log_mels(config, shape, generator),
        "text_embeds": torch.randn(*shape, config.text_hidden_size, generator=generator),
        "utterance_mask": torch.ones(shape, dtype=torch.long),
        "target_mask": at_last_slot(1, config.context_window).long().expand(shape),
        "labels": torch.rand(*shape, config.num_labels, generator=generator).softmax(-1),
        "arousal_labels": 1 + 4 * torch.rand(shape, generator=generator),
        "valence_labels": 1 + 4 * torch.rand(shape, generator=generator),
    }


def storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind `tensors` (views of one storage count once)."""
    storages = {tensor.untyped_storage().data_ptr(): tensor.untyped_storage().nbytes() for tensor in tensors}
    return sum(storages.values())


def training_step_peak(model: MateModel, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> int:
    """Peak bytes of one optimiser step in the steady state: what is held as it begins (weights, buffers, Adam's
    moments, the batch) plus the most torch's CPU allocator adds during it (activations, gradients, Adam's
    temporaries)."""
    optimizer_step(model, optimizer, batch)  # the first step allocates Adam's moments
    optimizer.zero_grad()  # as the next step begins: gradients freed (set to None)
    moments = [value for state in optimizer.state.values() for value in state.values() if torch.is_tensor(value)]
    held = storage_bytes([*model.parameters(), *model.buffers(), *moments, *batch.values()])
    return held + peak_cpu_memory(lambda: optimizer_step(model, optimizer, batch))


def memory_fit(settings: Settings, case: str, overrides: dict) -> MemoryFit:
    model, _ = build_mate(settings, **overrides)
    model.train()
    optimizer = recipe_optimizer(model)
    generator = torch.Generator().manual_seed(3)
    peaks = [
        training_step_peak(model, optimizer, complete_windows(model.config, windows, generator))
        for windows in settings.memory_batches
    ]
    return MemoryFit(case, settings.memory_batches, peaks)


def bench_memory(settings: Settings) -> list[MemoryFit]:
    return [memory_fit(settings, case, overrides) for case, overrides in MEMORY_CASES.items()]


# --- report --------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ]
        cpu = names[0] if names else cpu
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none available",
        "software": (
            f"Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
            f"librosa {librosa.__version__}, torchaudio {torchaudio.__version__}, datasets {datasets.__version__}"
        ),
    }


def thread_variables() -> list[str]:
    """The thread limits set in the environment, which change every library's threading (and the results)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return [f"{name}={os.environ[name]}" for name in names if name in os.environ]


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def comparison_table(rows: list[Row], targets_apply: bool) -> list[str]:
    lines = [
        "| measure | case | unit | MATE (this package) | baseline | ratio | target | met | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = f"≥ {row.target:g}×" if row.target else "—"
        if row.target is None:
            met = "—"
        elif targets_apply:
            met = "yes" if row.ratio >= row.target else "no"
        else:
            met = "n/a (tiny models)"
        lines.append(
            f"| {row.measure} | {row.case} | {row.unit} | {number(row.ours)} | {number(row.baseline)} | "
            f"{row.ratio:.2f}× | {target} | {met} | {row.note} |"
        )
    return lines


def growth_table(points: list[GrowthPoint]) -> list[str]:
    lines = [
        "| batch B | dialogue length T | utterances | forward ms | ms per utterance | peak MiB | MiB per utterance |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in points:
        per_utterance = point.seconds * 1000 / point.utterances
        mib = point.peak_bytes / 2**20
        lines.append(
            f"| {point.batch} | {point.length} | {point.utterances} | {number(point.seconds * 1000)} | "
            f"{number(per_utterance)} | {number(mib)} | {number(mib / point.utterances)} |"
        )
    return lines


def memory_table(fits: list[MemoryFit], budget_applies: bool) -> list[str]:
    windows = RECIPE_BATCH_WINDOWS
    lines = [
        f"| model | windows per step | peak MiB measured | fixed MiB | MiB per window | worst residual MiB | "
        f"{windows} windows, GiB | fits in {MEMORY_BUDGET_GIB} GiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fit in fits:
        fixed, per_window = fit.line
        at_recipe = fit.at(windows) / 2**30
        fits_budget = ("yes" if at_recipe <= MEMORY_BUDGET_GIB else "no") if budget_applies else "n/a (tiny models)"
        lines.append(
            f"| {fit.case} | {', '.join(map(str, fit.batches))} | "
            f"{', '.join(number(peak / 2**20) for peak in fit.peaks)} | {number(fixed / 2**20)} | "
            f"{number(per_window / 2**20)} | {number(fit.worst_residual / 2**20)} | {number(at_recipe)} | "
            f"{fits_budget} |"
        )
    return lines


def memory_section(fits: list[MemoryFit], budget_applies: bool) -> list[str]:
    steps = KEMDY19_TRAIN_WINDOWS // RECIPE_BATCH_WINDOWS
    return [
        f"## 5. Training memory per optimiser step (kemdy19 recipe, extrapolated to {RECIPE_BATCH_WINDOWS} windows)",
        "",
        "Method: CPU allocator peak, reduced batch, linear extrapolation; a GPU adds cuDNN workspaces and allocator "
        "caching (and the CUDA context), so leave headroom above the extrapolated figure.",
        "",
        *memory_table(fits, budget_applies),
        "",
        f"Optimiser steps per epoch (arithmetic, not measured): {KEMDY19_TRAIN_WINDOWS:,} training windows of a "
        f"4-session KEMDy19 fold // {RECIPE_BATCH_WINDOWS} per step, the last partial batch dropped = {steps}.",
        "",
    ]


def render(
    rows: list[Row],
    points: list[GrowthPoint],
    fits: list[MemoryFit],
    info: dict,
    settings: Settings,
    load: tuple,
    command: str,
) -> str:
    lines = [
        f"# MATE benchmarks ({settings.name} run)",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}; GPU: {info['gpu']}",
        f"- software: {info['software']}",
        f"- load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f} "
        f"(the run itself adds about one per thread it uses; more means other processes competed for the CPU)",
        f"- command: `{command}`",
        "",
        "Ratios: how many times better MATE is than the baseline (best of a few repeats each; training: the sum over "
        "the same batches).",
        "",
        *comparison_table(rows, targets_apply=settings.name == "full"),
        "",
    ]
    if points:
        lines += ["## 4. Cost growth (eval forward from cached log-mels and sentence embeddings)", ""]
        lines += [*growth_table(points), ""]
    if fits:
        lines += memory_section(fits, budget_applies=settings.name == "full")
    if not torch.cuda.is_available():
        lines += ["## 6. GPU", "", "Not measured: no GPU was available on this machine.", ""]
    return "\n".join(lines + ["## How each baseline is run", "", *METHOD_NOTES, ""])


METHOD_NOTES = [
    "- 1: the authors' procedure (`dataset.py`, `main.py`) against this package's. Reference, per window (a target "
    "and its 7 predecessors): each real slot's WAV file decoded with `librosa.load(path, sr=16000)`, zero-padded to "
    "10 s or cut to 10 s at a random offset, torchaudio `MelSpectrogram(n_fft=2048, hop_length=512, f_min=30, "
    "f_max=8000, n_mels=229)` + `AmplitudeToDB()`, standardised by an untrained `nn.BatchNorm2d(1)` in training mode "
    "one utterance at a time, zeros for the slots before the dialogue's start, stacked to (B, 8, 229, 313); the "
    "sentence embeddings precomputed and looked up, as they did. So an utterance is decoded and featurised once per "
    "window it is in, every epoch. Ours: each clip's whole log-mel and each sentence embedding computed once (not "
    "timed: the cache is built once per run), samples made by `chunk_dialogues(max_targets=1, context=7)`, batches "
    "assembled by `MateDataCollator(crop='random')` from the log-mel cache (`LogMelCache`, one Arrow row per clip; a "
    "clip over 10 s cut at a random frame offset) and the rows' sentence embeddings. Both then run the same "
    "optimiser step of the same `MateModel` (forward with targets, loss, backward, "
    "`torch.optim.Adam`, lr 1e-3, L2 weight decay 1e-5), so the ratio measures the data path; the data-path row times "
    "the batch assembly alone. Same windows in the same shuffled batches, both loaded in the main process "
    "(`num_workers=0`), the first batch of each not timed. The files are 16 kHz (no resampling, which favours the "
    "reference), and their per-window label look-ups in a pandas frame are left out (favours it too). The authors "
    "loaded with one worker process (`num_workers=1`), which overlaps the data path with the model step: on a GPU, "
    "where the step takes milliseconds, the data path sets the pace, so read the data-path row there. Only the "
    "frozen text encoder with cached sentence embeddings is measured, as the authors trained: an unfrozen one would "
    "tokenize and encode every utterance of every window in both paths alike, adding the same cost to each.",
    "- 2: the reference is the authors' featurisation: `librosa.load(path, sr=16000)` (soxr resampling), zero-pad "
    "to 10 s (or cut), torchaudio `MelSpectrogram` + `AmplitudeToDB` (built once, as in their `Dataset`), file by "
    "file. Ours decodes with soundfile, resamples with the cached torchaudio kernel, and computes the log-mel of the "
    "real frames only, batched; its output equals the full spectrogram of the padded clip within 1e-4 "
    "(tests/test_feature_extraction.py).",
    "- 3: both through their transformers pipeline from a 16 kHz array; MATE with a transcript (tokenizer and "
    "KoBERT-shaped text encoder, BERT-base with a vocabulary of 8,002, included; an offline character tokenizer "
    "stands in for KoBERT's SentencePiece), wav2vec2-base (`Wav2Vec2ForSequenceClassification(Wav2Vec2Config())`, "
    "random weights) with `Wav2Vec2FeatureExtractor`. The speed-ups in the library leave MATE's outputs within 1e-4 "
    "(tests/test_modeling.py::test_audio_encoder_equals_the_plain_nchw_stack).",
    "- 4: `MateModel` forward under `torch.inference_mode()` from cached log-mels and sentence embeddings, every "
    "utterance a target with its own window; peak memory is the most torch's CPU allocator held during the forward "
    "(profiler allocation records).",
    "- 5: the kemdy19 recipe's optimiser step (`MateConfig()` defaults; cached sentence embeddings, so the text "
    "encoder does not run; Adam as in 1) on complete windows (all 8 slots real) of random cached log-mels, at a few "
    "batch sizes: not 1 (the heads' BatchNorm1d cannot train on one sample), and in the full run from 4 up, where the "
    "activations set the peak. Per batch size one warm-up step (it allocates Adam's moments), then the peak of the "
    "next: the bytes held as it begins (weights, buffers, Adam's moments, the batch) plus the most torch's CPU "
    "allocator added during it (profiler allocation records). A least-squares line through them gives the fixed "
    "bytes (all weights, the frozen text encoder's included, and the trainable parameters' gradients and Adam "
    "moments) and the bytes per window. `per_utterance`: with one window per sample (the recipe) every window's 8 "
    "utterances are encoded, 512 per 64-window step.",
]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small models and sizes (CI): under a minute")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--measures", nargs="+", choices=MEASURES, default=list(MEASURES), help="run only these")
    return parser.parse_args(argv)


def run_measures(names: list[str], settings: Settings) -> tuple[list[Row], list[GrowthPoint], list[MemoryFit]]:
    model, processor = build_mate(settings)
    rows, points, fits = [], [], []
    if "training" in names:
        progress("1. training throughput")
        rows += bench_training(model, processor, settings)
    if "featurization" in names:
        progress("2. featurization of files")
        with tempfile.TemporaryDirectory() as folder:
            extractor = processor.feature_extractor
            rows += [bench_featurization(extractor, settings, Path(folder), rate) for rate in settings.feature_rates]
    if "inference" in names:
        progress("3. inference per utterance")
        rows += bench_inference(model, processor, settings)
    if "growth" in names:
        progress("4. cost growth")
        points = bench_growth(model, settings)
    if "memory" in names:
        progress("5. training memory")
        del model  # the memory measure builds its own models, one at a time
        fits = bench_memory(settings)
    return rows, points, fits


def progress(step: str) -> None:
    """A full run takes many minutes: say where it is (on stderr, the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    settings = QUICK if arguments.quick else FULL
    datasets.disable_progress_bars()  # the cache is built in a few map calls: their bars would drown the progress
    load_before = os.getloadavg()[0]
    rows, points, fits = run_measures(arguments.measures, settings)
    command = " ".join([*thread_variables(), "python benchmarks/run_benchmarks.py", *argv])
    report = render(rows, points, fits, machine(), settings, (load_before, os.getloadavg()[0]), command)
    print(report)
    if arguments.output:
        arguments.output.write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
