"""Shared fixtures: a tiny MATE (fast on 2 CPU cores), its processor, short synthetic dialogues, and the bundled
demo corpus."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer
from mate_hf.data import load_kemdy19

SAMPLING_RATE = 16000
DEMO_KEMDY19 = Path(__file__).resolve().parents[1] / "demo_corpus" / "KEMDy19"
KOREAN_SENTENCES = [
    "정말 기뻐요 너무 좋아요",
    "왜 이렇게 화나게 해",
    "너무 슬프고 외로워요",
    "무서워서 잠이 안 와요",
    "어머 깜짝 놀랐어요",
    "오늘은 날씨가 맑네요",
    "그 냄새 정말 역겨워",
]


def tiny_config(**overrides) -> MateConfig:
    """A MATE with every stage present but small sizes; 1 s clips."""
    settings = dict(
        text_config=dict(
            vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        ),
        max_duration=1.0,
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
    )
    settings.update(overrides)
    return MateConfig(**settings)


def build_tiny_mate(texts=KOREAN_SENTENCES, seed: int = 0, **config_overrides) -> tuple[MateModel, MateProcessor]:
    """A tiny MATE in eval mode whose character vocabulary covers `texts`, with its processor."""
    tokenizer = build_char_tokenizer(texts)
    config = tiny_config(text_config=_tiny_text_config(tokenizer), **config_overrides)
    torch.manual_seed(seed)
    model = MateModel(config).eval()
    return model, MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)


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
    return tiny_config(text_config=_tiny_text_config(tokenizer))


def _tiny_text_config(tokenizer) -> dict:
    return dict(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )


@pytest.fixture
def model(config):
    torch.manual_seed(0)
    return MateModel(config).eval()


@pytest.fixture
def processor(config, tokenizer):
    return MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)


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
    """A tiny MATE (2 s clips) whose vocabulary covers the demo corpus, with its processor; per module, since
    tests train it."""
    return build_tiny_mate(demo_corpus_texts, max_duration=2.0)


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
