"""Processor of MATE: the feature extractor for the audio and a BERT tokenizer for the transcripts."""

import torch
from transformers import BatchFeature, ProcessorMixin

from .configuration_mate import EMOTION_LABELS
from .feature_extraction_mate import as_dialogues


class MateProcessor(ProcessorMixin):
    r"""
    Prepares dialogues for [`MateModel`]: audio through [`MateFeatureExtractor`], transcripts through a
    BERT tokenizer (KR-BERT's, or a character-level vocabulary built for offline use).

    Args:
        feature_extractor ([`MateFeatureExtractor`]): turns waveforms into log-mel spectrograms.
        tokenizer ([`PreTrainedTokenizerBase`]): a BERT-style tokenizer.
        max_text_length (`int`, defaults to 128): transcripts are truncated to this many tokens.
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
        shape = (len(dialogues), max(lengths), encoded["input_ids"].shape[-1])
        padded = {
            "input_ids": torch.full(shape, self.tokenizer.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros(shape, dtype=torch.long),
            "token_type_ids": torch.zeros(shape, dtype=torch.long),
        }
        utterance_mask = torch.zeros(shape[:2], dtype=torch.long)
        start = 0
        for index, length in enumerate(lengths):
            for name, tensor in padded.items():
                if name in encoded:
                    tensor[index, :length] = encoded[name][start : start + length]
            utterance_mask[index, :length] = 1
            start += length
        return {**padded, "utterance_mask": utterance_mask}

    def post_process(
        self, outputs, utterance_mask: torch.Tensor | None = None, top_k: int | None = None, id2label=None
    ) -> list[list[dict]]:
        """Model outputs → per dialogue, per utterance: `{"emotions": [{"label", "score"}, ...], "arousal",
        "valence"}`, emotions ranked by probability (the `top_k` best, or all)."""
        labels = id2label or dict(enumerate(EMOTION_LABELS))
        probs = outputs.emotion_probs.detach().float().cpu()
        if utterance_mask is None:
            utterance_mask = torch.ones(probs.shape[:2], dtype=torch.long)
        counts = utterance_mask.sum(1).tolist()
        k = probs.shape[-1] if top_k is None else min(top_k, probs.shape[-1])
        results = []
        for d, count in enumerate(counts):
            dialogue = []
            for u in range(int(count)):
                scores, indices = probs[d, u].topk(k)
                dialogue.append(
                    {
                        "emotions": [{"label": labels[int(i)], "score": float(s)} for s, i in zip(scores, indices)],
                        "arousal": float(outputs.arousal[d, u]),
                        "valence": float(outputs.valence[d, u]),
                    }
                )
            results.append(dialogue)
        return results

    @property
    def model_input_names(self) -> list[str]:
        return ["input_features", "input_ids", "attention_mask", "token_type_ids", "utterance_mask"]


def _check_unicode(text: str, name: str) -> None:
    # A lone surrogate (from bytes decoded with errors="surrogateescape") makes the Rust tokenizer raise a TypeError.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{name}: not valid Unicode ({error.reason} at character {error.start})") from None


__all__ = ["MateProcessor"]
