"""Dialogue rows → model inputs: chunking long dialogues, the cache of log-mels, the batch collator.

Rows are those of `load_kemdy19` / `load_kemdy20`: one dialogue per row, per-utterance lists in
turn order (`audio_path`, `text`, `emotion_votes`, `emotion_majority`, `arousal`, `valence`, ...).
"""

import zlib
from dataclasses import dataclass

import datasets
import numpy as np
import torch

from ..audio_io import load_audio
from ..feature_extraction_mate import crop_start, dialogue_mask, pad_dialogues
from ..processing_mate import MateProcessor
from .dialogues import UTTERANCE_COLUMNS
from .labels import NUM_EMOTIONS

# Per-utterance columns a chunk slices along with the utterances: the reader's, plus the sentence embeddings.
SLICED_COLUMNS = (*UTTERANCE_COLUMNS, "text_embeds")


def chunk_dialogues(dataset: datasets.Dataset, max_targets: int, context: int = 7) -> datasets.Dataset:
    """Split dialogues into chunks of at most `max_targets` target utterances.

    Each chunk also carries up to `context` earlier utterances (`num_context` of them) so the
    model's window is complete for its first target; those are inputs only, never targets. With
    `context = context_window - 1` every utterance gets exactly the prediction it would get in its
    whole dialogue, and each utterance is a target in exactly one chunk.
    """
    if max_targets < 1:
        raise ValueError(f"max_targets must be at least 1, got {max_targets}")
    columns = [name for name in SLICED_COLUMNS if name in dataset.column_names]

    def split(batch: dict) -> dict:
        chunks = {name: [] for name in batch}
        chunks["num_context"] = []
        for index in range(len(batch["segment_id"])):
            length = len(batch["segment_id"][index])
            for start in range(0, length, max_targets):
                first = max(0, start - context)
                for name in batch:
                    value = batch[name][index]
                    chunks[name].append(value[first : start + max_targets] if name in columns else value)
                chunks["num_context"].append(start - first)
        return chunks

    return dataset.map(split, batched=True, remove_columns=dataset.column_names, desc="chunking dialogues")


class LogMelCache:
    """Every clip's whole log-mel, computed once and stored once, looked up by audio path.

    One Arrow row per audio file, `(frames, n_mels)` float32 (frames first: Arrow's variable dimension), read back
    as numpy without a copy through Python lists. Samples that share an utterance (the 8 windows it belongs to)
    share its row instead of carrying copies: KEMDy19's 8,200 training windows would otherwise hold 8,200 x 8
    log-mels of 229 x 313 float32, 18.8 GB.
    """

    def __init__(self, table: datasets.Dataset):
        self.table = table.with_format("numpy", columns=["input_features"])
        self.row_of = {path: index for index, path in enumerate(table["audio_path"])}

    def __len__(self) -> int:
        return len(self.row_of)

    def __getitem__(self, audio_path: str) -> np.ndarray:
        """The `(n_mels, frames)` log-mel of the file, at least `max_duration` long."""
        return self.table[self.row_of[audio_path]]["input_features"].T


def featurize_audio(dataset: datasets.Dataset, processor: MateProcessor, num_proc: int | None = None) -> LogMelCache:
    """The log-mel of every clip of `dataset`'s dialogues, whole and zero-padded to at least `max_duration`:
    decoding, resampling and the log-mel are paid once per run instead of once per window and epoch. The collator
    cuts a clip longer than `max_duration` to its window of frames (at random in training, centred in evaluation)."""
    extractor = processor.feature_extractor
    paths = sorted({path for dialogue in dataset["audio_path"] for path in dialogue})
    features = datasets.Features(
        {
            "audio_path": datasets.Value("string"),
            "input_features": datasets.Array2D(shape=(None, extractor.n_mels), dtype="float32"),
        }
    )

    def featurize(row: dict) -> dict:
        return {"input_features": _whole_clip_log_mel(extractor, row["audio_path"]).T}

    table = datasets.Dataset.from_dict({"audio_path": paths}).map(
        featurize, features=features, num_proc=num_proc, desc="computing log-mel features"
    )
    return LogMelCache(table)


def _whole_clip_log_mel(extractor, path: str) -> np.ndarray:
    samples, sampling_rate = load_audio(path)
    waveform = extractor.mono_at_model_rate(samples, sampling_rate, name=path)
    waveform = np.pad(waveform, (0, max(0, extractor.num_samples - waveform.shape[0])))
    return extractor.log_mel(torch.from_numpy(waveform)[None])[0].numpy()


def _prepared_waveform(extractor, path: str, crop: str, rng: np.random.Generator | None) -> np.ndarray:
    samples, sampling_rate = load_audio(path)
    return extractor.prepare_waveform(samples, sampling_rate, crop=crop, rng=rng, name=path)


@dataclass
class MateDataCollator:
    """Batch dialogue rows (or chunks) into the tensors [`MateModel`] takes, targets included.

    Args:
        processor: the model's processor.
        crop: how clips longer than the feature window are cut: `"random"` for training, `"center"` for evaluation;
            in samples when audio is decoded here, in frames from `audio_cache` (frame t of a clip's log-mel is frame
            t − offset of its window's, but at the window's two edges). A random offset is drawn from (`seed`,
            `epoch`, segment id) alone, not from a shared generator: the data loader collates batches ahead of the
            training step, so a generator's state at a checkpoint would not match what was drawn, and a resumed run
            would crop differently from an uninterrupted one.
        seed: seed of the random crops (the run's `seed`).
        epoch: the training epoch, so each epoch crops afresh; [`MateTrainer`] sets it as each epoch begins
            (loader workers kept alive across epochs, `dataloader_persistent_workers`, keep their first epoch's).
        audio: whether to yield `input_features`; `False` for a text-only model (`modalities="text"`),
            which never reads them, so its batches skip decoding audio.
        audio_cache: the clips' log-mels computed once (`featurize_audio`); without it, audio is decoded here.

    `__call__` returns, for B rows of up to T utterances: `utterance_mask` (B, T), `input_features`
    (B, T, n_mels, frames) (from `audio_cache`, or decoded here), `input_ids`,
    `attention_mask`, `token_type_ids` (B, T, L) or the rows' cached `text_embeds` (B, T, H), and the
    targets `labels` (B, T, 7) vote distributions, `arousal_labels`, `valence_labels` (B, T),
    `majority_labels` (B, T, 7) multi-hot and `target_mask` (B, T) (0 for context-only utterances).
    """

    processor: MateProcessor
    crop: str = "center"
    audio: bool = True
    seed: int = 0
    epoch: int = 0
    audio_cache: LogMelCache | None = None

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        lengths = [len(row["segment_id"]) for row in rows]
        batch = {"utterance_mask": dialogue_mask(lengths)}
        if self.audio:
            batch.update(self._audio_inputs(rows, lengths))
        batch.update(self._text_inputs(rows, lengths))
        batch.update(_targets(rows, lengths))
        return batch

    def _audio_inputs(self, rows: list[dict], lengths: list[int]) -> dict[str, torch.Tensor]:
        extractor = self.processor.feature_extractor
        if self.audio_cache is not None:
            features = [
                [
                    self._cached_window(self.audio_cache[path], segment_id)
                    for path, segment_id in zip(row["audio_path"], row["segment_id"])
                ]
                for row in rows
            ]
            shape = (extractor.n_mels, extractor.num_frames)
            return {"input_features": _pad(features, shape, fill=extractor.padding_value)}
        audio = [
            [
                _prepared_waveform(extractor, path, self.crop, self._crop_rng(segment_id))
                for path, segment_id in zip(row["audio_path"], row["segment_id"])
            ]
            for row in rows
        ]
        return {"input_features": extractor(audio, sampling_rate=extractor.sampling_rate)["input_features"]}

    def _cached_window(self, clip: np.ndarray, segment_id: str) -> np.ndarray:
        """A cached whole-clip log-mel cut to the feature window's frames."""
        excess = clip.shape[-1] - self.processor.feature_extractor.num_frames
        if excess <= 0:
            return clip
        start = crop_start(excess, self.crop, self._crop_rng(segment_id))
        return clip[:, start : start + self.processor.feature_extractor.num_frames]

    def _crop_rng(self, segment_id: str) -> np.random.Generator | None:
        if self.crop != "random":
            return None
        return np.random.default_rng([self.seed, self.epoch, zlib.crc32(segment_id.encode("utf-8"))])

    def _text_inputs(self, rows: list[dict], lengths: list[int]) -> dict[str, torch.Tensor]:
        if "text_embeds" in rows[0]:
            width = len(rows[0]["text_embeds"][0])
            return {"text_embeds": _pad([row["text_embeds"] for row in rows], (width,))}
        tokens = dict(self.processor(text=[list(row["text"]) for row in rows]))
        del tokens["utterance_mask"]
        return tokens


def _targets(rows: list[dict], lengths: list[int]) -> dict[str, torch.Tensor]:
    return {
        "labels": _pad([row["emotion_votes"] for row in rows], (NUM_EMOTIONS,)),
        "majority_labels": _pad([row["emotion_majority"] for row in rows], (NUM_EMOTIONS,)),
        "arousal_labels": _pad([row["arousal"] for row in rows], ()),
        "valence_labels": _pad([row["valence"] for row in rows], ()),
        "target_mask": dialogue_mask(lengths, [row.get("num_context", 0) for row in rows]),
    }


def _pad(values: list, item_shape: tuple, fill: float = 0.0) -> torch.Tensor:
    """Per-row lists of per-utterance values → `(B, max T, *item_shape)` float32, `fill` at padded slots."""
    rows = [torch.from_numpy(np.asarray(row_values, dtype=np.float32)) for row_values in values]
    return pad_dialogues(rows, fill, item_shape)
