"""Convert the authors' checkpoints into MATE folders.

The authors' code (`HongSungRae/ETRI_2022_AI_Competition`, class `DoRaeMiSol_lstm` in `model.py`) saves
`torch.save(model.state_dict(), "exp/<run>/model.pth")`. This module reads such a state dict, infers the window
size, LSTM hidden size, layer count and direction from its shapes, maps its names onto [`MateModel`] (audio encoder
`window_channels`, inputs standardised per utterance: the authors' model) and writes a folder that
`AutoModel.from_pretrained` loads. Their model takes standardised spectrograms and 768-d sentence embeddings; the
converted one takes log-mels (it standardises them itself) and `text_embeds`, and predicts the same.

    mate-hf convert-reference exp/lstm_speaker_adam_8_123/model.pth converted/ --text_encoder skt/kobert-base-v1
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import torch

from .configuration_mate import KOBERT_SHAPE, MateConfig
from .feature_extraction_mate import MateFeatureExtractor
from .modeling_mate import MateModel
from .processing_mate import MateProcessor
from .saving import save_mate_folder
from .text_tokenizers import load_text_tokenizer

logger = logging.getLogger(__name__)

# Their heads, by our module name: `<name>.<i>.fc.{0,2}` are block i's Linear and BatchNorm1d, `<name>.<n>` the
# output Linear after n blocks.
REFERENCE_HEADS = {
    "emotion_head": "mlp_emotion",
    "affective_head": "mlp_av",
    "arousal_head": "mlp_arousal",
    "valence_head": "mlp_valence",
}
# Audio features per window position in their model: 1 channel per position on a 24 x 34 grid.
REFERENCE_AUDIO_FEATURES = 816


def load_reference_state_dict(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a `torch.save(model.state_dict())` file, read with `weights_only=True` (no code runs).

    Raises:
        ValueError: the file is missing, holds a pickled model object or anything else than a mapping of names to
            tensors; the message names the file and what it holds.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path} is not a plain state dict: it pickles objects that weights_only loading refuses (a whole model "
            f"saved with torch.save(model)?). Save model.state_dict() with the authors' code and convert that file. "
            f"({str(error).splitlines()[0]})"
        ) from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} holds a {type(loaded).__name__}, not a state dict (a mapping of names to tensors)")
    not_tensors = sorted(name for name, value in loaded.items() if not isinstance(value, torch.Tensor))
    if not_tensors:
        raise ValueError(f"{path} is not a state dict: these entries are not tensors: {not_tensors[:5]}")
    return dict(loaded)


def reference_config(state_dict: dict[str, torch.Tensor]) -> MateConfig:
    """The MATE configuration of the authors' model a state dict was saved from: window size, LSTM hidden size,
    layers and direction, text embedding size and whether the regressors read the emotion probabilities, from the
    shapes; every other setting is their fixed architecture (MateConfig's defaults)."""
    for name in (
        "audio_embedding.0.conv.weight",
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "mlp_arousal.0.fc.0.weight",
    ):
        if name not in state_dict:
            raise ValueError(
                f"not a checkpoint of the authors' model: no {name!r} (see shared/reference-state-dict.txt)"
            )
    window = state_dict["audio_embedding.0.conv.weight"].shape[1]
    hidden = state_dict["lstm.weight_hh_l0"].shape[1]
    layers = 1 + max(int(match[1]) for name in state_dict if (match := re.fullmatch(r"lstm\.weight_ih_l(\d+)", name)))
    text_size = state_dict["lstm.weight_ih_l0"].shape[1] - REFERENCE_AUDIO_FEATURES
    if text_size < 1:
        raise ValueError(
            f"lstm.weight_ih_l0 reads {text_size + REFERENCE_AUDIO_FEATURES} features per position, "
            f"fewer than the {REFERENCE_AUDIO_FEATURES} audio features of the authors' model"
        )
    regressor_inputs = state_dict["mlp_arousal.0.fc.0.weight"].shape[1]
    affective_width = MateConfig().affective_head_sizes[-1]
    return MateConfig(
        text_config=_text_config(text_size),
        audio_encoder="window_channels",
        audio_input_norm="standardize",
        context_window=window,
        lstm_hidden_size=hidden,
        lstm_num_layers=layers,
        lstm_bidirectional="lstm.weight_ih_l0_reverse" in state_dict,
        concat_emotion=regressor_inputs != affective_width,
    )


def _text_config(text_size: int) -> dict:
    """KoBERT's shape with the checkpoint's embedding width (768 for every published run)."""
    if text_size == KOBERT_SHAPE["hidden_size"]:
        return dict(KOBERT_SHAPE)
    heads = KOBERT_SHAPE["num_attention_heads"] if text_size % KOBERT_SHAPE["num_attention_heads"] == 0 else 1
    return {**KOBERT_SHAPE, "hidden_size": text_size, "num_attention_heads": heads, "intermediate_size": 4 * text_size}


def reference_names(model: MateModel) -> dict[str, str]:
    """Our name → the authors' name, for every tensor of `model` outside the text encoder."""
    config = model.config
    blocks = {
        "emotion_head": len(config.emotion_head_sizes),
        "affective_head": len(config.affective_head_sizes),
        "arousal_head": len(config.affective_regressor_sizes),
        "valence_head": len(config.affective_regressor_sizes),
    }
    names = {}
    for name in model.state_dict():
        if name.startswith("text_encoder."):
            continue
        if match := re.fullmatch(r"audio_encoder\.blocks\.(\d+)\.conv\.weight", name):
            names[name] = f"audio_embedding.{match[1]}.conv.weight"
        elif match := re.fullmatch(r"audio_encoder\.blocks\.(\d+)\.norm\.(\w+)", name):
            names[name] = f"audio_embedding.{match[1]}.bn.{match[2]}"
        elif match := re.fullmatch(r"dialogue_encoder\.lstm\.(\w+)", name):
            names[name] = f"lstm.{match[1]}"
        elif match := re.fullmatch(r"(\w+_head)\.layers\.(\d+)\.(\w+)", name):
            head, layer, tensor = match[1], int(match[2]), match[3]
            block, position = divmod(layer, 3)  # Linear, ReLU, BatchNorm1d per block
            output_layer = block == blocks[head]
            names[name] = f"{REFERENCE_HEADS[head]}.{block}." + ("" if output_layer else f"fc.{position}.") + tensor
        else:
            raise ValueError(f"{name} has no counterpart in the authors' model")  # e.g. an input BatchNorm
    return names


def load_reference_weights(model: MateModel, state_dict: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Copy the authors' tensors into `model` (everything but the text encoder).

    Raises:
        ValueError: names missing from or unexpected in the state dict, or tensors of another shape; the message
            lists them in the authors' names.
    """
    ours = model.state_dict()
    theirs_of = reference_names(model)
    expected = set(theirs_of.values())
    missing, unexpected = sorted(expected - state_dict.keys()), sorted(state_dict.keys() - expected)
    wrong_shapes = [
        f"{theirs} {tuple(state_dict[theirs].shape)} (expected {tuple(ours[name].shape)})"
        for name, theirs in theirs_of.items()
        if theirs in state_dict and state_dict[theirs].shape != ours[name].shape
    ]
    problems = [
        f"{label}: {', '.join(items[:8])}{' …' if len(items) > 8 else ''}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shapes))
        if items
    ]
    if problems:
        raise ValueError(
            f"{source} does not match the authors' model as its shapes describe it; " + "; ".join(problems)
        )
    with torch.no_grad():
        for name, theirs in theirs_of.items():
            ours[name].copy_(state_dict[theirs])


def convert_reference_checkpoint(
    checkpoint: str | Path, output_dir: str | Path, text_encoder: str | None = None, **hub_kwargs
) -> Path:
    """Convert one of the authors' `model.pth` state dicts into a MATE folder.

    Args:
        checkpoint: the `.pth` file (a state dict of `DoRaeMiSol_lstm`, unidirectional or bidirectional).
        output_dir: folder to write: `model.safetensors`, `config.json`, the feature extractor's settings and, with
            `text_encoder`, the tokenizer and processor (a complete folder for the pipeline).
        text_encoder: KoBERT (`"skt/kobert-base-v1"`, `"monologg/kobert"` or a local copy): its weights become the
            text encoder and its tokenizer the processor's. Without it the text encoder keeps random weights, and
            the model is meant for precomputed `text_embeds` (the authors' 768-d sentence embeddings).
        hub_kwargs: passed on when loading `text_encoder` (revision, cache_dir, local_files_only, ...).

    Returns:
        The output folder.
    """
    state_dict = load_reference_state_dict(checkpoint)
    config = reference_config(state_dict)
    model = MateModel(config) if text_encoder is None else _with_text_encoder(config, text_encoder, **hub_kwargs)
    load_reference_weights(model, state_dict, source=str(checkpoint))
    model.eval()
    feature_extractor = MateFeatureExtractor(**config.audio_feature_kwargs())
    if text_encoder is None:
        logger.warning(
            "%s has no text encoder: the converted model's is randomly initialised; pass text_embeds (the authors' "
            "768-d KoBERT sentence embeddings) or convert again with text_encoder='skt/kobert-base-v1'",
            checkpoint,
        )
        model.save_pretrained(output_dir)
        feature_extractor.save_pretrained(output_dir)
        return Path(output_dir)
    processor = MateProcessor(feature_extractor, load_text_tokenizer(text_encoder, **hub_kwargs))
    return save_mate_folder(output_dir, model, processor)


def _with_text_encoder(config: MateConfig, text_encoder: str, **hub_kwargs) -> MateModel:
    text_size = config.text_hidden_size
    model = MateModel.from_pretrained_text_encoder(text_encoder, config=config, **hub_kwargs)
    if model.config.text_hidden_size != text_size:
        raise ValueError(
            f"{text_encoder} gives {model.config.text_hidden_size}-d sentence embeddings; the checkpoint's LSTM "
            f"reads {text_size}-d ones"
        )
    return model
