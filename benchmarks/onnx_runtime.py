"""7. ONNX Runtime against PyTorch eager on the CPU: the run's MATE exported with `mate_hf.onnx_export.export_onnx`
(fp32, and int8 weights), run by `OnnxMate` from the processor's outputs, against the model's own forward from the
same outputs (text encoder, then the dialogue model, as the pipeline runs them)."""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mate_hf import MateModel, MateProcessor, save_mate_folder
from mate_hf.onnx_export import OnnxMate, export_onnx

from .inputs import speech_like
from .results import Row
from .settings import SAMPLING_RATE, TRANSCRIPTS, Settings
from .timing import best_times

MEASURE = "7. ONNX Runtime against PyTorch"
PRECISIONS = ("fp32", "int8")


def pytorch_forward(model: MateModel, inputs: dict) -> dict[str, np.ndarray]:
    """What the pipeline runs on the processor's outputs: the sentence embeddings, then the dialogue model."""
    with torch.inference_mode():
        embeds = model.embed_text(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
        output = model(
            input_features=inputs["input_features"], text_embeds=embeds, utterance_mask=inputs["utterance_mask"]
        )
    return {name: getattr(output, name).numpy() for name in ("emotion_probs", "arousal", "valence")}


def dialogue_inputs(processor: MateProcessor, length: int) -> dict[str, torch.Tensor]:
    """One dialogue of `length` speech-like utterances of the model's full window, with transcripts."""
    rng = np.random.default_rng(0)
    seconds = processor.feature_extractor.max_duration
    audio = [speech_like(seconds, SAMPLING_RATE, rng) for _ in range(length)]
    text = [TRANSCRIPTS[index % len(TRANSCRIPTS)] for index in range(length)]
    return dict(processor(audio=[audio], text=[text], sampling_rate=SAMPLING_RATE))


def largest_difference(found: dict, expected: dict) -> float:
    return max(float(np.abs(found[name] - expected[name]).max()) for name in expected)


def time_case(model: MateModel, runners: dict[str, OnnxMate], inputs: dict, repeats: int) -> tuple[float, dict]:
    """Seconds of PyTorch's forward, and per precision (seconds of `OnnxMate`, largest difference from PyTorch)."""
    expected = pytorch_forward(model, inputs)
    functions = [lambda runner=runner: runner(**inputs) for runner in runners.values()]
    eager, *times = best_times(lambda: pytorch_forward(model, inputs), *functions, repeats=repeats)
    differences = [largest_difference(runner(**inputs), expected) for runner in runners.values()]
    return eager, dict(zip(runners, zip(times, differences)))


def bench_onnx(model: MateModel, processor: MateProcessor, settings: Settings) -> list[Row]:
    model.eval()
    threads = torch.get_num_threads()  # ONNX Runtime gets as many threads as torch has
    seconds = processor.feature_extractor.max_duration
    length = settings.onnx_dialogue_length
    cases = {
        f"one {seconds:g} s utterance with its transcript": 1,
        f"a dialogue of {length} utterances of {seconds:g} s with transcripts": length,
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        save_mate_folder(Path(folder) / "model", model, processor)
        start = time.perf_counter()
        export_onnx(Path(folder) / "model", Path(folder) / "onnx", quantize="int8")
        export_seconds = time.perf_counter() - start
        runners = {precision: OnnxMate(Path(folder) / "onnx", precision, threads=threads) for precision in PRECISIONS}
        for case, utterances in cases.items():
            inputs = dialogue_inputs(processor, utterances)
            eager, measured = time_case(model, runners, inputs, settings.inference_repeats)
            for precision, (onnx_seconds, difference) in measured.items():
                note = f"largest difference from PyTorch's outputs {difference:.2g} (random weights)"
                if not rows:
                    note += f"; the export (fp32 and int8) took {export_seconds:.0f} s, not timed"
                rows.append(
                    Row(MEASURE, f"{precision}, {case}", "ms", 1000 * onnx_seconds, 1000 * eager, False, note=note)
                )
    return rows
