"""Processor of MATE: the feature extractor for the audio and a BERT tokenizer for the transcripts."""

import torch
from transformers import BatchFeature, ProcessorMixin

from .configuration_mate import EMOTION_LABELS
from .feature_extraction_mate import as_dialogues, dialogue_mask, pad_dialogues


class MateProcessor(ProcessorMixin):
    r"""
    Prepares dialogues for [`MateModel`]: audio through [`MateFeatureExtractor`], transcripts through a
    BERT tokenizer (KR-BERT's, or a character-level vocabulary built for offline use).

    Args:
        feature_extractor ([`MateFeatureExtractor`]): turns waveforms into log-mel spectrograms.
        tokenizer ([`PreTrainedTokenizerBase`]): a BERT-style tokenizer.
        max_text_length (`int`, defaults to 128): transcripts are truncated to this many tokens.

    Example:

    ```python
    >>> import numpy as np
    >>> from mate_hf import MateFeatureExtractor, MateProcessor, build_char_tokenizer

    >>> texts = ["정말 기뻐요", "왜 이렇게 화나게 해", "오늘은 날씨가 맑네요"]
    >>> processor = MateProcessor(MateFeatureExtractor(max_duration=2.0, n_mels=64), build_char_tokenizer(texts))
    >>> rng = np.random.default_rng(0)
    >>> audio = [rng.normal(0, 0.1, 16000).astype(np.float32) for _ in texts]  # 1 s per utterance, 16 kHz
    >>> inputs = processor(audio=[audio, audio[:1]], text=[texts, texts[:1]], sampling_rate=16000)  # 2 dialogues
    >>> for name, tensor in inputs.items():  # (dialogues, utterances, ...)
    ...     print(name, tuple(tensor.shape))
    input_features (2, 3, 64, 63)
    utterance_mask (2, 3)
    input_ids (2, 3, 11)
    attention_mask (2, 3, 11)
    token_type_ids (2, 3, 11)
    >>> inputs["utterance_mask"].tolist()  # the second dialogue is padded
    [[1, 1, 1], [1, 0, 0]]

    ```
    """

    def __init__(self, feature_extractor, tokenizer, max_text_length: int = 128):
        super().__init__(feature_extractor, tokenizer)
        self.max_text_length = max_text_length

    def __call__(
        self,
        audio=None,
        text=None,
        sampling_rate: int | None = None,
        crop: str = "center",
        seed: int | None = None,
        return_tensors: str | None = "pt",
    ) -> BatchFeature:
        """Prepare one utterance, one dialogue or a batch of dialogues.

        Args:
            audio: a waveform, a dialogue (list of waveforms) or a list of dialogues.
            text: a transcript, a dialogue (list of transcripts) or a list of dialogues, shaped like `audio`.
            sampling_rate: rate (Hz) of `audio`; required with audio.
            crop, seed: how clips longer than the feature extractor's window are cut (see the feature extractor).
            return_tensors: `"pt"` (default) or `"np"`.

        Returns:
            [`BatchFeature`] with `input_features` `(B, T, n_mels, frames)` (with audio), `input_ids`,
            `attention_mask`, `token_type_ids` `(B, T, L)` (with text) and `utterance_mask` `(B, T)`.
        """
        if audio is None and text is None:
            raise ValueError("MateProcessor needs audio, text or both")
        data = {}
        if audio is not None:
            data.update(self.feature_extractor(audio, sampling_rate=sampling_rate, crop=crop, seed=seed))
        if text is not None:
            dialogues = as_dialogues(text, is_utterance=lambda value: isinstance(value, str), what="text")
            tokens = self._tokenize_dialogues(dialogues)
            if "utterance_mask" in data and not torch.equal(data["utterance_mask"], tokens["utterance_mask"]):
                audio_counts = data["utterance_mask"].sum(1).tolist()
                text_counts = tokens["utterance_mask"].sum(1).tolist()
                raise ValueError(
                    f"audio and text disagree on the dialogues: utterances per dialogue are {audio_counts} (audio) "
                    f"and {text_counts} (text)"
                )
            data.update(tokens)
        return BatchFeature(data, tensor_type=return_tensors)

    def _tokenize_dialogues(self, dialogues: list[list[str]]) -> dict:
        for d, dialogue in enumerate(dialogues):
            for u, utterance in enumerate(dialogue):
                _check_unicode(utterance, f"text of dialogue {d}, utterance {u}")
        flat = [utterance for dialogue in dialogues for utterance in dialogue]
        encoded = self.tokenizer(
            flat, padding="longest", truncation=True, max_length=self.max_text_length, return_tensors="pt"
        )
        lengths = [len(dialogue) for dialogue in dialogues]
        fills = {"input_ids": self.tokenizer.pad_token_id, "attention_mask": 0, "token_type_ids": 0}
        padded = {
            # A tokenizer without token types gets zeros, as BERT reads them.
            name: pad_dialogues(encoded.get(name, torch.zeros_like(encoded["input_ids"])).split(lengths), fill)
            for name, fill in fills.items()
        }
        return {**padded, "utterance_mask": dialogue_mask(lengths)}

    def post_process(
        self, outputs, utterance_mask: torch.Tensor | None = None, top_k: int | None = None, id2label=None
    ) -> list[list[dict]]:
        """Model outputs → per dialogue, per utterance: `{"emotions": [{"label", "score"}, ...], "arousal",
        "valence"}`, emotions ranked by probability (the `top_k` best, or all)."""
        labels = id2label or dict(enumerate(EMOTION_LABELS))
        probs = outputs.emotion_probs.detach().float().cpu()
        if utterance_mask is None:
            utterance_mask = torch.ones(probs.shape[:2], dtype=torch.long)
        return [
            [
                {
                    "emotions": rank_emotions(probs[d, u], labels, top_k),
                    "arousal": float(outputs.arousal[d, u]),
                    "valence": float(outputs.valence[d, u]),
                }
                for u in range(int(count))
            ]
            for d, count in enumerate(utterance_mask.sum(1).tolist())
        ]

    @property
    def model_input_names(self) -> list[str]:
        return ["input_features", "input_ids", "attention_mask", "token_type_ids", "utterance_mask"]


def rank_emotions(probs: torch.Tensor, id2label: dict, top_k: int | None = None) -> list[dict]:
    """One utterance's emotion probabilities `(num_labels,)` → `[{"label", "score"}, ...]` by descending score: the
    `top_k` best (all when `None`)."""
    k = probs.numel() if top_k is None else min(top_k, probs.numel())
    scores, indices = probs.topk(k)  # sorted, highest first
    return [{"label": id2label[int(index)], "score": float(score)} for score, index in zip(scores, indices)]


def _check_unicode(text: str, name: str) -> None:
    # A lone surrogate (from bytes decoded with errors="surrogateescape") makes the Rust tokenizer raise a TypeError.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{name}: not valid Unicode ({error.reason} at character {error.start})") from None


__all__ = ["MateProcessor"]
