"""Shared fixtures: a tiny MATE (fast on 2 CPU cores), its processor, short synthetic dialogues, and the bundled
demo corpus.

Test modules take what they share as fixtures, never by importing this module: `build_tiny_mate`, `tiny_config`,
`make_dialogue`, `train_sentencepiece` and `run_in_repo` give functions, `korean_sentences`, `sampling_rate`,
`demo_kemdy19`, `tiny_run_path` and `tiny_run_settings` values."""

import copy
import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer
from mate_hf.data import load_kemdy19

SAMPLING_RATE = 16000
ROOT = Path(__file__).resolve().parents[1]
DEMO_KEMDY19 = ROOT / "demo_corpus" / "KEMDy19"
# The training tests' run; its `model:` settings are the tiny MATE of the whole test suite, defined once.
TINY_RUN = ROOT / "tests" / "configs" / "tiny_run.yaml"
TINY_MODEL_SETTINGS = yaml.safe_load(TINY_RUN.read_text(encoding="utf-8"))["model"]
KOREAN_SENTENCES = [
    "정말 기뻐요 너무 좋아요",
    "왜 이렇게 화나게 해",
    "너무 슬프고 외로워요",
    "무서워서 잠이 안 와요",
    "어머 깜짝 놀랐어요",
    "오늘은 날씨가 맑네요",
    "그 냄새 정말 역겨워",
]


def tiny_config(vocab_size: int = 200, **overrides) -> MateConfig:
    """The tiny MATE of tests/configs/tiny_run.yaml (every stage present, small sizes, 2 s clips) with a text
    vocabulary of `vocab_size`; `overrides` replace its settings (a `text_config` mapping only the keys it has)."""
    settings = copy.deepcopy(TINY_MODEL_SETTINGS)  # a config keeps the lists: a test may change them in place
    text_config = {**settings.pop("text_config"), "vocab_size": vocab_size, **overrides.pop("text_config", {})}
    return MateConfig(**{**settings, **overrides, "text_config": text_config})


def build_tiny_mate(texts=KOREAN_SENTENCES, seed: int = 0, **config_overrides) -> tuple[MateModel, MateProcessor]:
    """A tiny MATE in eval mode whose character vocabulary covers `texts`, with its processor."""
    tokenizer = build_char_tokenizer(texts)
    config = tiny_config(tokenizer.vocab_size, **config_overrides)
    torch.manual_seed(seed)
    model = MateModel(config).eval()
    return model, MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)


def make_dialogue(num_utterances: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Waveforms of varied length (0.3–1.5 s, tones plus noise) and Korean transcripts."""
    rng = np.random.default_rng(seed)
    audio, text = [], []
    for index in range(num_utterances):
        duration = rng.uniform(0.3, 1.5)
        t = np.arange(int(duration * SAMPLING_RATE)) / SAMPLING_RATE
        tone = np.sin(2 * np.pi * rng.uniform(100, 800) * t) * rng.uniform(0.05, 0.5)
        audio.append((tone + rng.normal(0, 0.01, t.shape)).astype(np.float32))
        text.append(KOREAN_SENTENCES[(seed + index) % len(KOREAN_SENTENCES)])
    return audio, text


def train_sentencepiece(texts: list[str], **options) -> bytes:
    """A unigram SentencePiece model (serialised) trained on `texts`; `options` go to the trainer."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="unigram",
        vocab_size=400,
        hard_vocab_limit=False,  # the demo corpus is small: take what it yields
        character_coverage=1.0,
        minloglevel=2,
        **options,
    )
    return model.getvalue()


def _session_fixture(name: str, value, doc: str):
    """A session fixture `name` that gives `value` (a function is given as it is, to be called with arguments)."""

    def fixture():
        return value

    fixture.__doc__ = doc
    return pytest.fixture(scope="session", name=name)(fixture)


build_tiny_mate_fixture = _session_fixture(
    "build_tiny_mate", build_tiny_mate, "`build_tiny_mate(texts=korean_sentences, seed=0, **config_overrides)`."
)
tiny_config_fixture = _session_fixture("tiny_config", tiny_config, "`tiny_config(vocab_size=200, **overrides)`.")
make_dialogue_fixture = _session_fixture(
    "make_dialogue", make_dialogue, "`make_dialogue(num_utterances, seed) -> (waveforms, transcripts)`."
)
train_sentencepiece_fixture = _session_fixture(
    "train_sentencepiece", train_sentencepiece, "`train_sentencepiece(texts, **trainer_options) -> model bytes`."
)
korean_sentences = _session_fixture(
    "korean_sentences", KOREAN_SENTENCES, "Seven transcripts, one per emotion; the tiny MATE's vocabulary covers them."
)
sampling_rate = _session_fixture("sampling_rate", SAMPLING_RATE, "The rate (Hz) of `make_dialogue`'s waveforms.")
demo_kemdy19 = _session_fixture("demo_kemdy19", DEMO_KEMDY19, "The bundled demo corpus' KEMDy19 folder.")
tiny_run_path = _session_fixture("tiny_run_path", TINY_RUN, "tests/configs/tiny_run.yaml: a seconds-long training run.")


@pytest.fixture(scope="session")
def tiny_run_settings() -> dict:
    """tiny_run.yaml's settings (read-only: shared by the session); `["model"]` are the tiny MATE's."""
    return yaml.safe_load(TINY_RUN.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def run_in_repo():
    """`run_in_repo(command, **subprocess_run_kwargs) -> CompletedProcess`: the command run from the repository
    root, output captured as text, unbuffered, within 10 minutes."""

    def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, **kwargs)

    return run


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for the module: for many tiny forward passes, handing work to a second thread costs
    more than it saves, ten times more while other processes keep the cores busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer():
    return build_char_tokenizer(KOREAN_SENTENCES)


@pytest.fixture
def config(tokenizer):
    return tiny_config(tokenizer.vocab_size)


@pytest.fixture
def model(config):
    torch.manual_seed(0)
    return MateModel(config).eval()


@pytest.fixture
def processor(config, tokenizer):
    return MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)


@pytest.fixture
def make_batch(processor):
    """Build processor inputs for dialogues of the given lengths."""

    def build(*lengths: int):
        dialogues = [make_dialogue(length, seed) for seed, length in enumerate(lengths)]
        return processor(
            audio=[audio for audio, _ in dialogues],
            text=[text for _, text in dialogues],
            sampling_rate=SAMPLING_RATE,
        )

    return build


@pytest.fixture(scope="session")
def demo_dialogues():
    """The bundled demo corpus' KEMDy19 part, speaker role: one row per dialogue (41), read once per test run."""
    dataset, _ = load_kemdy19(DEMO_KEMDY19, role="speaker")
    return dataset


@pytest.fixture(scope="session")
def demo_corpus_texts(demo_dialogues) -> list[str]:
    return [text for dialogue in demo_dialogues["text"] for text in dialogue]


@pytest.fixture(scope="module")
def tiny_mate_for_demo_corpus(demo_corpus_texts):
    """A tiny MATE whose vocabulary covers the demo corpus, with its processor; per module, since tests train it."""
    return build_tiny_mate(demo_corpus_texts)


@pytest.fixture(scope="session")
def kobert_sentencepiece(demo_corpus_texts) -> bytes:
    """A SentencePiece model trained on the demo corpus' transcripts with KoBERT's special-token ids ([UNK]=0,
    [PAD]=1, [CLS]=2, [SEP]=3, [MASK]=4): the offline stand-in for skt/kobert-base-v1's spiece.model."""
    return train_sentencepiece(
        demo_corpus_texts,
        unk_id=0,
        pad_id=1,
        bos_id=2,
        eos_id=3,
        unk_piece="[UNK]",
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        user_defined_symbols=["[MASK]"],
    )


@pytest.fixture
def make_trainer(build_tiny_mate):
    """`make_trainer(output_dir, dialogues, collator_class=MateDataCollator) -> MateTrainer`: a fresh tiny MATE (same
    seed every time) on the dialogues, saving a checkpoint every 2 of 4 optimiser steps."""
    from mate_hf.data.collator import MateDataCollator
    from mate_hf.trainer import LABEL_NAMES, MateTrainer, MateTrainingArguments

    def build(output_dir: Path, dialogues, collator_class=MateDataCollator) -> MateTrainer:
        texts = [text for dialogue in dialogues["text"] for text in dialogue]
        model, processor = build_tiny_mate(texts, max_duration=1.0)
        arguments = MateTrainingArguments(
            output_dir=str(output_dir),
            max_steps=4,
            save_strategy="steps",
            save_steps=2,
            per_device_train_batch_size=2,
            learning_rate=1e-3,
            seed=7,
            use_cpu=True,
            report_to=[],
            disable_tqdm=True,
            dataloader_num_workers=0,
            label_names=LABEL_NAMES,
            remove_unused_columns=False,
        )
        return MateTrainer(
            model=model.train(), args=arguments, train_dataset=dialogues, data_collator=collator_class(processor)
        )

    return build
