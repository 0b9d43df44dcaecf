"""Property-based tests of every entry point: any recording, transcript or dialogue length either gives valid
output (finite features; probabilities summing to 1; arousal and valence in [1, 5]) or a ValueError that says
what is wrong. Hypothesis draws a few numbers per case; numpy synthesises the samples from them."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from transformers import pipeline

from mate_hf import TASK, MateFeatureExtractor, feature_extraction_mate
from mate_hf.feature_extraction_mate import SILENCE_DB, crop_or_pad, resample, resample_window

COMMON_RATES = (8000, 11025, 16000, 22050, 44100, 48000)
SIGNALS = ("noise", "tone", "silence", "clipped", "impulse", "loud")
PCM_SCALES = {"int16": 2**15, "int32": 2**31}
HOUR_AT_8KHZ = 3600 * 8000

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class Recording:
    """How to synthesise one test recording: `samples()` builds it, `expected_error` says how it must fail."""

    length: int  # samples per channel
    rate: int
    channels: int = 1
    dtype: str = "float32"
    signal: str = "noise"
    defect: str | None = None  # "nan" or "inf" in one sample (floating point only)
    channels_last: bool = False
    seed: int = 0

    def samples(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        wave = _signal(self.signal, (self.channels, self.length), self.rate, rng)
        if self.defect and self.length:
            wave[rng.integers(self.channels), rng.integers(self.length)] = np.nan if self.defect == "nan" else np.inf
        wave = _to_dtype(wave, self.dtype)
        if self.channels == 1:
            return wave[0]
        return wave.T if self.channels_last else wave

    @property
    def expected_error(self) -> str | None:
        if self.length == 0:
            return "is empty"
        return "NaN or infinite" if self.defect else None


def _signal(kind: str, shape: tuple[int, int], rate: int, rng: np.random.Generator) -> np.ndarray:
    """float64 samples in [-1, 1] ("loud": float PCM left at int16 scale, up to ±32768)."""
    if kind == "silence":
        return np.zeros(shape)
    if kind == "impulse":
        wave = np.zeros(shape)
        wave[:, shape[1] // 2 :][:, :1] = 1.0
        return wave
    if kind == "tone":
        t = np.arange(shape[1]) / rate
        return 0.5 * np.sin(2 * np.pi * rng.uniform(50, rate / 2, (shape[0], 1)) * t)
    noise = rng.normal(0.0, 0.3, shape)
    if kind == "clipped":
        return np.clip(noise * 10, -1.0, 1.0)  # driven far past full scale, flat-topped
    return np.clip(noise, -1, 1) * (32768.0 if kind == "loud" else 1.0)


def _to_dtype(wave: np.ndarray, dtype: str) -> np.ndarray:
    if dtype in PCM_SCALES:
        scale = PCM_SCALES[dtype]
        return np.clip(np.round(wave * scale), -scale, scale - 1).astype(dtype)
    return wave.astype(dtype)


@st.composite
def recordings(draw, max_seconds: float = 3.0) -> Recording:
    rate = draw(st.one_of(st.sampled_from(COMMON_RATES), st.integers(8000, 48000)))
    dtype = draw(st.sampled_from(["int16", "int32", "float32", "float64"]))
    signal = draw(st.sampled_from(SIGNALS if dtype.startswith("float") else SIGNALS[:-1]))
    longest = int(max_seconds * rate)
    return Recording(
        # Hypothesis favours small numbers: a third of the cases are forced into the longer half.
        length=draw(st.one_of(st.integers(0, 64), st.integers(0, longest), st.integers(longest // 2, longest))),
        rate=rate,
        channels=draw(st.integers(1, 6)),
        dtype=dtype,
        signal=signal,
        defect=draw(st.sampled_from([None, "nan", "inf"])) if dtype.startswith("float") else None,
        channels_last=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


# A transcript: any text (any script, emoji, control and combining characters), or an int i standing for the i-th
# (modulo their number) of the `korean_sentences` the tiny vocabulary covers: a strategy cannot take fixtures, so
# tests turn it into the sentence with `transcript(drawn, korean_sentences)`.
TRANSCRIPTS = st.one_of(st.integers(0, 63), st.text(st.characters(codec="utf-8"), max_size=300))
HOUR = Recording(HOUR_AT_8KHZ, 8000, dtype="int16")
HOUR_OF_SILENCE = Recording(HOUR_AT_8KHZ, 8000, dtype="int16", signal="silence")


def transcript(drawn: int | str | None, sentences: list[str]) -> str | None:
    """A value drawn from `TRANSCRIPTS` (or `None`) as the transcript it stands for."""
    return sentences[drawn % len(sentences)] if isinstance(drawn, int) else drawn


def expect(recording: Recording, call):
    """Run `call`: it must raise the ValueError `recording` predicts, or return (its result is returned)."""
    event(f"{recording.signal}, {recording.channels} channel(s): {recording.expected_error or 'valid output'}")
    if recording.expected_error is None:
        return call()
    with pytest.raises(ValueError, match=recording.expected_error):
        call()
    return None


def assert_valid_outputs(outputs, utterance_mask: torch.Tensor) -> None:
    valid = utterance_mask.bool()
    probs = outputs.emotion_probs[valid]
    assert torch.isfinite(outputs.logits[valid]).all() and torch.isfinite(probs).all()
    assert torch.allclose(probs.sum(-1), torch.ones(len(probs)), atol=1e-5)
    for scores in (outputs.arousal[valid], outputs.valence[valid]):
        assert torch.isfinite(scores).all() and (scores >= 1).all() and (scores <= 5).all()


def assert_valid_result(result: dict) -> None:
    for part in (result, *result["segments"]):
        scores = [entry["score"] for entry in part["emotions"]]
        assert all(np.isfinite(scores)) and abs(sum(scores) - 1) < 1e-5
        assert 1 <= part["arousal"] <= 5 and 1 <= part["valence"] <= 5


@pytest.fixture(scope="module")
def tiny(build_tiny_mate):
    return build_tiny_mate()


@pytest.fixture(scope="module")
def text_only(build_tiny_mate):
    return build_tiny_mate(modalities="text")


@pytest.fixture(scope="module")
def pipe(build_tiny_mate):
    model, processor = build_tiny_mate(max_duration=10.0, hop_length=1024)
    return pipeline(TASK, model=model, processor=processor)


@settings(max_examples=300, deadline=None)
@given(recording=recordings())
@example(recording=HOUR)
@example(recording=HOUR_OF_SILENCE)
@example(recording=Recording(3, 8000, channels=6, dtype="int32"))
@example(recording=Recording(1, 48000, dtype="float64", signal="impulse"))
@example(recording=Recording(0, 16000, channels=2))
def test_feature_extractor_gives_finite_log_mels_or_a_value_error(tiny, recording):
    extractor = tiny[1].feature_extractor
    features = expect(recording, lambda: extractor(recording.samples(), sampling_rate=recording.rate))
    if features is None:
        return
    log_mel = features["input_features"]
    assert log_mel.shape == (1, 1, extractor.n_mels, extractor.num_frames)
    assert torch.isfinite(log_mel).all() and (log_mel >= SILENCE_DB).all()
    if recording.signal == "silence":
        assert (log_mel == SILENCE_DB).all()


@settings(max_examples=40, deadline=None)
@given(channels=st.integers(2, 6), length=st.integers(7, 4000), rate=st.sampled_from(COMMON_RATES))
def test_channels_first_and_channels_last_give_the_same_features(tiny, channels, length, rate):
    extractor = tiny[1].feature_extractor
    wave = Recording(length, rate, channels=channels).samples()
    first = extractor(wave, sampling_rate=rate)["input_features"]
    last = extractor(np.ascontiguousarray(wave.T), sampling_rate=rate)["input_features"]
    mono = extractor(wave.mean(0), sampling_rate=rate)["input_features"]
    assert torch.allclose(first, last) and torch.allclose(first, mono, atol=1e-4)


def test_fewer_samples_than_channels_is_read_transposed_and_stays_valid(tiny):
    """The documented choice for an ambiguous layout: the shorter axis holds the channels."""
    extractor = tiny[1].feature_extractor
    six_by_three = Recording(3, 16000, channels=6).samples()  # meant as 6 channels of 3 samples
    as_given = extractor(six_by_three, sampling_rate=16000)["input_features"]
    as_three_channels = extractor(six_by_three.mean(1), sampling_rate=16000)["input_features"]
    assert torch.equal(as_given, as_three_channels) and torch.isfinite(as_given).all()


@settings(max_examples=150, deadline=None)
@given(recording=recordings(max_seconds=1.5), text=TRANSCRIPTS)
@example(recording=Recording(16000, 16000, signal="clipped"), text="")
def test_processor_and_model_give_valid_predictions_or_a_value_error(tiny, korean_sentences, recording, text):
    model, processor = tiny
    text = transcript(text, korean_sentences)
    inputs = expect(recording, lambda: processor(audio=recording.samples(), text=text, sampling_rate=recording.rate))
    if inputs is None:
        return
    assert inputs["input_ids"].shape[-1] <= processor.max_text_length
    with torch.no_grad():
        assert_valid_outputs(model(**inputs), inputs["utterance_mask"])


@settings(max_examples=200, deadline=None)
@given(text=TRANSCRIPTS)
@example(text="")
@example(text="😀🎉🙏" * 400)
@example(text="x" * 100_000)
@example(text="\x00\x07\u200b\ufeff")
@example(text="Hello, how are you?")
@example(text="\u0301" * 50)
@example(text="\ud800 lone surrogate")
def test_any_transcript_gives_valid_predictions_or_a_value_error(text_only, korean_sentences, text):
    model, processor = text_only
    text = transcript(text, korean_sentences)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        with pytest.raises(ValueError, match="text of dialogue 0, utterance 0: not valid Unicode"):
            processor(text=text)
        return
    inputs = processor(text=text)
    with torch.no_grad():
        assert_valid_outputs(model(**inputs), inputs["utterance_mask"])


@settings(max_examples=12, deadline=None)
@given(length=st.one_of(st.integers(1, 64), st.integers(1, 10_000)), seed=st.integers(0, 100))
@example(length=1, seed=0)
@example(length=10_000, seed=0)
def test_dialogues_of_1_to_10000_utterances(text_only, korean_sentences, length, seed):
    model, processor = text_only
    texts = [korean_sentences[(seed + index) % len(korean_sentences)] for index in range(length)]
    inputs = processor(text=[texts])
    assert inputs["utterance_mask"].shape == (1, length) and inputs["utterance_mask"].all()
    with torch.no_grad():
        outputs = model(**inputs)
    assert outputs.emotion_probs.shape == (1, length, 7)
    assert_valid_outputs(outputs, inputs["utterance_mask"])


@settings(max_examples=10, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4))
@example(lengths=[10_000])
def test_audio_dialogues_of_any_length_are_featurised_and_masked(lengths):
    extractor = MateFeatureExtractor(max_duration=0.05, n_mels=16, n_fft=256, hop_length=128)
    dialogues = [[np.full(40, 0.1 * (turn % 5), dtype=np.float32) for turn in range(n)] for n in lengths]
    features = extractor(dialogues, sampling_rate=16000)
    assert features["utterance_mask"].sum(1).tolist() == lengths
    assert torch.isfinite(features["input_features"]).all()


@settings(max_examples=100, deadline=None)
@given(recording=recordings(), text=st.none() | TRANSCRIPTS)
@example(recording=HOUR, text="한 시간 통화")
@example(recording=Recording(400, 8000, channels=2, signal="silence"), text=None)
def test_pipeline_gives_valid_results_or_a_value_error(pipe, korean_sentences, recording, text):
    text = transcript(text, korean_sentences)
    result = expect(recording, lambda: pipe(recording.samples(), sampling_rate=recording.rate, transcript=text))
    if result is None:
        return
    assert_valid_result(result)
    assert result["modalities"] == ("audio" if text is None else "audio+text")
    duration = recording.length / recording.rate
    assert result["segments"][0]["start"] == 0 and result["segments"][-1]["end"] <= duration + 1e-2


@settings(max_examples=30, deadline=None)
@given(turns=st.lists(st.tuples(recordings(max_seconds=0.5), TRANSCRIPTS), min_size=1, max_size=8))
def test_pipeline_dialogues_give_one_result_per_turn_or_a_value_error(pipe, korean_sentences, turns):
    dialogue = [
        {"raw": rec.samples(), "sampling_rate": rec.rate, "text": transcript(text, korean_sentences)}
        for rec, text in turns
    ]
    bad = [rec for rec, _ in turns if rec.expected_error]
    if bad:
        with pytest.raises(ValueError, match=r"turn \d+: .*(is empty|NaN or infinite)"):
            pipe({"dialogue": dialogue})
        return
    results = pipe({"dialogue": dialogue})
    assert len(results) == len(turns)
    for result in results:
        assert_valid_result(result)


# ---------------------------------------------------------------- long, odd-rate and over-loud recordings


ROUND_RATES = st.one_of(st.sampled_from(COMMON_RATES), st.integers(80, 480).map(lambda hundreds: hundreds * 100))


@settings(max_examples=40, deadline=None)
@given(rate=ROUND_RATES, seconds=st.floats(0.01, 3.0), crop=st.sampled_from(["center", "start", "random"]))
def test_cropping_before_resampling_keeps_the_window_of_the_whole_resampled_clip(rate, seconds, crop):
    wave = Recording(int(seconds * rate), rate).samples()
    windowed = resample_window(wave, rate, 16000, 16000, crop, np.random.default_rng(3))
    whole = crop_or_pad(resample(wave, rate, 16000), 16000, crop, np.random.default_rng(3))
    assert windowed.shape == whole.shape and np.allclose(windowed, whole, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(rate=ROUND_RATES, length=st.integers(1, 20_000), chunk=st.integers(64, 4096))
def test_resampling_in_pieces_equals_resampling_whole(rate, length, chunk):
    wave = Recording(length, rate).samples()
    whole = resample(wave, rate, 16000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feature_extraction_mate, "_RESAMPLE_CHUNK", chunk)
        pieces = resample(wave, rate, 16000)
    assert pieces.shape == whole.shape and np.allclose(pieces, whole, atol=1e-6)


@pytest.mark.parametrize("rate", [12_347, 44_056, 47_999, 8_001])
def test_an_odd_sampling_rate_keeps_pitch_and_timing(tiny, rate):
    """Rates whose sinc kernel would take gigabytes go through the next multiple of 100 Hz first."""
    seconds = np.arange(2 * rate) / rate
    mono = tiny[1].feature_extractor.mono_at_model_rate(0.5 * np.sin(2 * np.pi * 440 * seconds), rate)
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(mono)) / 16000)
    assert abs(len(mono) - 32000) <= 3
    assert np.abs(mono[1000:-1000] - expected[1000:-1000]).max() < 0.01


@pytest.mark.parametrize(("peak", "dtype"), [(1e12, np.float64), (1e20, np.float32), (1e300, np.float64)])
def test_floating_samples_far_beyond_full_scale_are_refused(tiny, peak, dtype):
    """Their power spectrum would overflow float32 and turn every feature into NaN."""
    wave = (np.sin(np.arange(8000) / 10) * peak).astype(dtype)
    with pytest.raises(ValueError, match=r"audio of dialogue 0, utterance 0: floating-point samples reach .*\[-1, 1\]"):
        tiny[1](audio=wave, text="소리가 너무 커요", sampling_rate=16000)


def test_unscaled_int32_pcm_as_floats_is_still_accepted(tiny):
    model, processor = tiny
    inputs = processor(audio=np.sin(np.arange(8000) / 10) * 2.0**31, text="", sampling_rate=16000)
    with torch.no_grad():
        assert_valid_outputs(model(**inputs), inputs["utterance_mask"])
