"""The markdown report: the comparison, growth and memory tables, the machine they ran on, how each baseline runs."""

import datetime
import importlib.util
import os
import platform
from pathlib import Path

import datasets
import librosa
import torch
import torchaudio
import transformers

from .results import GrowthPoint, MemoryFit, Row
from .settings import KEMDY19_TRAIN_WINDOWS, MEMORY_BUDGET_GIB, RECIPE_BATCH_WINDOWS, Settings


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ]
        cpu = names[0] if names else cpu
    software = (
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"librosa {librosa.__version__}, torchaudio {torchaudio.__version__}, datasets {datasets.__version__}"
    )
    if importlib.util.find_spec("onnxruntime") is not None:  # the `onnx` extra, measure 7
        import onnxruntime

        software += f", onnxruntime {onnxruntime.__version__}"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none available",
        "software": software,
    }


def thread_variables() -> list[str]:
    """The thread limits set in the environment, which change every library's threading (and the results)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return [f"{name}={os.environ[name]}" for name in names if name in os.environ]


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def comparison_table(rows: list[Row], targets_apply: bool) -> list[str]:
    lines = [
        "| measure | case | unit | MATE (this package) | baseline | ratio | target | met | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = f"≥ {row.target:g}×" if row.target else "—"
        if row.target is None:
            met = "—"
        elif targets_apply:
            met = "yes" if row.ratio >= row.target else "no"
        else:
            met = "n/a (tiny models)"
        lines.append(
            f"| {row.measure} | {row.case} | {row.unit} | {number(row.ours)} | {number(row.baseline)} | "
            f"{row.ratio:.2f}× | {target} | {met} | {row.note} |"
        )
    return lines


def growth_table(points: list[GrowthPoint]) -> list[str]:
    lines = [
        "| batch B | dialogue length T | utterances | forward ms | ms per utterance | peak MiB | MiB per utterance |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in points:
        per_utterance = point.seconds * 1000 / point.utterances
        mib = point.peak_bytes / 2**20
        lines.append(
            f"| {point.batch} | {point.length} | {point.utterances} | {number(point.seconds * 1000)} | "
            f"{number(per_utterance)} | {number(mib)} | {number(mib / point.utterances)} |"
        )
    return lines


def memory_table(fits: list[MemoryFit], budget_applies: bool) -> list[str]:
    windows = RECIPE_BATCH_WINDOWS
    lines = [
        f"| model | windows per step | peak MiB measured | fixed MiB | MiB per window | worst residual MiB | "
        f"{windows} windows, GiB | fits in {MEMORY_BUDGET_GIB} GiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fit in fits:
        fixed, per_window = fit.line
        at_recipe = fit.at(windows) / 2**30
        fits_budget = ("yes" if at_recipe <= MEMORY_BUDGET_GIB else "no") if budget_applies else "n/a (tiny models)"
        lines.append(
            f"| {fit.case} | {', '.join(map(str, fit.batches))} | "
            f"{', '.join(number(peak / 2**20) for peak in fit.peaks)} | {number(fixed / 2**20)} | "
            f"{number(per_window / 2**20)} | {number(fit.worst_residual / 2**20)} | {number(at_recipe)} | "
            f"{fits_budget} |"
        )
    return lines


def memory_section(fits: list[MemoryFit], budget_applies: bool) -> list[str]:
    steps = KEMDY19_TRAIN_WINDOWS // RECIPE_BATCH_WINDOWS
    return [
        f"## 5. Training memory per optimiser step (kemdy19 recipe, extrapolated to {RECIPE_BATCH_WINDOWS} windows)",
        "",
        "Method: CPU allocator peak, reduced batch, linear extrapolation; a GPU adds cuDNN workspaces and allocator "
        "caching (and the CUDA context), so leave headroom above the extrapolated figure.",
        "",
        *memory_table(fits, budget_applies),
        "",
        f"Optimiser steps per epoch (arithmetic, not measured): {KEMDY19_TRAIN_WINDOWS:,} training windows of a "
        f"4-session KEMDy19 fold // {RECIPE_BATCH_WINDOWS} per step, the last partial batch dropped = {steps}.",
        "",
    ]


def render(
    rows: list[Row],
    points: list[GrowthPoint],
    fits: list[MemoryFit],
    info: dict,
    settings: Settings,
    load: tuple,
    command: str,
) -> str:
    lines = [
        f"# MATE benchmarks ({settings.name} run)",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}; GPU: {info['gpu']}",
        f"- software: {info['software']}",
        f"- load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f} "
        f"(the run itself adds about one per thread it uses; more means other processes competed for the CPU)",
        f"- command: `{command}`",
        "",
        "Ratios: how many times better MATE is than the baseline (best of a few repeats each; training: the sum over "
        "the same batches).",
        "",
        *comparison_table(rows, targets_apply=settings.name == "full"),
        "",
    ]
    if points:
        lines += ["## 4. Cost growth (eval forward from cached log-mels and sentence embeddings)", ""]
        lines += [*growth_table(points), ""]
    if fits:
        lines += memory_section(fits, budget_applies=settings.name == "full")
    if not torch.cuda.is_available():
        lines += ["## 6. GPU", "", "Not measured: no GPU was available on this machine.", ""]
    return "\n".join(lines + ["## How each baseline is run", "", *METHOD_NOTES, ""])


METHOD_NOTES = [
    "- 1: the authors' procedure (`dataset.py`, `main.py`) against this package's. Reference, per window (a target "
    "and its 7 predecessors): each real slot's WAV file decoded with `librosa.load(path, sr=16000)`, zero-padded to "
    "10 s or cut to 10 s at a random offset, torchaudio `MelSpectrogram(n_fft=2048, hop_length=512, f_min=30, "
    "f_max=8000, n_mels=229)` + `AmplitudeToDB()`, standardised by an untrained `nn.BatchNorm2d(1)` in training mode "
    "one utterance at a time, zeros for the slots before the dialogue's start, stacked to (B, 8, 229, 313); the "
    "sentence embeddings precomputed and looked up, as they did. So an utterance is decoded and featurised once per "
    "window it is in, every epoch. Ours: each clip's whole log-mel and each sentence embedding computed once (not "
    "timed: the cache is built once per run), samples made by `chunk_dialogues(max_targets=1, context=7)`, batches "
    "assembled by `MateDataCollator(crop='random')` from the log-mel cache (`LogMelCache`, one Arrow row per clip; a "
    "clip over 10 s cut at a random frame offset) and the rows' sentence embeddings. Both then run the same "
    "optimiser step of the same `MateModel` (forward with targets, loss, backward, "
    "`torch.optim.Adam`, lr 1e-3, L2 weight decay 1e-5), so the ratio measures the data path; the data-path row times "
    "the batch assembly alone. Same windows in the same shuffled batches, both loaded in the main process "
    "(`num_workers=0`), the first batch of each not timed. The files are 16 kHz (no resampling, which favours the "
    "reference), and their per-window label look-ups in a pandas frame are left out (favours it too). The authors "
    "loaded with one worker process (`num_workers=1`), which overlaps the data path with the model step: on a GPU, "
    "where the step takes milliseconds, the data path sets the pace, so read the data-path row there. Only the "
    "frozen text encoder with cached sentence embeddings is measured, as the authors trained: an unfrozen one would "
    "tokenize and encode every utterance of every window in both paths alike, adding the same cost to each.",
    "- 2: the reference is the authors' featurisation: `librosa.load(path, sr=16000)` (soxr resampling), zero-pad "
    "to 10 s (or cut), torchaudio `MelSpectrogram` + `AmplitudeToDB` (built once, as in their `Dataset`), file by "
    "file. Ours decodes with soundfile, resamples with the cached torchaudio kernel, and computes the log-mel of the "
    "real frames only, batched; its output equals the full spectrogram of the padded clip within 1e-4 "
    "(tests/test_feature_extraction.py).",
    "- 3: both through their transformers pipeline from a 16 kHz array; MATE with a transcript (tokenizer and "
    "KoBERT-shaped text encoder, BERT-base with a vocabulary of 8,002, included; an offline character tokenizer "
    "stands in for KoBERT's SentencePiece), wav2vec2-base (`Wav2Vec2ForSequenceClassification(Wav2Vec2Config())`, "
    "random weights) with `Wav2Vec2FeatureExtractor`. The speed-ups in the library leave MATE's outputs within 1e-4 "
    "(tests/test_modeling.py::test_audio_encoder_equals_the_plain_nchw_stack).",
    "- 4: `MateModel` forward under `torch.inference_mode()` from cached log-mels and sentence embeddings, every "
    "utterance a target with its own window; peak memory is the most torch's CPU allocator held during the forward "
    "(profiler allocation records).",
    "- 5: the kemdy19 recipe's optimiser step (`MateConfig()` defaults; cached sentence embeddings, so the text "
    "encoder does not run; Adam as in 1) on complete windows (all 8 slots real) of random cached log-mels, at a few "
    "batch sizes: not 1 (the heads' BatchNorm1d cannot train on one sample), and in the full run from 4 up, where the "
    "activations set the peak. Per batch size one warm-up step (it allocates Adam's moments), then the peak of the "
    "next: the bytes held as it begins (weights, buffers, Adam's moments, the batch) plus the most torch's CPU "
    "allocator added during it (profiler allocation records). A least-squares line through them gives the fixed "
    "bytes (all weights, the frozen text encoder's included, and the trainable parameters' gradients and Adam "
    "moments) and the bytes per window. `per_utterance`: with one window per sample (the recipe) every window's 8 "
    "utterances are encoded, 512 per 64-window step.",
    "- 7: the run's MATE (random weights) saved with `save_mate_folder` and exported by "
    "`mate_hf.onnx_export.export_onnx(quantize='int8')` (not timed), run by `OnnxMate` (ONNX Runtime, CPU, as many "
    "intra-op threads as torch, no spinning) against PyTorch eager under `torch.inference_mode()`, both from the same "
    "processor outputs of one dialogue (speech-like 10 s utterances with transcripts): the text encoder, then the "
    "dialogue model (`embed_text`, then the forward from `text_embeds`, as the pipeline runs them; `text_encoder.onnx` "
    "then `mate.onnx`). Featurisation is left out (the same processor in both). int8: ONNX Runtime's dynamic "
    "quantisation of the MatMul/Gemm and LSTM weights; what it costs in accuracy is measured on a trained model in "
    "docs/onnx.md, not here. The largest difference is over emotion probabilities, arousal and valence.",
]
