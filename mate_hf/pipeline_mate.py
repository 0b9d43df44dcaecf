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
from .voice_activity import check_vad_settings, speech_spans

TASK = "mate-emotion-recognition"
# Tail of a long recording shorter than this is dropped: too short to carry an emotion, and reported
# by the segment times (the last segment ends before the recording does).
MIN_SEGMENT_SECONDS = 1.0
# Per-recording values that travel beside the tensors, each wrapped in a one-element list.
NON_TENSOR_KEYS = ("layout", "is_dialogue")
SEGMENTATIONS = ("auto", "vad", "fixed")
# The pipeline's voice-activity arguments → `speech_spans`' keywords (whose defaults apply to those not given).
VAD_SETTINGS = {
    "vad_threshold": "threshold",
    "min_silence_duration": "min_silence_s",
    "min_speech_duration": "min_speech_s",
    "speech_pad": "speech_pad_s",
}


class MateEmotionPipeline(Pipeline):
    """Emotion recognition in conversation with MATE.

    Inputs, as the audio-classification pipeline takes them: a file path, raw file bytes, a waveform
    array (with `sampling_rate=`), or a dict `{"raw"|"array": waveform, "sampling_rate": int}`
    (optionally with `"text"`). A list of such inputs is a batch of independent recordings; a dict
    `{"dialogue": [turn, turn, ...]}` is one conversation whose turns are read in order, each turn an
    input as above with its `"text"`.

    Segmentation (`segmentation=`), how a recording becomes the utterances the model reads in context:

    - `"fixed"`: cut into consecutive windows of the model's clip length (`max_duration`, 10 s by default),
      read as consecutive utterances; a window shorter than 1 s at the end is dropped.
    - `"vad"`: the recording is a conversation: voice activity (Silero VAD, package `silero-vad`) finds its
      utterances, and all of them are read in order as one dialogue. An utterance longer than the clip length is
      cut into fixed windows within it (as above), each read as an utterance.
    - `"auto"` (default): `"vad"` for a recording longer than the clip length given without a transcript;
      otherwise `"fixed"` (a recording not longer than the clip length is one utterance). The turns of a
      `{"dialogue": ...}` input are read as `"fixed"` unless `segmentation="vad"` is passed.

    Voice-activity settings (call or constructor arguments; defaults chosen for conversational speech):
    `vad_threshold=0.5` (speech probability of a 32 ms frame), `min_silence_duration=0.2` (s: a shorter pause
    does not end an utterance), `min_speech_duration=0.25` (s: shorter speech is dropped), `speech_pad=0.05`
    (s added on both sides of an utterance).

    Transcripts: `transcript=` (or a turn's `"text"`) is used for every segment of that recording; it cannot be
    split among utterances found by voice activity, so `segmentation="vad"` with one is a `ValueError`.
    Without one, `asr_model=` (a transformers ASR pipeline, a model name for one, or a callable taking
    `{"raw", "sampling_rate"}` and returning `{"text"}`) transcribes each segment (with `"vad"`: each utterance,
    whole); otherwise the text embedding is left at zeros (the paper's audio-only path) and the result says
    `"modalities": "audio"`. An `asr_model=` given to a call applies to that call only.

    Returns, per recording (per turn for a dialogue), read with `"fixed"`: `{"emotions": [{"label", "score"},
    ...], "arousal", "valence", "modalities", "segments": [{"start", "end", "transcript", "emotions",
    "arousal", "valence"}, ...]}`, the recording-level values averaging its segments. Read with `"vad"`:
    `{"emotions", "arousal", "valence", "modalities", "segmentation": "vad", "utterances": [{"start", "end",
    "transcript", "emotions", "arousal", "valence"}, ...]}`, the recording-level values averaging its utterances;
    an utterance longer than the clip length also has its `"segments"` (as above), which it averages. A recording
    without speech gives `"utterances": []`, `"emotions": []` and `None` for arousal and valence. Times are seconds
    of the recording (3 decimals). `emotions` lists are ranked by descending score (the `top_k=` best, or all
    seven).

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
        self._asr_by_name = {}
        self.asr = self._asr(asr_model)

    def _asr(self, asr_model):
        """An ASR pipeline, callable or None; one named by a string is loaded once per pipeline."""
        if asr_model is None or callable(asr_model):
            return asr_model
        if asr_model not in self._asr_by_name:
            self._asr_by_name[asr_model] = _asr_pipeline(asr_model)
        return self._asr_by_name[asr_model]

    def _sanitize_parameters(
        self,
        top_k=None,
        transcript=None,
        sampling_rate=None,
        asr_model=None,
        segmentation=None,
        vad_threshold=None,
        min_silence_duration=None,
        min_speech_duration=None,
        speech_pad=None,
        **kwargs,
    ):
        if segmentation is not None and segmentation not in SEGMENTATIONS:
            raise ValueError(f"segmentation must be one of {', '.join(map(repr, SEGMENTATIONS))}, got {segmentation!r}")
        preprocess = {
            "transcript": transcript,
            "sampling_rate": sampling_rate,
            "segmentation": segmentation,
            "vad_threshold": vad_threshold,
            "min_silence_duration": min_silence_duration,
            "min_speech_duration": min_speech_duration,
            "speech_pad": speech_pad,
            "asr": self._asr(asr_model),  # for this call only; the constructor's asr_model is the default
        }
        preprocess = {k: v for k, v in preprocess.items() if v is not None}
        # An out-of-range setting fails at the call, not after the first recordings of a batch.
        check_vad_settings(**{VAD_SETTINGS[key]: preprocess[key] for key in VAD_SETTINGS if key in preprocess})
        postprocess = {"top_k": top_k} if top_k is not None else {}
        return preprocess, {}, postprocess

    def preprocess(
        self,
        inputs,
        transcript: str | None = None,
        sampling_rate: int | None = None,
        segmentation: str = "auto",
        asr=None,
        **vad_settings,
    ) -> dict:
        asr = asr if asr is not None else self.asr
        vad = {VAD_SETTINGS[key]: value for key, value in vad_settings.items()}
        is_dialogue = isinstance(inputs, dict) and "dialogue" in inputs
        turns = inputs["dialogue"] if is_dialogue else [inputs]
        rate = self.feature_extractor.sampling_rate
        clips, texts, layout = [], [], []
        for index, turn in enumerate(turns):
            name = f"turn {index}"
            waveform, turn_rate, text = _read_turn(turn, sampling_rate, transcript, name=name)
            mono = self.feature_extractor.mono_at_model_rate(waveform, turn_rate, name=name)
            if self._segmentation(segmentation, is_dialogue, text, mono.shape[0], name) == "fixed":
                segments = []
                for start, end in self._windows(0, mono.shape[0]):
                    segment_text = text if text is not None else self._transcribe(asr, mono[start:end])
                    clips.append(mono[start:end])
                    texts.append(segment_text)
                    segments.append((start / rate, end / rate, segment_text))
                layout.append(("fixed", segments))
                continue
            utterances = []
            for start, end in speech_spans(mono, rate, **vad):
                utterance_text = self._transcribe(asr, mono[start:end])
                windows = list(self._windows(start, end))
                for window_start, window_end in windows:
                    clips.append(mono[window_start:window_end])
                    texts.append(utterance_text)
                windows = [(window_start / rate, window_end / rate) for window_start, window_end in windows]
                cut = end - start > self.feature_extractor.num_samples  # its windows are reported as segments
                utterances.append((start / rate, end / rate, utterance_text, windows, cut))
            layout.append(("vad", utterances, "audio" if asr is None else "audio+text"))
        if not clips:  # no speech anywhere: the model still needs an utterance; the layout reads none of it
            clips, texts = [np.zeros(self.feature_extractor.num_samples, dtype=np.float32)], [None]
        features = self.processor(audio=clips, text=[text or "" for text in texts], sampling_rate=rate)
        features["text_present"] = torch.tensor([[text is not None for text in texts]])
        features["layout"] = [layout]
        features["is_dialogue"] = [is_dialogue]
        return features

    def _segmentation(self, segmentation: str, is_dialogue: bool, text: str | None, num_samples: int, name: str):
        """How one recording (or turn) is read: "fixed" or "vad" (see the class docstring)."""
        if segmentation == "auto":
            long = num_samples > self.feature_extractor.num_samples
            return "vad" if long and not is_dialogue and text is None else "fixed"
        if segmentation == "vad" and text is not None:
            raise ValueError(
                f"{name}: segmentation='vad' splits the recording into the utterances its voice activity shows, and "
                "one transcript for the whole recording cannot be split among them: pass asr_model= to transcribe "
                "each utterance, or segmentation='fixed' to read the recording with its transcript"
            )
        return segmentation

    def _windows(self, start: int, end: int):
        """Consecutive windows of the clip length over samples `[start, end)`; one shorter than
        `MIN_SEGMENT_SECONDS` after the first is dropped (with what follows)."""
        window = self.feature_extractor.num_samples
        for first in range(start, max(end, start + 1), window):
            last = min(first + window, end)
            if first > start and last - first < MIN_SEGMENT_SECONDS * self.feature_extractor.sampling_rate:
                break
            yield first, last

    def _transcribe(self, asr, segment: np.ndarray) -> str | None:
        if asr is None:
            return None
        result = asr({"raw": segment, "sampling_rate": self.feature_extractor.sampling_rate})
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
        labels = self.model.config.id2label
        probs = model_outputs["emotion_probs"][0].float()
        arousal, valence = model_outputs["arousal"][0], model_outputs["valence"][0]
        positions = iter(range(probs.shape[0]))

        def read(start: float, end: float, text: str | None) -> dict:
            position = next(positions)
            return {
                "start": round(start, 3),
                "end": round(end, 3),
                "transcript": text,
                "probs": probs[position],
                "arousal": float(arousal[position]),
                "valence": float(valence[position]),
            }

        results = []
        for segmentation, *parts in model_outputs["layout"][0]:
            if segmentation == "fixed":
                results.append(_turn_result([read(*segment) for segment in parts[0]], labels, top_k))
                continue
            utterances, modalities = parts
            read_utterances = [
                (start, end, text, [read(*window, text) for window in windows], cut)
                for start, end, text, windows, cut in utterances
            ]
            results.append(_vad_result(read_utterances, labels, top_k, modalities))
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


def _means(parts: list[dict]) -> dict:
    """The average emotion probabilities, arousal and valence of parts (segments or utterances) that carry them."""
    return {
        "probs": torch.stack([part["probs"] for part in parts]).mean(0),
        "arousal": float(np.mean([part["arousal"] for part in parts])),
        "valence": float(np.mean([part["valence"] for part in parts])),
    }


def _turn_result(segments: list[dict], labels: dict, top_k: int | None) -> dict:
    """A turn's segments (each with its `probs`) → the turn's result: segment-wise rankings and their average."""
    means = _means(segments)
    for segment in segments:
        segment["emotions"] = rank_emotions(segment.pop("probs"), labels, top_k)
    has_text = all(segment["transcript"] is not None for segment in segments)
    return {
        "emotions": rank_emotions(means["probs"], labels, top_k),
        "arousal": means["arousal"],
        "valence": means["valence"],
        "modalities": "audio+text" if has_text else "audio",
        "segments": segments,
    }


def _vad_result(utterances: list[tuple], labels: dict, top_k: int | None, modalities_without_speech: str) -> dict:
    """A recording's utterances found by voice activity, each `(start, end, transcript, segments, cut)` with its
    read windows as segments (reported when `cut`) → the recording's result: utterance-wise rankings, each the average
    of its segments, and their average."""
    if not utterances:
        return {
            "emotions": [],
            "arousal": None,
            "valence": None,
            "modalities": modalities_without_speech,
            "segmentation": "vad",
            "utterances": [],
        }
    entries = []
    for start, end, text, segments, cut in utterances:
        entry = {"start": round(start, 3), "end": round(end, 3), "transcript": text, **_means(segments)}
        if cut:
            entry["segments"] = _turn_result(segments, labels, top_k)["segments"]
        entries.append(entry)
    # The recording reads its utterances as a turn reads its segments.
    result = _turn_result(entries, labels, top_k)
    result["utterances"] = result.pop("segments")
    return {**result, "segmentation": "vad"}


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


def _asr_pipeline(asr_model: str):
    from transformers import pipeline

    return pipeline("automatic-speech-recognition", model=asr_model)
