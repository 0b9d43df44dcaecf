"""What ONNX export and int8 quantisation change in a trained model's scores: the held-out fold of a training run
evaluated with PyTorch, the fp32 ONNX graphs and the int8 ones, from the same batches.

    python -m benchmarks.onnx_quality outputs/demo            # the `make demo` model, sessions 9-10 held out
    python -m benchmarks.onnx_quality outputs/demo --output /tmp/onnx_quality.md

The evaluation set is built as training/run.py builds it (training/configs/demo.yaml by default: KEMDy19 of the demo
corpus, speaker role, fold 4): samples of `max_targets_per_chunk` targets with the `context_window` − 1 utterances
before them (the demo: one window per target), batches of 64, clips centred, log-mels cached once. The metrics are
`mate_hf.metrics.compute_emotion_metrics` over the targets in evaluation order, so the PyTorch row reproduces the
run's eval_results.json. Needs the `training` extra (metrics) and the `onnx` extra.
"""

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml

from mate_hf.data import split_by_sessions
from mate_hf.data.collator import MateDataCollator, chunk_dialogues, featurize_audio
from mate_hf.experiments.arguments import DataArguments
from mate_hf.experiments.recipe import held_out_sessions, load_corpus
from mate_hf.metrics import compute_emotion_metrics
from mate_hf.onnx_export import OnnxMate, export_onnx, load_mate_folder

ROOT = Path(__file__).resolve().parents[1]
DEMO_RUN = ROOT / "training" / "configs" / "demo.yaml"
EVAL_BATCH = 64
# The columns of the report, from `compute_emotion_metrics`.
METRICS = {
    "f1_at_1_batch64": "F1@1 (per batch of 64, published)",
    "f1_at_1": "F1@1 (whole set)",
    "ccc_arousal": "CCC arousal",
    "ccc_valence": "CCC valence",
    "accuracy": "accuracy",
}


def held_out_batches(run_config: Path, model, processor) -> list[dict[str, torch.Tensor]]:
    """The evaluation batches of the run described by `run_config` (its corpora, role, fold or eval_sessions), as
    training/run.py builds them for `trainer.predict`: `max_targets_per_chunk` targets per sample with their
    context, 64 samples per batch, clips centred."""
    settings = yaml.safe_load(run_config.read_text(encoding="utf-8"))
    fields = {field.name for field in dataclasses.fields(DataArguments)}
    data = {name: value for name, value in settings.items() if name in fields}
    for corpus in ("kemdy19_dir", "kemdy20_dir"):
        if data.get(corpus) and not Path(data[corpus]).is_absolute():  # run configs name folders from the root
            data[corpus] = str(ROOT / data[corpus])
    data_args = DataArguments(**data)
    dataset, _ = load_corpus(data_args)
    _, eval_set = split_by_sessions(dataset, held_out_sessions(dataset, data_args))
    chunks = chunk_dialogues(eval_set, data_args.max_targets_per_chunk, context=model.config.context_window - 1)
    audio_cache = featurize_audio(eval_set, processor) if model.uses_audio else None
    collate = MateDataCollator(processor, crop="center", audio=model.uses_audio, audio_cache=audio_cache)
    rows = list(chunks)
    return [collate(rows[start : start + EVAL_BATCH]) for start in range(0, len(rows), EVAL_BATCH)]


def torch_predictions(model) -> Callable[[dict], dict[str, np.ndarray]]:
    def predict(batch: dict) -> dict[str, np.ndarray]:
        inputs = {name: batch[name] for name in ("input_features", "utterance_mask", "target_mask") if name in batch}
        inputs.update(
            {name: batch[name] for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch}
        )
        with torch.inference_mode():
            output = model(**inputs)
        return {name: getattr(output, name).numpy() for name in ("emotion_probs", "arousal", "valence")}

    return predict


def onnx_predictions(mate: OnnxMate) -> Callable[[dict], dict[str, np.ndarray]]:
    def predict(batch: dict) -> dict[str, np.ndarray]:
        return mate(**batch)  # the collator's targets and target_mask are ignored: every utterance is predicted

    return predict


def evaluate(predict: Callable[[dict], dict[str, np.ndarray]], batches: list[dict]) -> tuple[dict, dict]:
    """(metrics, the target utterances' predictions) of `predict` over `batches`."""
    parts = {name: [] for name in ("emotion_probs", "arousal", "valence", "majority", "arousal_true", "valence_true")}
    for batch in batches:
        output = predict(batch)
        keep = batch["target_mask"].numpy() == 1
        parts["emotion_probs"].append(output["emotion_probs"][keep])
        parts["arousal"].append(output["arousal"][keep])
        parts["valence"].append(output["valence"][keep])
        parts["majority"].append(batch["majority_labels"].numpy()[keep])
        parts["arousal_true"].append(batch["arousal_labels"].numpy()[keep])
        parts["valence_true"].append(batch["valence_labels"].numpy()[keep])
    values = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    metrics = compute_emotion_metrics(
        values["emotion_probs"],
        values["majority"],
        values["arousal"],
        values["arousal_true"],
        values["valence"],
        values["valence_true"],
    )
    return metrics, values


def compare(model_dir: Path, run_config: Path = DEMO_RUN, threads: int | None = None) -> list[dict]:
    """One row per path (PyTorch, ONNX fp32, ONNX int8): the metrics, the largest differences from PyTorch's
    predictions and how many top-1 emotions changed. (Not times: `mate.onnx` predicts every utterance of a sample,
    the context too, where PyTorch predicts the targets only; benchmarks/onnx_runtime.py times the two.)"""
    model, processor = load_mate_folder(model_dir)
    batches = held_out_batches(run_config, model, processor)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        export_onnx(model_dir, folder, quantize="int8")
        paths = {"PyTorch (eager)": torch_predictions(model)}
        for precision in ("fp32", "int8"):
            paths[f"ONNX Runtime {precision}"] = onnx_predictions(OnnxMate(folder, precision, threads))
        reference = None
        for name, predict in paths.items():
            metrics, values = evaluate(predict, batches)
            reference = reference or values
            rows.append(
                {
                    "path": name,
                    **{key: metrics[key] for key in METRICS},
                    "targets": len(values["arousal"]),
                    "max_diff_probs": float(np.abs(values["emotion_probs"] - reference["emotion_probs"]).max()),
                    "max_diff_affect": float(
                        max(
                            np.abs(values["arousal"] - reference["arousal"]).max(),
                            np.abs(values["valence"] - reference["valence"]).max(),
                        )
                    ),
                    "top1_changed": int(
                        (values["emotion_probs"].argmax(1) != reference["emotion_probs"].argmax(1)).sum()
                    ),
                }
            )
    return rows


def shown(path: Path) -> str:
    """`path` from the repository root when it lies inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def render(rows: list[dict], model_dir: Path, run_config: Path) -> str:
    targets = rows[0]["targets"]
    lines = [
        f"Held-out fold of `{shown(run_config)}` ({targets} target utterances), model `{model_dir}`.",
        "",
        f"| path | {' | '.join(METRICS.values())} | max abs diff, emotion probs | max abs diff, arousal/valence "
        "| top-1 emotions changed |",
        "|---|" + "---|" * (len(METRICS) + 3),
    ]
    for row in rows:
        lines.append(
            f"| {row['path']} | {' | '.join(f'{row[key]:.4f}' for key in METRICS)} | {row['max_diff_probs']:.2g} | "
            f"{row['max_diff_affect']:.2g} | {row['top1_changed']} of {row['targets']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.onnx_quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, help="a training/run.py output folder, e.g. outputs/demo")
    parser.add_argument("--run-config", type=Path, default=DEMO_RUN, help="the run's config (corpus, role, fold)")
    parser.add_argument("--output", type=Path, help="also write the markdown table here")
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = compare(arguments.model_dir, arguments.run_config.resolve())
    report = render(rows, arguments.model_dir, arguments.run_config.resolve())
    print(report)
    if arguments.output:
        arguments.output.write_text(report + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
