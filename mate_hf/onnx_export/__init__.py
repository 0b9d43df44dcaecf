"""Export a saved MATE folder to ONNX, optionally int8-quantised, and run it with ONNX Runtime.

    from mate_hf.onnx_export import OnnxMate, export_onnx

    export_onnx("outputs/demo", "outputs/demo-onnx", quantize="int8")
    mate = OnnxMate("outputs/demo-onnx")  # the int8 graphs of a folder exported with quantize="int8"
    result = mate.predict(audio=[waveforms], text=[transcripts], sampling_rate=16000)
    result["emotion_probs"].shape  # (1, T, 7); also "arousal", "valence" (1, T)

The folder written holds:

- `mate.onnx`: the dialogue model, from log-mels and sentence embeddings: `input_features` `(B, T, n_mels, frames)`
  float32, `text_embeds` `(B, T, text_hidden_size)` float32, `utterance_mask` `(B, T)` int64 (1: a real utterance)
  → `emotion_probs` `(B, T, num_labels)`, `arousal`, `valence` `(B, T)`, zeros at padded slots. B (dialogues) and T
  (utterances) are dynamic; `n_mels` and `frames` are the feature extractor's (fixed). An audio-only model has no
  `text_embeds` input, a text-only model no `input_features`. Every real utterance is predicted, each from the
  window of `context_window` utterances ending at it (what `MateModel` does with `target_mask` left out); an
  utterance's prediction depends on its window only, so a context-only utterance's is simply not read.
- `text_encoder.onnx` (not for an audio-only model): `input_ids`, `attention_mask`, `token_type_ids` `(N, L)`
  int64 → `sentence_embeddings` `(N, text_hidden_size)`, the mean-pooled BERT of `MateModel.embed_text`; N and L are
  dynamic (L up to the encoder's `max_position_embeddings`).
- `mate.int8.onnx`, `text_encoder.int8.onnx` with `quantize="int8"`: the same graphs after ONNX Runtime's dynamic
  quantisation (weights of the MatMul/Gemm and LSTM layers int8, activations quantised on the fly per run; the
  audio convolutions stay fp32, see `INT8_OPERATORS`). The fp32 graphs are kept beside them, to compare or fall back
  to; [`OnnxMate`] runs the int8 ones by default. What int8 changes on the demo model is measured in docs/onnx.md.
- the processor's files (`processor_config.json`, `preprocessor_config.json`, the tokenizer's), so that
  `MateProcessor.from_pretrained(folder)` featurises and tokenises, and `onnx_config.json`: the graphs' inputs and
  outputs with their shapes, the opset, the model's modalities, labels and window, the quantisation, and the export
  check's largest differences from PyTorch.

Export design: `MateModel.forward` selects utterances and targets with data-dependent shapes, which neither
torch.onnx exporter takes, so `graphs.MateDialogueGraph` computes the same eval-mode predictions with static-shape
operations and the model's own modules and weights; each graph is checked against PyTorch before it is kept. The
details, and what int8 costs on the demo model: docs/onnx.md.
"""

from .export import (
    CONFIG_FILE,
    MODEL_FILE,
    QUANTIZATIONS,
    TEXT_ENCODER_FILE,
    export_onnx,
    load_mate_folder,
    quantize_int8,
)
from .graphs import MateDialogueGraph, MateTextEncoderGraph
from .runtime import OnnxMate

__all__ = [
    "CONFIG_FILE",
    "MODEL_FILE",
    "QUANTIZATIONS",
    "TEXT_ENCODER_FILE",
    "MateDialogueGraph",
    "MateTextEncoderGraph",
    "OnnxMate",
    "export_onnx",
    "load_mate_folder",
    "quantize_int8",
]
