"""3. Inference per utterance: the MATE pipeline against wav2vec2-base audio classification through the
transformers pipeline; 4. cost growth: MATE's forward time and peak memory against dialogue length and batch size."""

import itertools

import numpy as np
import torch
from transformers import pipeline

from mate_hf import TASK, MateModel, MateProcessor

from .inputs import build_wav2vec2_pipeline, random_log_mels, speech_like
from .report import number
from .results import GrowthPoint, Row
from .settings import SAMPLING_RATE, TRANSCRIPTS, Settings
from .timing import best_times, counted_flops, peak_cpu_memory


def bench_inference(model: MateModel, processor: MateProcessor, settings: Settings) -> list[Row]:
    mate = pipeline(TASK, model=model.eval(), processor=processor)
    wav2vec2 = build_wav2vec2_pipeline(settings)
    seconds = processor.feature_extractor.max_duration
    waveform = speech_like(seconds, SAMPLING_RATE, np.random.default_rng(0))
    mate_input = {"raw": waveform, "sampling_rate": SAMPLING_RATE, "text": TRANSCRIPTS[0]}
    baseline_input = {"raw": waveform, "sampling_rate": SAMPLING_RATE}
    repeats, count = settings.inference_repeats, settings.inference_batch
    ours, theirs = best_times(lambda: mate(mate_input), lambda: wav2vec2(baseline_input), repeats=repeats)
    latency = Row(
        "3. inference per utterance",
        f"latency, one {seconds:g} s utterance with its transcript",
        "ms",
        1000 * ours,
        1000 * theirs,
        higher_is_better=False,
        target=15.0,
        note="MATE: features, tokenizer, text encoder, model; baseline: wav2vec2-base audio classification",
    )
    ours, theirs = best_times(
        lambda: mate([mate_input] * count, batch_size=count),
        lambda: wav2vec2([baseline_input] * count, batch_size=count),
        repeats=repeats,
    )
    throughput = Row(
        "3. inference per utterance",
        f"throughput, batches of {count} utterances of {seconds:g} s",
        "utterances/s",
        count / ours,
        count / theirs,
        higher_is_better=True,
        target=15.0,
    )
    compute = Row(
        "3. inference per utterance",
        f"compute for one {seconds:g} s utterance, as latency",
        "GFLOP",
        counted_flops(lambda: mate(mate_input)) / 1e9,
        counted_flops(lambda: wav2vec2(baseline_input)) / 1e9,
        higher_is_better=False,
        note=f"counted by torch.utils.flop_counter: the bound on the speed-up; MATE's LSTM "
        f"({number(lstm_flops(model) / 1e9)} GFLOP per window) is not counted",
    )
    return [latency, throughput, compute]


def lstm_flops(model: MateModel) -> int:
    """Floating-point operations of the dialogue LSTM over one window (2 per weight per step), which the flop
    counter does not count."""
    lstm = model.dialogue_encoder.lstm
    weights = sum(parameter.numel() for name, parameter in lstm.named_parameters() if name.startswith("weight"))
    return 2 * weights * model.config.context_window


def growth_inputs(model: MateModel, batch: int, length: int) -> dict[str, torch.Tensor]:
    """Dialogues of cached log-mels and sentence embeddings (the text encoder's cost per utterance is fixed)."""
    config = model.config
    return {
        "input_features": random_log_mels(config, (batch, length)),
        "text_embeds": torch.randn(batch, length, config.text_hidden_size),
    }


def bench_growth(model: MateModel, settings: Settings) -> list[GrowthPoint]:
    points = []
    for batch, length in itertools.product(settings.growth_batches, settings.growth_lengths):
        inputs = growth_inputs(model, batch, length)

        def forward(inputs=inputs):
            with torch.inference_mode():
                return model(**inputs)

        (seconds,) = best_times(forward, repeats=1 if batch * length >= 256 else 2)
        points.append(GrowthPoint(batch, length, seconds, peak_cpu_memory(forward)))
    return points
