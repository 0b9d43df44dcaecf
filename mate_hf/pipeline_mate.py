"""`MateEmotionPipeline`: recordings (and transcripts) in, per-utterance emotion, arousal and valence out."""

from collections.abc import Sized

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import Pipeline
from transformers.pipelines.pt_utils import PipelineDataset, PipelineIterator

from .audio_io import load_audio
from .feature_extraction_mate import SILENCE_DB, pad_dialogues
from .processing_mate import MateProcessor, rank_emotions

TASK = "mate-emotion-recognition"
# Tail of a long recording shorter than this is dropped: too short to carry an emotion, and reported
# by the segment times (the last segment ends before the recording does).
MIN_SEGMENT_SECONDS = 1.0
# Per-recording values that travel beside the tensors, each wrapped in a one-element list.
NON_TENSOR_KEYS = ("layout", "is_dialogue")


class MateEmotionPipeline(Pipeline):
    """Emotion recognition in conversation with MATE.

    Inputs, as the audio-classification pipeline takes them: a file path, raw file bytes, a waveform
    array (with `sampling_rate=`), or a dict `{"raw"|"array": waveform, "sampling_rate": int}`
    (optionally with `"text"`). A list of such inputs is a batch of independent recordings; a dict
    `{"dialogue": [turn, turn, ...]}` is one conversation whose turns are read in order, each turn an
    input as above with its `"text"`.

    Recordings longer than the model's window (10 s by default) are cut into consecutive segments,
    read as consecutive utterances; segments shorter than 1 s at the end are dropped.

    Transcripts: `transcript=` (or a turn's `"text"`) is used for every segment of that recording.
    Without one, `asr_model=` (a transformers ASR pipeline, or a model name for one) transcribes each
    segment; otherwise the text embedding is left at zeros (the paper's audio-only path) and the
    result says `"modalities": "audio"`.

    Returns, per recording (per turn for a dialogue): `{"emotions": [{"label", "score"}, ...],
    "arousal", "valence", "modalities", "segments": [{"start", "end", "transcript", "emotions",
    "arousal", "valence"}, ...]}`; the recording-level values average its segments. `emotions` lists are ranked
    by descending score (the `top_k=` best, or all seven).

    Example (a saved folder loads with `mate_hf.load_mate_pipeline(folder)`; here a small untrained model):

    ```python
    >>> import numpy as np
    >>> from transformers import pipeline
    >>> from mate_hf import TASK, MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer

    >>> tokenizer = build_char_tokenizer(["정말 기뻐요"])
    >>> text = {"vocab_size": tokenizer.vocab_size, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    >>> config = MateConfig(max_duration=2.0, n_mels=64, lstm_hidden_size=16, text_config=text)
    >>> processor = MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)
    >>> recognizer = pipeline(TASK, model=MateModel(config).eval(), processor=processor)
    >>> waveform = np.random.default_rng(0).normal(0, 0.1, 3 * 16000).astype(np.float32)  # 3 s at 16 kHz
    >>> result = recognizer(waveform, sampling_rate=16000, transcript="정말 기뻐요", top_k=2)
    >>> sorted(result), len(result["emotions"]), sorted(result["emotions"][0])
    (['arousal', 'emotions', 'modalities', 'segments', 'valence'], 2, ['label', 'score'])
    >>> [(segment["start"], segment["end"]) for segment in result["segments"]]  # 2 s windows
    [(0.0, 2.0), (2.0, 3.0)]

    ```
    """

    # The processor carries both parts; a folder from `save_mate_folder` has its processor_config.json.
    _load_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args, asr_model=None, **kwargs):
        super().__init__(*args, **kwargs)
        # By name: loaded as remote code, the processor's class comes from another copy of processing_mate.
        if type(self.processor).__name__ != MateProcessor.__name__:
            raise ValueError(
                f"MateEmotionPipeline needs a MateProcessor, got {type(self.processor).__name__}: pass processor=, or "
                "load a folder saved with mate_hf.save_mate_folder (it holds processor_config.json)"
            )
        self.feature_extractor = self.processor.feature_extractor
        self.tokenizer = self.processor.tokenizer
        self.asr = _asr_pipeline(asr_model)

    def _sanitize_parameters(self, top_k=None, transcript=None, sampling_rate=None, asr_model=None, **kwargs):
        if asr_model is not None:
            self.asr = _asr_pipeline(asr_model)
        preprocess = {"transcript": transcript, "sampling_rate": sampling_rate}
        postprocess = {"top_k": top_k} if top_k is not None else {}
        return {k: v for k, v in preprocess.items() if v is not None}, {}, postprocess

    def preprocess(self, inputs, transcript: str | None = None, sampling_rate: int | None = None) -> dict:
        is_dialogue = isinstance(inputs, dict) and "dialogue" in inputs
        turns = inputs["dialogue"] if is_dialogue else [inputs]
        utterances = []
        for index, turn in enumerate(turns):
            waveform, rate, text = _read_turn(turn, sampling_rate, transcript, name=f"turn {index}")
            for start, end, segment in self._segments(waveform, rate, name=f"turn {index}"):
                utterances.append((index, start, end, segment, text))
        texts = [text if text is not None else self._transcribe(segment) for *_, segment, text in utterances]
        features = self.processor(
            audio=[segment for *_, segment, _ in utterances],
            text=[text or "" for text in texts],
            sampling_rate=self.feature_extractor.sampling_rate,
        )
        features["text_present"] = torch.tensor([[text is not None for text in texts]])
        features["layout"] = [[(index, start, end, text) for (index, start, end, _, _), text in zip(utterances, texts)]]
        features["is_dialogue"] = [is_dialogue]
        return features

    def _segments(self, waveform, rate: int, name: str):
        extractor = self.feature_extractor
        mono = extractor.mono_at_model_rate(waveform, rate, name=name)
        window = extractor.num_samples
        total = mono.shape[0]
        starts = range(0, max(total, 1), window)
        for start in starts:
            end = min(start + window, total)
            if start > 0 and end - start < MIN_SEGMENT_SECONDS * extractor.sampling_rate:
                break
            yield start / extractor.sampling_rate, end / extractor.sampling_rate, mono[start:end]

    def _transcribe(self, segment: np.ndarray) -> str | None:
        if self.asr is None:
            return None
        result = self.asr({"raw": segment, "sampling_rate": self.feature_extractor.sampling_rate})
        return result["text"].strip()

    def get_inference_context(self):
        # Pipeline's default is no_grad; inference_mode also skips autograd's version counters and view tracking.
        return torch.inference_mode

    def _forward(self, model_inputs: dict) -> dict:
        passed = {key: model_inputs.pop(key) for key in NON_TENSOR_KEYS}
        text_present = model_inputs.pop("text_present")
        if self.model.uses_text:
            embeds = self.model.embed_text(
                model_inputs.pop("input_ids"), model_inputs.pop("attention_mask"), model_inputs.pop("token_type_ids")
            )
            model_inputs["text_embeds"] = embeds * text_present.unsqueeze(-1).to(embeds.dtype)
        outputs = self.model(**model_inputs)
        return {
            "emotion_probs": outputs.emotion_probs,
            "arousal": outputs.arousal,
            "valence": outputs.valence,
            **passed,
        }

    def postprocess(self, model_outputs: dict, top_k: int | None = None):
        layout = model_outputs["layout"][0]
        turns: dict[int, list] = {}
        for position, (turn, start, end, text) in enumerate(layout):
            turns.setdefault(turn, []).append(
                {
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "transcript": text,
                    "probs": model_outputs["emotion_probs"][0, position].float(),
                    "arousal": float(model_outputs["arousal"][0, position]),
                    "valence": float(model_outputs["valence"][0, position]),
                }
            )
        results = [_turn_result(segments, self.model.config.id2label, top_k) for segments in turns.values()]
        return results if model_outputs["is_dialogue"][0] else results[0]

    def get_iterator(self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params):
        if batch_size == 1:
            return super().get_iterator(
                inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
            )
        # The default collate pads flat sequences; MATE's inputs are (recordings, utterances, ...): pad both.
        if isinstance(inputs, Sized):
            dataset = PipelineDataset(inputs, self.preprocess, preprocess_params)
        else:
            dataset = PipelineIterator(inputs, self.preprocess, preprocess_params)
        loader = DataLoader(dataset, num_workers=num_workers, batch_size=batch_size, collate_fn=_collate_recordings)
        model_iterator = PipelineIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)


def _turn_result(segments: list[dict], labels: dict, top_k: int | None) -> dict:
    """A turn's segments → the turn's result: segment-wise rankings and their average."""
    probs = [segment.pop("probs") for segment in segments]
    for segment, segment_probs in zip(segments, probs):
        segment["emotions"] = rank_emotions(segment_probs, labels, top_k)
    has_text = all(segment["transcript"] is not None for segment in segments)
    return {
        "emotions": rank_emotions(torch.stack(probs).mean(0), labels, top_k),
        "arousal": float(np.mean([segment["arousal"] for segment in segments])),
        "valence": float(np.mean([segment["valence"] for segment in segments])),
        "modalities": "audio+text" if has_text else "audio",
        "segments": segments,
    }


def _read_turn(turn, sampling_rate: int | None, transcript: str | None, name: str):
    """One input → (waveform, rate, transcript or None)."""
    text = transcript
    if isinstance(turn, dict):
        text = turn.get("text", turn.get("transcript", text))
        audio = turn.get("audio", turn.get("raw", turn.get("array", turn.get("path"))))
        if isinstance(audio, dict):
            turn = audio
            audio = turn.get("raw", turn.get("array", turn.get("path")))
        sampling_rate = turn.get("sampling_rate", sampling_rate)
        if audio is None:
            raise ValueError(f"{name}: a dict input needs 'raw', 'array', 'path' or 'audio'")
        turn = audio
    if isinstance(turn, (str, bytes)):
        waveform, rate = load_audio(turn)
        return waveform, rate, text
    if sampling_rate is None:
        raise ValueError(f"{name}: a waveform array needs its sampling_rate")
    return turn, sampling_rate, text


def _collate_recordings(items: list[dict]) -> dict:
    batch = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key in NON_TENSOR_KEYS:
            batch[key] = values  # unbatched item by item, each back to its own one-element list
        else:
            fill = SILENCE_DB if key == "input_features" else 0
            batch[key] = pad_dialogues([value[0] for value in values], fill)
    return batch


def _asr_pipeline(asr_model):
    if asr_model is None or callable(asr_model):
        return asr_model
    from transformers import pipeline

    return pipeline("automatic-speech-recognition", model=asr_model)
