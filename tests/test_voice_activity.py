"""Utterances by voice activity (mate_hf.voice_activity, MateEmotionPipeline(segmentation=...)): boundaries found in
synthetic conversations of espeak-ng turns, the result format, the settings, transcripts, batching, remote code."""

import ast
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from transformers import pipeline

from mate_hf import TASK, save_mate_folder
from mate_hf.audio_io import load_audio
from mate_hf.feature_extraction_mate import resample
from mate_hf.voice_activity import load_vad, speech_spans

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RATE = 16000
# A clip's speech extent: its first and last sample louder than this (the demo clips are trimmed espeak-ng speech
# with a few ms of digital silence around it; the noise is added to the conversation afterwards).
SPEECH_LEVEL = 0.01
# Detected boundaries within this many seconds of the true ones count as right.
TOLERANCE_S = 0.25
RESULT_KEYS = {"emotions", "arousal", "valence", "modalities", "segmentation", "utterances"}
UTTERANCE_KEYS = {"start", "end", "transcript", "emotions", "arousal", "valence"}


@pytest.fixture(scope="module")
def pipe(build_tiny_mate):
    """A tiny MATE with 2 s clips; initializer_range 0.5: untrained outputs far from uniform, so differences show."""
    model, processor = build_tiny_mate(max_duration=2.0, initializer_range=0.5)
    return pipeline(TASK, model=model, processor=processor)


@pytest.fixture(scope="module")
def demo_clips(demo_kemdy19, pipe):
    """`demo_clips(rng, count) -> [16 kHz mono waveform, ...]`: `count` different demo corpus recordings (espeak-ng
    speech, 8 or 11.025 kHz, 0.3-1.7 s) drawn with `rng`."""
    paths = sorted((demo_kemdy19 / "wav").rglob("*.wav"))

    def draw(rng: np.random.Generator, count: int) -> list[np.ndarray]:
        chosen = rng.choice(len(paths), count, replace=False)
        return [pipe.feature_extractor.mono_at_model_rate(*load_audio(paths[index])) for index in chosen]

    return draw


def speech_extent(clip: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(clip) > SPEECH_LEVEL)
    return int(loud[0]), int(loud[-1]) + 1


def conversation(clips: list[np.ndarray], pauses: list[float], noise: float, rng: np.random.Generator):
    """`clips` with `pauses` (s) before, between and after them, Gaussian noise of amplitude `noise` over the whole
    recording → (recording, true utterance boundaries in seconds)."""
    assert len(pauses) == len(clips) + 1
    parts, truth, position = [], [], 0
    for pause, clip in zip(pauses, [*clips, None]):
        parts.append(np.zeros(int(pause * RATE), dtype=np.float32))
        position += parts[-1].shape[0]
        if clip is not None:
            first, last = speech_extent(clip)
            truth.append(((position + first) / RATE, (position + last) / RATE))
            parts.append(clip)
            position += clip.shape[0]
    recording = np.concatenate(parts)
    return (recording + rng.normal(0, noise, recording.shape)).astype(np.float32), truth


def boundary_errors(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> list[float]:
    """Per utterance, the larger of its start and end errors (s)."""
    return [max(abs(fs - ts), abs(fe - te)) for (fs, fe), (ts, te) in zip(found, truth)]


def spans(result: dict) -> list[tuple[float, float]]:
    return [(utterance["start"], utterance["end"]) for utterance in result["utterances"]]


def by_label(emotions: list[dict]) -> np.ndarray:
    return np.array([entry["score"] for entry in sorted(emotions, key=lambda entry: entry["label"])])


def assert_same_result(one, other, path="result"):
    """Equal structure, equal strings and times, numbers within float tolerance."""
    if isinstance(one, dict):
        assert isinstance(other, dict) and sorted(one) == sorted(other), path
        for key in one:
            assert_same_result(one[key], other[key], f"{path}.{key}")
    elif isinstance(one, list):
        assert isinstance(other, list) and len(one) == len(other), path
        for index, (a, b) in enumerate(zip(one, other)):
            assert_same_result(a, b, f"{path}[{index}]")
    elif isinstance(one, float):
        assert other == pytest.approx(one, abs=1e-5), path
    else:
        assert one == other, path


@pytest.fixture(scope="module")
def two_conversations(demo_clips):
    rng = np.random.default_rng(11)
    return [conversation(demo_clips(rng, 4), [0.6, 0.7, 0.5, 0.9, 0.6], 0.003, rng)[0] for _ in "ab"]


@pytest.fixture(scope="module")
def with_long_utterance(demo_clips):
    """A short turn, a turn of clips spoken without a pause (over 3.5 s: longer than the 2 s clip length), a short
    turn; with its true boundaries."""
    rng = np.random.default_rng(5)
    clips = demo_clips(rng, 12)
    joined = 1
    while sum(clip.shape[0] for clip in clips[1 : 1 + joined]) < 3.5 * RATE:
        joined += 1
    long_turn = np.concatenate(clips[1 : 1 + joined])
    return conversation([clips[0], long_turn, clips[1 + joined]], [0.5, 0.8, 0.8, 0.5], 0.003, rng)


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vad_finds_the_utterances_of_a_synthetic_conversation(pipe, demo_clips, seed):
    """8–12 espeak-ng turns, pauses of 0.3–1.5 s, light noise: every turn found, its boundaries within 0.25 s."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(8, 13))
    clips = demo_clips(rng, count)
    recording, truth = conversation(clips, list(rng.uniform(0.3, 1.5, count + 1)), rng.uniform(0.002, 0.005), rng)
    result = pipe(recording, sampling_rate=RATE, segmentation="vad")
    found = spans(result)
    errors = boundary_errors(found, truth)
    within = float(np.mean(np.array(errors) <= TOLERANCE_S)) if errors else 0.0
    report = (
        f"seed {seed}: {len(truth)} true, {len(found)} detected utterances; boundary errors (s) median "
        f"{np.median(errors) if errors else float('nan'):.3f}, max {max(errors, default=float('nan')):.3f}, "
        f"{within:.0%} within {TOLERANCE_S} s; start errors {[round(f[0] - t[0], 3) for f, t in zip(found, truth)]}, "
        f"end errors {[round(f[1] - t[1], 3) for f, t in zip(found, truth)]}"
    )
    print(report)
    assert len(found) == len(truth), report
    assert within >= 0.9, report


def test_speech_spans_are_the_pipeline_times_in_samples(pipe, two_conversations):
    recording = two_conversations[0]
    found = speech_spans(recording, RATE)
    assert all(isinstance(start, int) and isinstance(end, int) and start < end for start, end in found)
    assert [(round(s / RATE, 3), round(e / RATE, 3)) for s, e in found] == spans(
        pipe(recording, sampling_rate=RATE, segmentation="vad")
    )
    # At 8 kHz (read by the model as it is) and 22.05 kHz (resampled for it), the same turns, in that rate's samples.
    for rate in (8000, 22050):
        at_rate = speech_spans(resample(recording, RATE, rate), rate)
        assert len(at_rate) == len(found)
        assert np.abs(np.array(at_rate) / rate - np.array(found) / RATE).max() < 0.1


# ---------------------------------------------------------------- result format


def test_result_format_and_the_segments_of_a_long_utterance(pipe, with_long_utterance):
    recording, truth = with_long_utterance
    result = pipe(recording, sampling_rate=RATE, segmentation="vad")
    assert set(result) == RESULT_KEYS and result["segmentation"] == "vad" and result["modalities"] == "audio"
    assert len(result["utterances"]) == 3, spans(result)
    assert max(boundary_errors(spans(result), truth)) <= TOLERANCE_S
    short, long, last = result["utterances"]
    assert set(short) == set(last) == UTTERANCE_KEYS and set(long) == UTTERANCE_KEYS | {"segments"}
    segments = long["segments"]
    assert all(set(segment) == UTTERANCE_KEYS for segment in segments) and len(segments) >= 2
    # Consecutive 2 s windows from the utterance's start; a tail under 1 s is dropped, as in fixed segmentation.
    assert segments[0]["start"] == long["start"] and segments[-1]["end"] <= long["end"]
    assert all(a["end"] == b["start"] for a, b in zip(segments, segments[1:]))
    assert all(s["end"] - s["start"] <= 2.0 + 1e-9 for s in segments)
    assert long["end"] - segments[-1]["end"] < 1.0
    assert all(s["transcript"] is None for s in segments)
    # Each level averages the one below: segments → utterance, utterances → recording.
    assert np.allclose(np.mean([by_label(s["emotions"]) for s in segments], 0), by_label(long["emotions"]), atol=1e-6)
    assert long["arousal"] == pytest.approx(np.mean([s["arousal"] for s in segments]), abs=1e-6)
    utterances = result["utterances"]
    assert np.allclose(np.mean([by_label(u["emotions"]) for u in utterances], 0), by_label(result["emotions"]))
    assert result["valence"] == pytest.approx(np.mean([u["valence"] for u in utterances]), abs=1e-6)
    for part in (result, *utterances, *segments):
        scores = [entry["score"] for entry in part["emotions"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 7
    times = [value for u in (*utterances, *segments) for value in (u["start"], u["end"])]
    assert times == [round(value, 3) for value in times]
    top = pipe(recording, sampling_rate=RATE, segmentation="vad", top_k=2)
    assert all(len(part["emotions"]) == 2 for part in (top, *top["utterances"], *top["utterances"][1]["segments"]))


def test_utterances_are_read_as_one_dialogue(pipe, two_conversations):
    """The first utterance has no context: it reads as its audio alone; later ones are read after the earlier."""
    recording = two_conversations[1]
    result = pipe(recording, sampling_rate=RATE, segmentation="vad")
    (first_start, first_end), *_, (last_start, last_end) = speech_spans(recording, RATE)
    first_alone = pipe(recording[first_start:first_end], sampling_rate=RATE)
    last_alone = pipe(recording[last_start:last_end], sampling_rate=RATE)
    assert np.allclose(by_label(result["utterances"][0]["emotions"]), by_label(first_alone["emotions"]), atol=1e-6)
    assert np.abs(by_label(result["utterances"][-1]["emotions"]) - by_label(last_alone["emotions"])).max() > 1e-4


def test_settings_change_the_utterances(pipe, demo_clips):
    rng = np.random.default_rng(21)
    recording, truth = conversation(demo_clips(rng, 2), [0.6, 0.4, 0.6], 0.003, rng)
    default = spans(pipe(recording, sampling_rate=RATE, segmentation="vad"))
    assert len(default) == 2
    merged = spans(pipe(recording, sampling_rate=RATE, segmentation="vad", min_silence_duration=0.8))
    assert len(merged) == 1 and merged[0][0] == default[0][0] and merged[0][1] >= truth[1][1]
    padded = spans(pipe(recording, sampling_rate=RATE, segmentation="vad", speech_pad=0.3))
    assert len(padded) == 2 and default[0][0] - padded[0][0] == pytest.approx(0.25, abs=0.002)
    assert spans(pipe(recording, sampling_rate=RATE, segmentation="vad", min_speech_duration=5.0)) == []
    strict = spans(pipe(recording, sampling_rate=RATE, segmentation="vad", vad_threshold=0.999))
    assert sum(end - start for start, end in strict) < sum(end - start for start, end in default)


# ---------------------------------------------------------------- fixed and auto


def test_fixed_reads_consecutive_windows_as_before(pipe, with_long_utterance):
    """The windows of fixed segmentation are read as a dialogue of consecutive utterances, one per window."""
    recording, _ = with_long_utterance
    result = pipe(recording, sampling_rate=RATE, segmentation="fixed")
    assert set(result) == {"emotions", "arousal", "valence", "modalities", "segments"}
    windows = [(s["start"], s["end"]) for s in result["segments"]]
    length = recording.shape[0] / RATE
    expected = [(float(start), min(start + 2.0, length)) for start in range(0, int(length), 2)]
    assert windows == [(a, round(b, 3)) for a, b in expected if a == 0 or b - a >= 1.0]
    turns = [{"raw": recording[int(a * RATE) : int(round(b * RATE))], "sampling_rate": RATE} for a, b in windows]
    for segment, turn in zip(result["segments"], pipe({"dialogue": turns})):
        assert np.allclose(by_label(segment["emotions"]), by_label(turn["emotions"]), atol=1e-6)


def test_auto_reads_short_clips_and_transcribed_recordings_with_fixed_windows(pipe, demo_clips, with_long_utterance):
    (clip,) = demo_clips(np.random.default_rng(3), 1)
    short = pipe(clip, sampling_rate=RATE)
    assert short == pipe(clip, sampling_rate=RATE, segmentation="fixed")
    assert [(s["start"], s["end"]) for s in short["segments"]] == [(0.0, round(clip.shape[0] / RATE, 3))]
    recording, _ = with_long_utterance
    transcribed = pipe(recording, sampling_rate=RATE, transcript="정말 기뻐요")
    assert transcribed == pipe(recording, sampling_rate=RATE, transcript="정말 기뻐요", segmentation="fixed")
    assert pipe(recording, sampling_rate=RATE) == pipe(recording, sampling_rate=RATE, segmentation="vad")
    assert len(pipe(clip, sampling_rate=RATE, segmentation="vad")["utterances"]) == 1


def test_a_recording_without_speech_gives_no_utterances(pipe):
    noise = np.random.default_rng(0).normal(0, 0.003, 5 * RATE).astype(np.float32)
    expected = {
        "emotions": [],
        "arousal": None,
        "valence": None,
        "modalities": "audio",
        "segmentation": "vad",
        "utterances": [],
    }
    assert pipe(noise, sampling_rate=RATE) == expected  # auto: longer than the clip length
    assert pipe(noise[:RATE], sampling_rate=RATE, segmentation="vad") == expected
    silent = pipe(np.zeros(3 * RATE, dtype=np.float32), sampling_rate=RATE, asr_model=lambda audio: {"text": "x"})
    assert silent == {**expected, "modalities": "audio+text"}  # the path speech would have taken


def test_dialogue_turns_are_segmented_by_voice_activity_only_when_asked(pipe, two_conversations):
    turns = [{"raw": recording, "sampling_rate": RATE} for recording in two_conversations]
    assert all("segments" in result for result in pipe({"dialogue": turns}))
    results = pipe({"dialogue": turns}, segmentation="vad")
    alone = [pipe(recording, sampling_rate=RATE, segmentation="vad") for recording in two_conversations]
    assert [spans(result) for result in results] == [spans(result) for result in alone]
    assert_same_result(results[0], alone[0])  # nothing before it
    second, second_alone = results[1]["utterances"][0], alone[1]["utterances"][0]
    assert (
        np.abs(by_label(second["emotions"]) - by_label(second_alone["emotions"])).max() > 1e-4
    )  # the first is context


# ---------------------------------------------------------------- transcripts, errors, batching


def test_a_transcript_cannot_be_split_among_utterances(pipe, two_conversations):
    recording = two_conversations[0]
    with pytest.raises(ValueError, match=r"segmentation='vad'.*asr_model=.*segmentation='fixed'"):
        pipe(recording, sampling_rate=RATE, transcript="정말 기뻐요", segmentation="vad")
    turns = [{"raw": recording, "sampling_rate": RATE}, {"raw": recording, "sampling_rate": RATE, "text": "기뻐요"}]
    with pytest.raises(ValueError, match="turn 1: segmentation='vad'"):
        pipe({"dialogue": turns}, segmentation="vad")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"segmentation": "pauses"}, "segmentation must be one of 'auto', 'vad', 'fixed'"),
        ({"vad_threshold": 1.5}, "vad_threshold must be a number between 0 and 1"),
        ({"min_silence_duration": -0.1}, "min_silence_duration must be a non-negative number"),
        ({"speech_pad": float("nan")}, "speech_pad must be a non-negative number"),
    ],
)
def test_bad_settings_raise_value_errors(pipe, settings, message):
    with pytest.raises(ValueError, match=message):
        pipe(np.zeros(RATE, dtype=np.float32), sampling_rate=RATE, **settings)


def test_asr_model_transcribes_each_utterance_whole(pipe, with_long_utterance):
    recording, _ = with_long_utterance
    heard = []

    def asr(audio: dict) -> dict:
        heard.append(audio["raw"].shape[0] / audio["sampling_rate"])
        return {"text": f" 정말 기뻐요 {len(heard)} "}

    result = pipe(recording, sampling_rate=RATE, segmentation="vad", asr_model=asr)
    utterances = result["utterances"]
    assert len(heard) == len(utterances) == 3  # once per utterance, not per window of the long one
    assert heard == pytest.approx([u["end"] - u["start"] for u in utterances], abs=1e-3)
    assert [u["transcript"] for u in utterances] == ["정말 기뻐요 1", "정말 기뻐요 2", "정말 기뻐요 3"]
    assert {s["transcript"] for s in utterances[1]["segments"]} == {"정말 기뻐요 2"}
    assert result["modalities"] == "audio+text"


def test_a_batch_equals_one_recording_at_a_time(pipe, two_conversations, with_long_utterance):
    inputs = [
        *two_conversations,
        with_long_utterance[0],
        np.zeros(3 * RATE, dtype=np.float32),
        two_conversations[0][:RATE],
    ]
    one_by_one = [pipe(recording, sampling_rate=RATE) for recording in inputs]
    assert ["segments" in result for result in one_by_one] == [False, False, False, False, True]
    assert_same_result(pipe(inputs, sampling_rate=RATE, batch_size=2), one_by_one)


def test_without_silero_vad_the_error_says_what_to_do(pipe, two_conversations, monkeypatch):
    monkeypatch.setitem(sys.modules, "silero_vad", None)  # importing it now raises ImportError
    load_vad.cache_clear()
    try:
        with pytest.raises(
            ImportError, match=r"needs silero-vad: pip install silero-vad, or pass segmentation='fixed'"
        ):
            pipe(two_conversations[0], sampling_rate=RATE, segmentation="vad")
        assert "segments" in pipe(two_conversations[0], sampling_rate=RATE, segmentation="fixed")
    finally:
        load_vad.cache_clear()


# ---------------------------------------------------------------- remote code


def test_saved_folder_segments_by_voice_activity_as_remote_code(pipe, two_conversations, tmp_path):
    """voice_activity.py travels with the folder; loading it needs no silero-vad, segmenting with it does."""
    folder = save_mate_folder(tmp_path / "mate", pipe.model, pipe.processor)
    source = (folder / "voice_activity.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    absolute = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    absolute |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "silero_vad" in absolute and not any(name.split(".")[0] == "mate_hf" for name in absolute)
    assert not any(
        isinstance(node, (ast.Import, ast.ImportFrom)) and "silero" in ast.unparse(node) for node in tree.body
    )
    recording = two_conversations[0]
    np.save(tmp_path / "recording.npy", recording)
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["mate_hf"] = None
        sys.modules["silero_vad"] = None  # not installed, as far as loading the folder can tell
        import numpy as np
        from transformers import pipeline
        pipe = pipeline(model={str(folder)!r}, trust_remote_code=True)
        assert not type(pipe).__module__.startswith("mate_hf")
        recording = np.load({str(tmp_path / "recording.npy")!r})
        fixed = pipe(recording, sampling_rate={RATE}, segmentation="fixed")
        try:
            pipe(recording, sampling_rate={RATE}, segmentation="vad")
            missing = None
        except ImportError as error:
            missing = str(error)
        del sys.modules["silero_vad"]  # installed after all
        print(json.dumps({{"missing": missing, "fixed": fixed, "vad": pipe(recording, sampling_rate={RATE})}}))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
    remote = json.loads(run.stdout.strip().splitlines()[-1])
    assert "pip install silero-vad" in remote["missing"]
    assert_same_result(remote["fixed"], pipe(recording, sampling_rate=RATE, segmentation="fixed"))
    assert_same_result(remote["vad"], pipe(recording, sampling_rate=RATE))
