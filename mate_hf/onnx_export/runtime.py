"""Running an exported folder with ONNX Runtime: `OnnxMate`, from audio and transcripts or from processor outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..processing_mate import MateProcessor
from .export import CONFIG_FILE, DEFAULT_MAX_WINDOWS, open_session, require_onnx


class OnnxMate:
    """An exported MATE folder run with ONNX Runtime (CPU): featurise with its processor, embed the transcripts
    with `text_encoder.onnx`, predict with `mate.onnx`.

    Args:
        folder: a folder written by [`export_onnx`].
        precision: `"fp32"` or `"int8"`; default: `"int8"` when the folder has int8 graphs, else `"fp32"`.
        threads: ONNX Runtime's intra-op threads (default: its own choice, the physical cores).
        max_windows: slots of the `(B, T)` grid `mate.onnx` computes per run (each is one window through the audio
            encoder: at the default size a run of 16 held 0.5 GB more, of 64 2 GB); larger inputs are run in pieces
            with the same results, each at least one utterance with its `context_window` − 1 predecessors. `None`:
            everything in one run.

    Attributes: `processor` (the folder's `MateProcessor`), `config` (its onnx_config.json), `model` and
    `text_encoder` (the `onnxruntime.InferenceSession`s; `text_encoder` is None for an audio-only model).

    Example:

        mate = OnnxMate("outputs/demo-onnx")
        inputs = mate.processor(audio=[waveforms], text=[transcripts], sampling_rate=16000)
        outputs = mate(**inputs)  # numpy: emotion_probs (B, T, 7), arousal, valence (B, T)
    """

    def __init__(
        self,
        folder: str | Path,
        precision: str | None = None,
        threads: int | None = None,
        max_windows: int | None = DEFAULT_MAX_WINDOWS,
    ):
        require_onnx()
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be at least 1 (or None); got {max_windows}")
        self.max_windows = max_windows
        self.folder = Path(folder)
        config_file = self.folder / CONFIG_FILE
        if not config_file.is_file():
            raise FileNotFoundError(
                f"{self.folder} has no {CONFIG_FILE}: not an ONNX export of MATE (write one with "
                f"mate_hf.onnx_export.export_onnx or `mate-hf export-onnx MODEL_DIR {self.folder}`)"
            )
        self.config = json.loads(config_file.read_text(encoding="utf-8"))
        graphs = self.config["graphs"]
        has_int8 = all(graph.get("int8_file") for graph in graphs.values())
        self.precision = precision or ("int8" if has_int8 else "fp32")
        if self.precision not in ("fp32", "int8"):
            raise ValueError(f"precision must be 'fp32' or 'int8'; got {precision!r}")
        if self.precision == "int8" and not has_int8:
            raise ValueError(f"{self.folder} has no int8 graphs: export it with quantize='int8' (--quantize int8)")
        key = "int8_file" if self.precision == "int8" else "file"
        files = {name: self.folder / graph[key] for name, graph in graphs.items()}
        for path in files.values():
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the ONNX export in {self.folder} is incomplete")
        self.model = open_session(files["mate"], threads)
        self.text_encoder = open_session(files["text_encoder"], threads) if "text_encoder" in files else None
        self.processor = MateProcessor.from_pretrained(self.folder)
        self.id2label = {int(index): label for index, label in self.config["id2label"].items()}
        self.inputs = graphs["mate"]["inputs"]
        self.window = int(self.config["context_window"])

    @property
    def uses_text(self) -> bool:
        return "text_embeds" in self.inputs

    @property
    def uses_audio(self) -> bool:
        return "input_features" in self.inputs

    def embed_text(self, input_ids, attention_mask, token_type_ids=None, utterance_mask=None) -> np.ndarray:
        """Sentence embeddings of token ids `(..., L)` → `(..., text_hidden_size)` float32, as
        `MateModel.embed_text`; with `utterance_mask` `(...)`, only the real utterances are encoded (zeros
        elsewhere)."""
        if self.text_encoder is None:
            raise ValueError(f"{self.folder} holds an audio-only model: it has no text encoder")
        ids = np.asarray(input_ids, dtype=np.int64)
        flat_ids = ids.reshape(-1, ids.shape[-1])
        mask = np.asarray(attention_mask, dtype=np.int64).reshape(flat_ids.shape)
        types = np.zeros_like(flat_ids) if token_type_ids is None else np.asarray(token_type_ids, dtype=np.int64)
        types = types.reshape(flat_ids.shape)
        rows = np.arange(len(flat_ids))
        if utterance_mask is not None:
            rows = np.flatnonzero(np.asarray(utterance_mask).reshape(-1) > 0)
        width = self.text_encoder.get_outputs()[0].shape[-1]
        embeds = np.zeros((len(flat_ids), width), dtype=np.float32)
        if len(rows):
            feed = {"input_ids": flat_ids[rows], "attention_mask": mask[rows], "token_type_ids": types[rows]}
            embeds[rows] = self.text_encoder.run(None, feed)[0]
        return embeds.reshape(*ids.shape[:-1], width)

    def __call__(
        self,
        input_features=None,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        text_embeds=None,
        utterance_mask=None,
        **unused,
    ) -> dict[str, np.ndarray]:
        """Predict from the processor's outputs (torch tensors or numpy arrays): `input_features`
        `(B, T, n_mels, frames)`, token ids `(B, T, L)` (or precomputed `text_embeds` `(B, T, H)`; neither: zero
        embeddings, the audio-only reading the pipeline gives a recording without transcript), `utterance_mask`
        `(B, T)` (default: all real). Other keys (labels, `target_mask`) are ignored.

        Returns:
            numpy `emotion_probs` `(B, T, num_labels)`, `arousal` and `valence` `(B, T)`; zeros at padded slots.
        """
        feed = {}
        if self.uses_audio:
            if input_features is None:
                raise ValueError(f"the model in {self.folder} reads audio: pass input_features")
            feed["input_features"] = np.asarray(input_features, dtype=np.float32)
            self._check_shape("input_features", feed["input_features"])
        if self.uses_text:
            if text_embeds is None and input_ids is None:  # no transcripts: zero embeddings, as the pipeline does
                if input_features is None:
                    raise ValueError(f"the model in {self.folder} reads transcripts: pass input_ids or text_embeds")
                shape = np.shape(input_features)[:2]
                text_embeds = np.zeros((*shape, self.inputs["text_embeds"]["shape"][-1]), dtype=np.float32)
            elif text_embeds is None:
                if attention_mask is None:
                    attention_mask = np.ones_like(np.asarray(input_ids))
                text_embeds = self.embed_text(input_ids, attention_mask, token_type_ids, utterance_mask)
            feed["text_embeds"] = np.asarray(text_embeds, dtype=np.float32)
            self._check_shape("text_embeds", feed["text_embeds"])
        shape = next(iter(feed.values())).shape[:2]
        if utterance_mask is None:
            utterance_mask = np.ones(shape, dtype=np.int64)
        feed["utterance_mask"] = np.asarray(utterance_mask, dtype=np.int64)
        if feed["utterance_mask"].shape != shape:
            raise ValueError(f"utterance_mask has shape {feed['utterance_mask'].shape}; the inputs are {shape}")
        return self._run_in_pieces(feed)

    def _run_in_pieces(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`mate.onnx` on `feed`, at most `max_windows` slots per run: whole dialogues together while they fit, a
        longer dialogue in consecutive pieces, each run with the `context_window` − 1 utterances before it (its
        first targets' windows; their own predictions are dropped). The same predictions as one run, since each
        utterance's depends on its window alone."""
        batch, length = feed["utterance_mask"].shape
        if self.max_windows is None or batch * length <= self.max_windows:
            return self._run(feed)
        outputs = None
        if length <= self.max_windows:  # groups of whole dialogues
            step = self.max_windows // length
            pieces = [(slice(first, first + step), 0, 0, length) for first in range(0, batch, step)]
        else:  # one dialogue at a time, in pieces of up to max_windows slots with their context
            span = max(1, self.max_windows - (self.window - 1))
            pieces = [
                (slice(row, row + 1), max(0, start - (self.window - 1)), start, min(start + span, length))
                for row in range(batch)
                for start in range(0, length, span)
            ]
        for rows, first, start, end in pieces:
            part = self._run({name: value[rows, first:end] for name, value in feed.items()})
            if outputs is None:
                outputs = {
                    name: np.zeros((batch, length, *value.shape[2:]), value.dtype) for name, value in part.items()
                }
            for name, value in part.items():
                outputs[name][rows, start:end] = value[:, start - first :]
        return outputs

    def _run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [output.name for output in self.model.get_outputs()]
        return dict(zip(names, self.model.run(names, feed)))

    def predict(self, audio=None, text=None, sampling_rate: int | None = None) -> dict[str, np.ndarray]:
        """Featurise dialogues with the processor (as `MateProcessor.__call__` takes them) and predict; the result
        also carries the `utterance_mask`."""
        inputs = self.processor(audio=audio, text=text, sampling_rate=sampling_rate)
        return {**self(**inputs), "utterance_mask": inputs["utterance_mask"].numpy()}

    def _check_shape(self, name: str, array: np.ndarray) -> None:
        expected = self.inputs[name]["shape"]
        fixed = [(axis, size) for axis, size in enumerate(expected) if isinstance(size, int)]
        if array.ndim != len(expected) or any(array.shape[axis] != size for axis, size in fixed):
            raise ValueError(
                f"{name} has shape {tuple(array.shape)}; the model in {self.folder} takes {tuple(expected)}"
            )
