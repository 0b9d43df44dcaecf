"""Writing the ONNX folder: export, check against PyTorch, fold constants, quantise, describe."""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..modeling_mate import MateModel
from ..processing_mate import MateProcessor
from ..saving import check_mate_folder
from .graphs import MateDialogueGraph, MateTextEncoderGraph

ONNX_OPSET = 18
MODEL_FILE = "mate.onnx"
TEXT_ENCODER_FILE = "text_encoder.onnx"
CONFIG_FILE = "onnx_config.json"
QUANTIZATIONS = ("int8",)
INSTALL_HINT = "pip install mate-hf[onnx]"
# The export checks its graphs on its example inputs against PyTorch: beyond this, the export is refused.
EXPORT_TOLERANCE = 1e-3
# Operators whose weights the int8 graphs store quantised (ONNX Runtime's dynamic quantisation): the linear layers
# (BERT's, the heads') and the LSTM. Not the convolutions: ONNX Runtime's ConvInteger made the demo model's audio
# encoder 2-5 times slower on the CPU and cost F1@1, for weights that are 0.2 % of the model.
INT8_OPERATORS = ("MatMul", "Gemm", "LSTM")
# Constants computed from weights are folded into initializers up to this many elements (all of MATE's).
FOLD_LIMIT = 2**31 - 1
# Slots `OnnxMate` gives `mate.onnx` per run: the graph computes every window of its input at once, where PyTorch's
# eval forward encodes 16 at a time, so long inputs go in pieces to keep memory bounded. At the default size, 256
# utterances took 2.96 s and 1.5 GB in pieces of 32; in pieces of 64, 2.57 s and 4.3 GB (ONNX Runtime's memory arena
# keeps its peak, which grows by doubling); without the arena, in pieces of 64, 4.56 s and 1.6 GB.
DEFAULT_MAX_WINDOWS = 32


def int8_file(name: str) -> str:
    """`mate.onnx` → `mate.int8.onnx`."""
    return name.removesuffix(".onnx") + ".int8.onnx"


def export_onnx(
    model_dir: str | Path, output_dir: str | Path, quantize: str | None = None, opset: int = ONNX_OPSET
) -> dict[str, Any]:
    """Export the MATE folder `model_dir` (from `save_mate_folder` or training/run.py) to ONNX in `output_dir`.

    Writes `mate.onnx`, `text_encoder.onnx` (unless the model is audio-only), the processor's files and
    `onnx_config.json`; with `quantize="int8"` also `mate.int8.onnx` and `text_encoder.int8.onnx` (see the module
    docstring). Each graph is checked against PyTorch on inputs of a batch size and length other than the export's
    before it is kept.

    Args:
        model_dir: a saved MATE folder (config.json, model.safetensors, the processor's files).
        output_dir: folder to write into (created if missing; files of an earlier export are replaced).
        quantize: `None` (fp32 only) or `"int8"` (dynamic quantisation, fp32 graphs kept beside).
        opset: ONNX opset, at least 18 (the oldest torch.onnx's `dynamo=True` exporter writes).

    Returns:
        The content of `onnx_config.json`, with `files` (the files written) and `notes` (e.g. why there is no text
        encoder).

    Raises:
        ImportError: onnx, onnxscript or onnxruntime is missing (`pip install mate-hf[onnx]`).
        FileNotFoundError: `model_dir` or one of its files is missing.
        ValueError: `model_dir` is not a MATE folder, or `quantize`/`opset` is not supported.
    """
    require_onnx()
    if quantize not in (None, *QUANTIZATIONS):
        raise ValueError(f"quantize must be None or one of {QUANTIZATIONS}; got {quantize!r}")
    if opset < ONNX_OPSET:
        raise ValueError(f"opset must be at least {ONNX_OPSET} (the oldest torch.onnx's exporter writes); got {opset}")
    model, processor = load_mate_folder(model_dir)
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"{output_dir} exists and is not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in (MODEL_FILE, TEXT_ENCODER_FILE, int8_file(MODEL_FILE), int8_file(TEXT_ENCODER_FILE), CONFIG_FILE):
        (output_dir / stale).unlink(missing_ok=True)  # a re-export into the same folder leaves no mismatched graph

    files, notes, checks = [], [], {}
    graphs = {"mate": _export_dialogue_graph(model, output_dir / MODEL_FILE, opset)}
    checks["mate"] = _check_dialogue_graph(model, output_dir / MODEL_FILE)
    files.append(MODEL_FILE)
    if model.uses_text:
        graphs["text_encoder"] = _export_text_encoder(model, output_dir / TEXT_ENCODER_FILE, opset)
        checks["text_encoder"] = _check_text_encoder(model, output_dir / TEXT_ENCODER_FILE)
        files.append(TEXT_ENCODER_FILE)
    else:
        notes.append(f"{TEXT_ENCODER_FILE} skipped: the model's modalities are 'audio' (it reads no transcripts)")
    if quantize == "int8":
        for graph in graphs.values():
            graph["int8_file"] = int8_file(graph["file"])
            quantize_int8(output_dir / graph["file"], output_dir / graph["int8_file"])
            files.append(graph["int8_file"])
    processor.save_pretrained(output_dir)
    processor.feature_extractor.save_pretrained(output_dir)  # preprocessor_config.json, as in a model folder
    config = {
        "format": "mate-hf onnx export",
        "format_version": 1,
        "mate_hf_version": _package_version(),
        "exporter": f"torch.onnx.export(dynamo=True), torch {torch.__version__}",
        "opset": opset,
        "modalities": model.config.modalities,
        "audio_encoder": model.config.audio_encoder,
        "context_window": model.config.context_window,
        "id2label": {str(index): label for index, label in model.config.id2label.items()},
        "quantization": _quantization_info() if quantize == "int8" else None,
        "graphs": graphs,
        "export_check_max_abs_diff": checks,
    }
    (output_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files.append(CONFIG_FILE)
    return {**config, "files": files, "notes": notes}


def require_onnx() -> None:
    """Raise an ImportError naming the extra when onnx, onnxscript or onnxruntime is missing."""
    import importlib.util

    missing = [name for name in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"MATE's ONNX export needs {', '.join(missing)}: {INSTALL_HINT}")


def load_mate_folder(model_dir: str | Path) -> tuple[MateModel, MateProcessor]:
    """The model (eval mode) and processor of a saved MATE folder, with errors that name the folder and file
    (`mate_hf.saving.check_mate_folder`)."""
    folder, _ = check_mate_folder(model_dir)
    try:
        model = MateModel.from_pretrained(folder).eval()
        processor = MateProcessor.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot load the MATE folder {folder}: {error}") from error
    return model, processor


def _export(module: nn.Module, path: Path, kwargs: dict, dynamic_shapes: dict, outputs: list[str], opset: int) -> None:
    import onnxscript.optimizer

    with torch.no_grad(), quiet():  # the exporter's notices (torchvision absent, deprecations); the graph is checked
        program = torch.onnx.export(
            module,
            (),
            kwargs=kwargs,
            dynamic_shapes=dynamic_shapes,
            output_names=outputs,
            opset_version=opset,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        # The exporter folds constants up to 8,192 input elements: the LSTM's weights (its gates reordered for ONNX)
        # would stay computations, which the int8 quantiser cannot quantise. Fold them all.
        onnxscript.optimizer.optimize(program.model, input_size_limit=FOLD_LIMIT, output_size_limit=FOLD_LIMIT)
    program.save(str(path))


def _dialogue_inputs(model: MateModel, lengths: Sequence[int], seed: int) -> dict[str, torch.Tensor]:
    """Inputs of `mate.onnx` for dialogues of `lengths` utterances: log-mels in the range of speech, random sentence
    embeddings, the mask."""
    config = model.config
    generator = torch.Generator().manual_seed(seed)
    batch, length = len(lengths), max(lengths)
    mask = (torch.arange(length).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).long()
    inputs = {"utterance_mask": mask}
    if model.uses_audio:
        frames = _model_frames(config)
        inputs["input_features"] = torch.randn(batch, length, config.n_mels, frames, generator=generator) * 20 - 50
    if model.uses_text:
        inputs["text_embeds"] = torch.randn(batch, length, config.text_hidden_size, generator=generator)
    return inputs


def _model_frames(config) -> int:
    """Frames of one utterance's log-mel (the feature extractor's `num_frames`)."""
    from ..feature_extraction_mate import MateFeatureExtractor

    return MateFeatureExtractor(**config.audio_feature_kwargs()).num_frames


def _export_dialogue_graph(model: MateModel, path: Path, opset: int) -> dict:
    inputs = _dialogue_inputs(model, [3, 2], seed=0)
    batch, utterances = torch.export.Dim("batch"), torch.export.Dim("utterances")
    dynamic = {name: {0: batch, 1: utterances} for name in inputs}
    outputs = ["emotion_probs", "arousal", "valence"]
    _export(MateDialogueGraph(model), path, inputs, dynamic, outputs, opset)
    config = model.config
    shapes = {
        "utterance_mask": (["batch", "utterances"], "int64"),
        "input_features": (["batch", "utterances", config.n_mels, _model_frames(config)], "float32"),
        "text_embeds": (["batch", "utterances", config.text_hidden_size], "float32"),
    }
    return {
        "file": path.name,
        "int8_file": None,
        "inputs": {name: {"shape": shapes[name][0], "dtype": shapes[name][1]} for name in inputs},
        "outputs": {
            "emotion_probs": {"shape": ["batch", "utterances", config.num_labels], "dtype": "float32"},
            "arousal": {"shape": ["batch", "utterances"], "dtype": "float32"},
            "valence": {"shape": ["batch", "utterances"], "dtype": "float32"},
        },
    }


def _text_inputs(model: MateModel, lengths: Sequence[int], seed: int) -> dict[str, torch.Tensor]:
    """Token ids of texts of `lengths` tokens, right-padded: random ids of the vocabulary (any tokenizer's)."""
    generator = torch.Generator().manual_seed(seed)
    count, length = len(lengths), max(lengths)
    mask = (torch.arange(length).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).long()
    ids = torch.randint(0, model.config.text_config.vocab_size, (count, length), generator=generator)
    return {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def _export_text_encoder(model: MateModel, path: Path, opset: int) -> dict:
    inputs = _text_inputs(model, [5, 3, 4], seed=0)
    texts = torch.export.Dim("texts")
    tokens = torch.export.Dim("tokens", max=model.config.text_config.max_position_embeddings)
    dynamic = {name: {0: texts, 1: tokens} for name in inputs}
    _export(MateTextEncoderGraph(model), path, inputs, dynamic, ["sentence_embeddings"], opset)
    return {
        "file": path.name,
        "int8_file": None,
        "inputs": {name: {"shape": ["texts", "tokens"], "dtype": "int64"} for name in inputs},
        "outputs": {"sentence_embeddings": {"shape": ["texts", model.config.text_hidden_size], "dtype": "float32"}},
        "max_tokens": model.config.text_config.max_position_embeddings,
    }


def _check_dialogue_graph(model: MateModel, path: Path) -> float:
    """Largest difference between `mate.onnx` and the model on dialogues of sizes the export never saw."""
    inputs = _dialogue_inputs(model, [4, 1, 2], seed=1)
    with torch.no_grad():
        output = model(**inputs)
    expected = [output.emotion_probs, output.arousal, output.valence]
    session = open_session(path)
    found = session.run(None, {name: value.numpy() for name, value in inputs.items()})
    return _largest_difference(path, expected, found)


def _check_text_encoder(model: MateModel, path: Path) -> float:
    inputs = _text_inputs(model, [2, 7], seed=1)
    with torch.no_grad():
        expected = [model.embed_text(**inputs)]
    found = open_session(path).run(None, {name: value.numpy() for name, value in inputs.items()})
    return _largest_difference(path, expected, found)


def _largest_difference(path: Path, expected: list[torch.Tensor], found: list[np.ndarray]) -> float:
    difference = max(float(np.abs(value.numpy() - array).max()) for value, array in zip(expected, found))
    if not difference <= EXPORT_TOLERANCE:  # NaN fails too
        raise RuntimeError(
            f"{path} differs from the PyTorch model by {difference:.3g} (more than {EXPORT_TOLERANCE:g}) on the "
            "export check's inputs: the export is wrong, please report it"
        )
    return difference


def quantize_int8(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic quantisation of `source` into `target`: weights int8 (signed, per tensor),
    activations quantised on the fly."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet():  # "Please consider to run pre-processing before quantization": shapes are known, weights folded
        quantize_dynamic(source, target, op_types_to_quantize=list(INT8_OPERATORS), weight_type=QuantType.QInt8)


@contextlib.contextmanager
def quiet():
    """No warnings and no log records below ERROR while exporting and quantising (restored after)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _quantization_info() -> dict:
    import onnxruntime

    return {
        "type": "int8",
        "method": f"onnxruntime.quantization.quantize_dynamic, onnxruntime {onnxruntime.__version__}",
        "weight_type": "QInt8",
        "operators": list(INT8_OPERATORS),
    }


def _package_version() -> str:
    from .. import __version__

    return __version__


# ---------------------------------------------------------------------------------------------------------------
# Running


def open_session(path: Path, threads: int | None = None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # Idle worker threads block instead of spinning: spinning kept the cores busy after each run and slowed what ran
    # next on them (torch, 65 → 93 ms for one utterance), for a gain of a few ms to ONNX Runtime.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
