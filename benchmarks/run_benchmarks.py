"""MATE's speed, side by side with the reference approach and the usual alternative, in one run.

1. Training throughput: MATE encodes each utterance once and slices the LSTM windows from the sequence;
   the reference fed every 8-utterance window through the encoders (each utterance encoded up to 8 times).
   Same weights, same dialogue per optimiser step; frozen text encoder (cached embeddings) and unfrozen.
2. Featurization of audio files (decode, resample to 16 kHz, log-mel): this package's path against the
   reference's per-file `librosa.load(sr=16000)` + librosa mel of the clip zero-padded to 10 s.
3. Inference per 10 s utterance (features and text encoder included): the MATE pipeline against a
   wav2vec2-base audio-classification model through the transformers pipeline (random weights).
4. Cost growth: forward time and peak memory against dialogue length T and batch size.

    python benchmarks/run_benchmarks.py                     # full run, default architecture
    python benchmarks/run_benchmarks.py --quick --output /tmp/quick.md   # CI-sized, about a minute

Every model is built from a config with random weights: nothing is downloaded. Times are the best of a
few repeats (the least disturbed by other processes); no number here is asserted anywhere.
"""

import argparse
import datetime
import itertools
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the Hub
os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the memory profiler's device probe is noise on CPU-only machines

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import (  # noqa: E402
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForSequenceClassification,
    pipeline,
)

from mate_hf import TASK, MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer  # noqa: E402
from mate_hf.audio_io import load_audio  # noqa: E402
from mate_hf.modeling_mate import MateOutput, mate_loss  # noqa: E402

SAMPLING_RATE = 16000
MEASURES = ("training", "featurization", "inference", "growth")
TRANSCRIPTS = [
    "오늘 회의는 생각보다 길어져서 조금 피곤하네요",
    "그 얘기를 듣고 정말 깜짝 놀랐어요",
    "왜 이렇게 늦었는지 설명 좀 해 봐",
    "너무 기뻐서 눈물이 날 것 같아요",
    "혼자 남겨진 것 같아 마음이 무거워요",
    "괜찮아요 천천히 다시 해 봐요",
]


@dataclass
class Settings:
    """Sizes of one run: the full run measures the default architecture, `--quick` a tiny one."""

    name: str
    mate_config: dict = field(default_factory=dict)
    wav2vec2_config: dict = field(default_factory=dict)
    train_dialogue_length: int = 32
    micro_batch_windows: int = 4
    train_repeats: int = 2
    feature_files: int = 64
    feature_rates: tuple = (16000, 44100)
    inference_batch: int = 16
    inference_repeats: int = 5
    growth_lengths: tuple = (1, 4, 16, 64, 256)
    growth_batches: tuple = (1, 4)


FULL = Settings(name="full")
QUICK = Settings(
    name="quick",
    mate_config=dict(
        text_config=dict(
            vocab_size=400, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        ),
        max_duration=2.0,
        n_mels=64,
        n_fft=512,
        hop_length=256,
        audio_conv_channels=[4, 6, 4, 1],
        audio_embedding_grid=[4, 5],
        lstm_hidden_size=16,
        lstm_num_layers=2,
        emotion_head_sizes=[32, 16],
        affective_head_sizes=[32, 16],
        affective_regressor_sizes=[8],
    ),
    wav2vec2_config=dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    ),
    train_dialogue_length=12,
    train_repeats=1,
    feature_files=6,
    inference_batch=4,
    inference_repeats=2,
    growth_lengths=(1, 4, 16),
    growth_batches=(1, 2),
)


@dataclass
class Row:
    """One comparison: `ours` and `baseline` in `unit`; the ratio says how many times better ours is."""

    measure: str
    case: str
    unit: str
    ours: float
    baseline: float
    higher_is_better: bool
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours


@dataclass
class GrowthPoint:
    batch: int
    length: int
    seconds: float
    peak_bytes: int

    @property
    def utterances(self) -> int:
        return self.batch * self.length


def best_times(*functions: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of the fastest of `repeats` calls of each function, after `warmup` untimed ones. The functions
    take turns, so that a burst of load from other processes hits them alike."""
    for function in functions:
        for _ in range(warmup):
            function()
    times = [math.inf] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            times[index] = min(times[index], time.perf_counter() - start)
    return times


def peak_cpu_memory(function: Callable[[], object]) -> int:
    """Peak bytes held by torch's CPU allocator during one call, from the profiler's allocation records."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Profiler clears events at the end of each cycle": one cycle here
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as recording:
            function()
    records = [event for event in recording.profiler.kineto_results.events() if event.name() == "[memory]"]
    records.sort(key=lambda event: event.start_ns())
    return max(itertools.accumulate((event.nbytes() for event in records), initial=0))


# --- models -------------------------------------------------------------------------------------------


def build_mate(settings: Settings) -> tuple[MateModel, MateProcessor]:
    """A MATE of the run's size (the default architecture, KR-BERT-shaped text encoder) with random weights."""
    torch.manual_seed(0)
    config = MateConfig(**settings.mate_config)
    model = MateModel(config).eval()
    processor = MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), build_char_tokenizer(TRANSCRIPTS))
    return model, processor


def build_wav2vec2_pipeline(settings: Settings):
    """What a user would otherwise pick: wav2vec2-base for audio classification, through the pipeline."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(num_labels=7, **settings.wav2vec2_config)
    model = Wav2Vec2ForSequenceClassification(config).eval()
    return pipeline("audio-classification", model=model, feature_extractor=Wav2Vec2FeatureExtractor())


def speech_like(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Harmonics with a wandering pitch plus a little noise: a voiced stand-in with a speech-like spectrum."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    return (0.1 * voice + rng.normal(0, 0.01, t.shape)).astype(np.float32)


# --- 1. training throughput ------------------------------------------------------------------------


def training_batch(model: MateModel, length: int, frozen: bool) -> dict[str, torch.Tensor]:
    """One dialogue of `length` utterances as training/run.py feeds it: cached log-mels, cached sentence
    embeddings (frozen text encoder) or token ids (unfrozen), and targets."""
    config, generator = model.config, torch.Generator().manual_seed(1)
    frames = MateFeatureExtractor(**config.audio_feature_kwargs()).num_frames
    batch = {
        "input_features": torch.randn(1, length, config.n_mels, frames, generator=generator) * 20 - 50,
        "labels": torch.rand(1, length, config.num_labels, generator=generator).softmax(-1),
        "arousal_labels": 1 + 4 * torch.rand(1, length, generator=generator),
        "valence_labels": 1 + 4 * torch.rand(1, length, generator=generator),
    }
    if frozen:
        batch["text_embeds"] = torch.randn(1, length, config.text_hidden_size, generator=generator)
    else:
        batch["input_ids"] = torch.randint(5, config.text_config.vocab_size, (1, length, 24), generator=generator)
        batch["attention_mask"] = torch.ones_like(batch["input_ids"])
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
    return batch


def encode_once_step(model: MateModel, optimizer: torch.optim.Optimizer, batch: dict) -> None:
    """This package: every utterance through the encoders once, windows sliced from the sequence."""
    optimizer.zero_grad()
    model(**batch).loss.backward()
    optimizer.step()


def reencode_windows_step(model: MateModel, optimizer: torch.optim.Optimizer, batch: dict, micro_batch: int) -> None:
    """The reference: each target's window of W utterances (zeros before the dialogue starts) goes through the
    encoders on its own, so an utterance is encoded once per window it appears in. Windows are run
    `micro_batch` at a time with gradient accumulation (all at once would not fit in memory), the loss
    normalised over the whole dialogue as in one step."""
    window, length = model.config.context_window, batch["labels"].shape[1]
    slots = torch.arange(length)[:, None] + torch.arange(1 - window, 1)  # (targets, W) utterance indices
    optimizer.zero_grad()
    for targets in torch.arange(length).split(micro_batch):
        windowed = {
            name: batch[name][0][slots[targets].clamp(min=0)]
            for name in ("input_features", "text_embeds", "input_ids", "attention_mask", "token_type_ids")
            if name in batch
        }
        present = (slots[targets] >= 0).reshape(-1).nonzero().squeeze(1)
        # The model's own encoders (and modality handling) on the window slots; the sequence is (windows, W, D).
        embedded = model._embed_utterances(
            present,
            windowed.get("input_features"),
            windowed.get("input_ids"),
            windowed.get("attention_mask"),
            windowed.get("token_type_ids"),
            windowed.get("text_embeds"),
        )
        sequence = embedded.new_zeros(len(targets) * window, embedded.shape[-1]).index_copy(0, present, embedded)
        last_slots = torch.arange(len(targets)) * window + window - 1
        features = model.dialogue_encoder(sequence.view(len(targets), window, -1), last_slots)
        logits, probs, arousal, valence = model.apply_heads(features)
        output = MateOutput(
            logits=logits[None], emotion_probs=probs[None], arousal=arousal[None], valence=valence[None]
        )
        loss, *_ = mate_loss(
            output,
            batch["labels"][:, targets],
            batch["arousal_labels"][:, targets],
            batch["valence_labels"][:, targets],
            torch.ones(1, len(targets)),
            model.config,
            num_targets=length,
        )
        loss.backward()
    optimizer.step()


def bench_training(model: MateModel, settings: Settings, frozen: bool) -> Row:
    model.text_encoder.freeze = frozen
    model.text_encoder.apply_freeze()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    batch = training_batch(model, settings.train_dialogue_length, frozen)
    ours, reference = best_times(
        lambda: encode_once_step(model, optimizer, batch),
        lambda: reencode_windows_step(model, optimizer, batch, settings.micro_batch_windows),
        repeats=settings.train_repeats,
    )
    model.eval()
    model.text_encoder.freeze = True  # back to the default for the measures that follow
    model.text_encoder.apply_freeze()
    length, window = settings.train_dialogue_length, model.config.context_window
    encodings = sum(min(t, window) for t in range(1, length + 1))
    case = "frozen text encoder, cached embeddings" if frozen else "unfrozen text encoder (trained)"
    return Row(
        "1. training throughput",
        f"{case}; 1 dialogue of {length} per step",
        "utterances/s",
        length / ours,
        length / reference,
        higher_is_better=True,
        target=6.0 if frozen else None,
        note=f"encoder passes {encodings / length:.2f}× ({encodings} per step for the reference, {length} for us)",
    )


# --- 2. featurization of files -------------------------------------------------------------------------


def write_corpus(folder: Path, count: int, rate: int, max_duration: float) -> list[Path]:
    """`count` WAV files (16-bit PCM) at `rate`, a few seconds each like conversational turns (log-normal
    around 3 s, 0.5 s to 1.4 × the model's window)."""
    rng = np.random.default_rng(rate)
    paths = []
    for index in range(count):
        seconds = float(np.clip(rng.lognormal(np.log(0.3 * max_duration), 0.6), 0.5, 1.4 * max_duration))
        path = folder / f"{rate}_{index:03d}.wav"
        soundfile.write(path, speech_like(seconds, rate, rng), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def featurize_files(extractor: MateFeatureExtractor, paths: list[Path], batch: int = 16) -> list[torch.Tensor]:
    """This package: soundfile decode, resampler built once per rate, batched log-mel of the real frames only
    (what `mate_hf.data.featurize_audio` and the collator do)."""
    features = []
    for start in range(0, len(paths), batch):
        waveforms = [
            extractor.prepare_waveform(*load_audio(path), name=str(path)) for path in paths[start : start + batch]
        ]
        features.append(extractor.log_mel(torch.from_numpy(np.stack(waveforms))))
    return features


def featurize_files_like_the_reference(extractor: MateFeatureExtractor, paths: list[Path]) -> list[np.ndarray]:
    """The reference: per file `librosa.load(sr=16000)`, zero-pad or cut to the window, librosa's mel in dB."""
    features = []
    for path in paths:
        waveform, _ = librosa.load(path, sr=extractor.sampling_rate)
        waveform = librosa.util.fix_length(waveform, size=extractor.num_samples)
        power = librosa.feature.melspectrogram(
            y=waveform,
            sr=extractor.sampling_rate,
            n_fft=extractor.n_fft,
            hop_length=extractor.hop_length,
            n_mels=extractor.n_mels,
            fmin=extractor.f_min,
            fmax=extractor.f_max,
        )
        features.append(librosa.power_to_db(power, amin=1e-10, top_db=None))
    return features


def bench_featurization(extractor: MateFeatureExtractor, settings: Settings, folder: Path, rate: int) -> Row:
    paths = write_corpus(folder, settings.feature_files, rate, extractor.max_duration)
    ours, reference = best_times(
        lambda: featurize_files(extractor, paths),
        lambda: featurize_files_like_the_reference(extractor, paths),
        repeats=settings.inference_repeats,
    )
    seconds = sum(soundfile.info(path).duration for path in paths)
    return Row(
        "2. featurization of files",
        f"{len(paths)} WAV files at {rate / 1000:g} kHz, {seconds / len(paths):.1f} s on average",
        "files/s",
        len(paths) / ours,
        len(paths) / reference,
        higher_is_better=True,
        target=1.5,
    )


# --- 3. inference per utterance --------------------------------------------------------------------------


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
        note="counted by torch.utils.flop_counter: the bound on the speed-up; MATE's LSTM (~0.3 GFLOP) is not counted",
    )
    return [latency, throughput, compute]


def counted_flops(function: Callable[[], object]) -> int:
    """Floating-point operations of one call (matmuls, convolutions, attention), independent of machine load."""
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


# --- 4. cost growth ---------------------------------------------------------------------------------------


def growth_inputs(model: MateModel, batch: int, length: int) -> dict[str, torch.Tensor]:
    """Dialogues of cached log-mels and sentence embeddings (the text encoder's cost per utterance is fixed)."""
    config = model.config
    frames = MateFeatureExtractor(**config.audio_feature_kwargs()).num_frames
    return {
        "input_features": torch.randn(batch, length, config.n_mels, frames) * 20 - 50,
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


# --- report --------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ]
        cpu = names[0] if names else cpu
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none available",
        "software": (
            f"Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
            f"librosa {librosa.__version__}"
        ),
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


def render(
    rows: list[Row], points: list[GrowthPoint], info: dict, settings: Settings, load: tuple, command: str
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
        "Ratios: how many times faster MATE is than the baseline (best of a few repeats each).",
        "",
        *comparison_table(rows, targets_apply=settings.name == "full"),
        "",
    ]
    if points:
        lines += ["## 4. Cost growth (eval forward from cached log-mels and sentence embeddings)", ""]
        lines += [*growth_table(points), ""]
    if not torch.cuda.is_available():
        lines += ["## 5. GPU", "", "Not measured: no GPU was available on this machine.", ""]
    return "\n".join(lines + ["## How each baseline is run", "", *METHOD_NOTES, ""])


METHOD_NOTES = [
    "- 1: one optimiser step (forward, loss, backward, AdamW) on one dialogue of cached 10 s log-mels, same model "
    "and weights for both. The reference builds each target's window of raw inputs and runs the model's own "
    "encoders on it, then the LSTM on that window alone; it encodes only the real utterances of a window (never the "
    "zero slots before the dialogue starts), which favours it: it does Σ min(t, 8) / T times our encoder work, "
    "not 8. It runs 4 windows at a time with gradient accumulation (all 8·T encodings at once do not fit in memory).",
    "- 2: the reference is `librosa.load(path, sr=16000)` (soxr resampling), zero-pad to the window, "
    "`librosa.feature.melspectrogram` + `power_to_db`, file by file. Ours decodes with soundfile, resamples with "
    "the cached torchaudio kernel, and computes the log-mel of the real frames only, batched; its output equals the "
    "full spectrogram of the padded clip within 1e-4 (tests/test_feature_extraction.py).",
    "- 3: both through their transformers pipeline from a 16 kHz array; MATE with a transcript (tokenizer and "
    "KR-BERT-shaped text encoder included), wav2vec2-base (`Wav2Vec2ForSequenceClassification(Wav2Vec2Config())`, "
    "random weights) with `Wav2Vec2FeatureExtractor`. The speed-ups in the library leave MATE's outputs within 1e-4 "
    "(tests/test_modeling.py::test_audio_encoder_equals_the_plain_nchw_stack).",
    "- 4: `MateModel` forward under `torch.inference_mode()` from cached log-mels and sentence embeddings; peak "
    "memory is the most torch's CPU allocator held during the forward (profiler allocation records).",
]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small models and sizes (CI): under a minute")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument("--measures", nargs="+", choices=MEASURES, default=list(MEASURES), help="run only these")
    return parser.parse_args(argv)


def run_measures(names: list[str], settings: Settings) -> tuple[list[Row], list[GrowthPoint]]:
    model, processor = build_mate(settings)
    rows, points = [], []
    if "training" in names:
        progress("1. training throughput")
        rows += [bench_training(model, settings, frozen=True), bench_training(model, settings, frozen=False)]
    if "featurization" in names:
        progress("2. featurization of files")
        with tempfile.TemporaryDirectory() as folder:
            extractor = processor.feature_extractor
            rows += [bench_featurization(extractor, settings, Path(folder), rate) for rate in settings.feature_rates]
    if "inference" in names:
        progress("3. inference per utterance")
        rows += bench_inference(model, processor, settings)
    if "growth" in names:
        progress("4. cost growth")
        points = bench_growth(model, settings)
    return rows, points


def progress(step: str) -> None:
    """A full run takes many minutes: say where it is (on stderr, the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    settings = QUICK if arguments.quick else FULL
    load_before = os.getloadavg()[0]
    rows, points = run_measures(arguments.measures, settings)
    command = " ".join([*thread_variables(), "python benchmarks/run_benchmarks.py", *argv])
    report = render(rows, points, machine(), settings, (load_before, os.getloadavg()[0]), command)
    print(report)
    if arguments.output:
        arguments.output.write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
