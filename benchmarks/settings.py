"""What a run measures and at which sizes: the full run (the default architecture) and `--quick` (a tiny one)."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

SAMPLING_RATE = 16000
MEASURES = ("training", "featurization", "inference", "onnx", "growth", "memory")
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
# One tiny MATE for the test suite and the quick benchmark: the `model:` mapping of the tests' tiny run (MateConfig
# settings), so that a change to the tiny model reaches both. Its text encoder's vocabulary comes from a corpus's
# transcripts, so the benchmark adds its own: room for the character tokenizer of TRANSCRIPTS.
TINY_RUN = Path(__file__).resolve().parents[1] / "tests" / "configs" / "tiny_run.yaml"
QUICK_VOCAB_SIZE = 400


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
    # ONNX Runtime against PyTorch: one utterance, and one dialogue of this many.
    onnx_dialogue_length: int = 16
    growth_lengths: tuple = (1, 4, 16, 64, 256)
    growth_batches: tuple = (1, 4)
    # Batches of windows whose peak lies on the line: at 1 the heads' BatchNorm1d cannot train; at 2 a bidirectional
    # LSTM's peak is still set by its weight-sized gradients and Adam's temporaries, not by the activations.
    memory_batches: tuple = (4, 6, 8)


def tiny_mate_config() -> dict:
    """The tests' tiny MATE (tests/configs/tiny_run.yaml), with the vocabulary the benchmark's tokenizer needs."""
    config = yaml.safe_load(TINY_RUN.read_text(encoding="utf-8"))["model"]
    return {**config, "text_config": {**config.get("text_config", {}), "vocab_size": QUICK_VOCAB_SIZE}}


FULL = Settings(name="full")
QUICK = Settings(
    name="quick",
    mate_config=tiny_mate_config(),
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
