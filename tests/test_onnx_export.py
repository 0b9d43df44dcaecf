"""ONNX export of a saved MATE folder: the graphs run with ONNX Runtime at batch sizes and dialogue lengths the export
never saw and give PyTorch's predictions; the int8 graphs run; bad folders give errors that name them."""

import importlib.util
import json

import numpy as np
import pytest
import torch

from mate_hf import MateProcessor, save_mate_folder
from mate_hf.onnx_export import CONFIG_FILE, MODEL_FILE, TEXT_ENCODER_FILE, OnnxMate, export_onnx

# Dialogue lengths of the runs checked: the export traced (2 dialogues, 3 utterances) and checked (3, 4).
RUN_LENGTHS = [(5, 2), (1,), (9, 3, 6)]
PARITY_ATOL = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory, build_tiny_mate):
    """The tiny MATE, its processor, and its folder exported with int8 graphs."""
    model, processor = build_tiny_mate()
    root = tmp_path_factory.mktemp("onnx")
    save_mate_folder(root / "model", model, processor)
    summary = export_onnx(root / "model", root / "onnx", quantize="int8")
    return model, processor, root / "onnx", summary


def dialogues(processor, make_dialogue, sampling_rate, lengths):
    pairs = [make_dialogue(length, seed) for seed, length in enumerate(lengths)]
    return processor(audio=[a for a, _ in pairs], text=[t for _, t in pairs], sampling_rate=sampling_rate)


def pytorch_outputs(model, inputs) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        output = model(**inputs)
    return {name: getattr(output, name).numpy() for name in ("emotion_probs", "arousal", "valence")}


def largest_difference(found: dict, expected: dict) -> float:
    return max(float(np.abs(found[name] - expected[name]).max()) for name in expected)


def test_the_export_writes_graphs_processor_and_config(exported):
    _, processor, folder, summary = exported
    for name in (MODEL_FILE, TEXT_ENCODER_FILE, "mate.int8.onnx", "text_encoder.int8.onnx", CONFIG_FILE):
        assert (folder / name).is_file(), name
        assert name in summary["files"]
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["opset"] >= 17 and config["quantization"]["type"] == "int8"
    mate = config["graphs"]["mate"]
    assert mate["inputs"]["input_features"]["shape"][:2] == ["batch", "utterances"]
    assert list(mate["outputs"]) == ["emotion_probs", "arousal", "valence"]
    assert config["graphs"]["text_encoder"]["inputs"]["input_ids"]["shape"] == ["texts", "tokens"]
    assert all(difference < 1e-4 for difference in config["export_check_max_abs_diff"].values())
    loaded = MateProcessor.from_pretrained(folder)  # users featurise with the folder alone
    assert loaded.feature_extractor.to_dict() == processor.feature_extractor.to_dict()


@pytest.mark.parametrize("lengths", RUN_LENGTHS, ids=lambda lengths: f"B{len(lengths)}-T{max(lengths)}")
def test_onnx_runtime_gives_pytorch_predictions(exported, make_dialogue, sampling_rate, lengths):
    model, processor, folder, _ = exported
    inputs = dialogues(processor, make_dialogue, sampling_rate, lengths)
    expected = pytorch_outputs(model, inputs)
    mate = OnnxMate(folder, precision="fp32", max_windows=None)
    found = mate(**inputs)
    assert {name: value.shape for name, value in found.items()} == {k: v.shape for k, v in expected.items()}
    assert largest_difference(found, expected) < PARITY_ATOL

    real = inputs["utterance_mask"].bool()
    embeds = mate.embed_text(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    with torch.inference_mode():
        reference = model.embed_text(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
    assert np.abs(embeds[real.numpy()] - reference[real].numpy()).max() < PARITY_ATOL


def test_predict_featurises_and_runs_in_pieces(exported, make_dialogue, sampling_rate):
    model, processor, folder, _ = exported
    pairs = [make_dialogue(length, seed) for seed, length in enumerate((9, 3, 6))]
    audio, text = [a for a, _ in pairs], [t for _, t in pairs]
    whole = OnnxMate(folder, precision="fp32", max_windows=None).predict(audio, text, sampling_rate)
    expected = pytorch_outputs(model, processor(audio=audio, text=text, sampling_rate=sampling_rate))
    assert largest_difference(whole, expected) < PARITY_ATOL
    assert whole["utterance_mask"].sum(1).tolist() == [9, 3, 6]
    # Without transcripts, the sentence embeddings are zeros (as the pipeline reads a recording without one).
    audio_only = OnnxMate(folder, precision="fp32").predict(audio, sampling_rate=sampling_rate)
    features = processor(audio=audio, sampling_rate=sampling_rate)
    zeros = torch.zeros(*features["utterance_mask"].shape, model.config.text_hidden_size)
    assert largest_difference(audio_only, pytorch_outputs(model, {**features, "text_embeds": zeros})) < PARITY_ATOL
    # 10 slots: one dialogue per run; 4 slots: each dialogue in pieces of 4 − 7 → 1 target with 7 of context.
    for max_windows in (10, 4, 20):
        pieces = OnnxMate(folder, precision="fp32", max_windows=max_windows).predict(audio, text, sampling_rate)
        assert largest_difference(pieces, whole) < 1e-6, max_windows


def test_int8_graphs_run_close_to_fp32(exported, make_dialogue, sampling_rate):
    model, processor, folder, _ = exported
    mate = OnnxMate(folder)  # int8: the folder was exported with quantize="int8"
    assert mate.precision == "int8"
    inputs = dialogues(processor, make_dialogue, sampling_rate, (9, 3, 6))
    found = mate(**inputs)
    expected = pytorch_outputs(model, inputs)
    assert {name: value.shape for name, value in found.items()} == {k: v.shape for k, v in expected.items()}
    difference = largest_difference(found, expected)
    print(f"int8 against PyTorch, tiny random model: max abs difference {difference:.3g}")
    assert difference < 0.1  # probabilities, and arousal/valence in [1, 5]
    assert np.all(found["emotion_probs"][inputs["utterance_mask"].numpy() == 0] == 0)
    # The text encoder's int8 weights do change its embeddings, a little.
    tokens = [inputs[name] for name in ("input_ids", "attention_mask", "token_type_ids")]
    int8_embeds = mate.embed_text(*tokens, inputs["utterance_mask"])
    fp32_embeds = OnnxMate(folder, precision="fp32").embed_text(*tokens, inputs["utterance_mask"])
    assert 0 < np.abs(int8_embeds - fp32_embeds).max() < 0.05 * np.abs(fp32_embeds).max()


def test_an_audio_only_model_exports_without_a_text_encoder(tmp_path, build_tiny_mate, make_dialogue, sampling_rate):
    model, processor = build_tiny_mate(modalities="audio", audio_encoder="per_utterance", audio_input_norm="batch_norm")
    save_mate_folder(tmp_path / "model", model, processor)
    summary = export_onnx(tmp_path / "model", tmp_path / "onnx")
    assert not (tmp_path / "onnx" / TEXT_ENCODER_FILE).exists()
    assert any(TEXT_ENCODER_FILE in note and "audio" in note for note in summary["notes"])
    pairs = [make_dialogue(length, seed) for seed, length in enumerate((4, 7))]
    inputs = processor(audio=[a for a, _ in pairs], sampling_rate=sampling_rate)
    mate = OnnxMate(tmp_path / "onnx")
    assert mate.precision == "fp32" and not mate.uses_text and "text_embeds" not in summary["graphs"]["mate"]["inputs"]
    assert largest_difference(mate(**inputs), pytorch_outputs(model, inputs)) < PARITY_ATOL
    with pytest.raises(ValueError, match="no int8 graphs"):
        OnnxMate(tmp_path / "onnx", precision="int8")


def test_a_text_only_model_exports_without_audio_inputs(tmp_path, build_tiny_mate, make_dialogue, sampling_rate):
    model, processor = build_tiny_mate(modalities="text")
    save_mate_folder(tmp_path / "model", model, processor)
    summary = export_onnx(tmp_path / "model", tmp_path / "onnx")
    assert list(summary["graphs"]["mate"]["inputs"]) == ["utterance_mask", "text_embeds"]
    texts = [make_dialogue(length, seed)[1] for seed, length in enumerate((6, 2))]
    inputs = processor(text=texts)
    mate = OnnxMate(tmp_path / "onnx")
    assert not mate.uses_audio
    assert largest_difference(mate(**inputs), pytorch_outputs(model, inputs)) < PARITY_ATOL
    with pytest.raises(ValueError, match="reads transcripts"):
        mate(utterance_mask=inputs["utterance_mask"])


def test_bad_folders_and_inputs_give_clear_errors(tmp_path, exported):
    with pytest.raises(FileNotFoundError, match="missing-model"):
        export_onnx(tmp_path / "missing-model", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty has no config.json"):
        export_onnx(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="'bert' model, not MATE"):
        export_onnx(tmp_path / "bert", tmp_path / "out")
    _, _, folder, _ = exported
    with pytest.raises(ValueError, match="quantize must be"):
        export_onnx(folder, tmp_path / "out", quantize="int4")
    with pytest.raises(FileNotFoundError, match=f"empty has no {CONFIG_FILE}"):
        OnnxMate(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"input_features has shape \(1, 2, 3\)"):
        OnnxMate(folder, precision="fp32")(input_features=np.zeros((1, 2, 3)), text_embeds=np.zeros((1, 2, 32)))


def test_missing_onnx_packages_name_the_extra(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "onnxscript" else find_spec(name))
    with pytest.raises(ImportError, match=r"needs onnxscript: pip install mate-hf\[onnx\]"):
        export_onnx(tmp_path, tmp_path / "out")


def test_the_command_line_exports_and_names_a_bad_folder(exported, tmp_path, capsys):
    from mate_hf.cli import main

    model, _, folder, _ = exported
    model_dir = folder.parent / "model"
    assert main(["export-onnx", str(model_dir), str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out
    assert MODEL_FILE in printed and TEXT_ENCODER_FILE in printed
    assert OnnxMate(tmp_path / "cli").config["quantization"] is None
    assert main(["export-onnx", str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert "nowhere" in capsys.readouterr().err
