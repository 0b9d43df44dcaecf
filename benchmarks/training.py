"""1. Training throughput: the authors' data path (every window's files decoded and featurised again, every epoch)
against this package's windows assembled from log-mels cached once, both feeding the same optimiser step."""

import itertools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import datasets
import librosa
import numpy as np
import torch
import torchaudio
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor
from mate_hf.data.collator import LogMelCache, MateDataCollator, chunk_dialogues, featurize_audio

from .inputs import at_last_slot, write_corpus
from .results import Row
from .settings import RECIPE_LEARNING_RATE, RECIPE_WEIGHT_DECAY, SAMPLING_RATE, Settings

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
        # The same torchaudio transform and settings as theirs (power 2); only the decoding and cutting differ.
        self.log_mel = nn.Sequential(
            extractor.mel_spectrogram(),
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
