"""MateEmotionPipeline: input forms, long recordings, dialogues, batching, ASR, remote code."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile
import torch
from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, pipeline

from mate_hf import TASK, save_mate_folder


@pytest.fixture(scope="module")
def mate(build_tiny_mate, tmp_path_factory):
    """A tiny MATE with the default 10 s window, saved as a complete folder."""
    # initializer_range: untrained outputs far from uniform, so differences show
    model, processor = build_tiny_mate(max_duration=10.0, hop_length=1024, initializer_range=0.5)
    folder = save_mate_folder(tmp_path_factory.mktemp("mate"), model, processor)
    return pipeline(TASK, model=model, processor=processor), folder


def _scores(result: dict) -> list[float]:
    return [entry["score"] for entry in sorted(result["emotions"], key=lambda entry: entry["label"])]


def test_input_forms_agree(mate, make_dialogue, sampling_rate, tmp_path):
    pipe, _ = mate
    audio, text = make_dialogue(1, seed=3)
    soundfile.write(tmp_path / "a.wav", audio[0], sampling_rate, subtype="FLOAT")
    from_path = pipe(str(tmp_path / "a.wav"), transcript=text[0])
    from_bytes = pipe((tmp_path / "a.wav").read_bytes(), transcript=text[0])
    from_array = pipe(audio[0], sampling_rate=sampling_rate, transcript=text[0])
    from_dict = pipe({"raw": audio[0], "sampling_rate": sampling_rate, "text": text[0]})
    for other in (from_bytes, from_array, from_dict):
        assert np.allclose(_scores(from_path), _scores(other), atol=1e-6)
    assert from_path["modalities"] == "audio+text"
    assert abs(sum(_scores(from_path)) - 1) < 1e-5 and 1 <= from_path["arousal"] <= 5
    assert len(pipe(audio[0], sampling_rate=sampling_rate, top_k=3)["emotions"]) == 3


@pytest.mark.parametrize("top_k", [None, 3])
def test_emotions_are_ranked_by_descending_score(mate, make_dialogue, sampling_rate, top_k):
    pipe, _ = mate
    audio, text = make_dialogue(3, seed=9)
    long_recording = np.concatenate(audio * 10)  # several 10 s segments, their average ranked too
    turns = [{"raw": a, "sampling_rate": sampling_rate, "text": t} for a, t in zip(audio, text)]
    results = [
        pipe(long_recording, sampling_rate=sampling_rate, transcript=text[0], top_k=top_k),
        *pipe({"dialogue": turns}, top_k=top_k),
    ]
    for part in (part for result in results for part in (result, *result["segments"])):
        scores = [entry["score"] for entry in part["emotions"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == (top_k or 7)


def test_sixty_second_recording_gives_timed_segments(mate, sampling_rate):
    pipe, _ = mate
    rng = np.random.default_rng(0)
    recording = rng.normal(0, 0.1, 60 * sampling_rate + 4000).astype(np.float32)  # 60.25 s: a short tail
    result = pipe(recording, sampling_rate=sampling_rate, transcript="오늘은 날씨가 맑네요")
    assert [(s["start"], s["end"]) for s in result["segments"]] == [(10.0 * i, 10.0 * (i + 1)) for i in range(6)]
    mean = np.mean(
        [[e["score"] for e in sorted(s["emotions"], key=lambda e: e["label"])] for s in result["segments"]], 0
    )
    assert np.allclose(mean, _scores(result), atol=1e-6)


def test_without_transcript_the_audio_only_path_is_used_and_said(mate, make_dialogue, sampling_rate):
    pipe, _ = mate
    audio, text = make_dialogue(1, seed=4)
    alone = pipe(audio[0], sampling_rate=sampling_rate)
    with_text = pipe(audio[0], sampling_rate=sampling_rate, transcript=text[0])
    assert alone["modalities"] == "audio" and alone["segments"][0]["transcript"] is None
    assert np.abs(np.subtract(_scores(alone), _scores(with_text))).max() > 1e-4


def test_dialogue_gives_one_result_per_turn_with_context(mate, make_dialogue, sampling_rate):
    pipe, _ = mate
    audio, text = make_dialogue(4, seed=5)
    turns = [{"raw": a, "sampling_rate": sampling_rate, "text": t} for a, t in zip(audio, text)]
    results = pipe({"dialogue": turns})
    assert len(results) == 4 and all(r["modalities"] == "audio+text" for r in results)
    alone = pipe(turns[3])
    assert np.abs(np.subtract(_scores(results[3]), _scores(alone))).max() > 1e-4  # earlier turns are its context
    assert np.allclose(_scores(results[0]), _scores(pipe(turns[0])), atol=1e-6)


def test_32_files_batched_equal_one_at_a_time(mate, tmp_path):
    pipe, _ = mate
    rng = np.random.default_rng(1)
    paths = []
    for index in range(32):
        rate = [8000, 16000, 22050, 44100][index % 4]
        seconds = rng.uniform(0.5, 12.0)
        samples = (rng.normal(0, 0.1, int(seconds * rate)) * 20000).astype(np.int16)
        soundfile.write(tmp_path / f"{index}.wav", samples, rate)
        paths.append(str(tmp_path / f"{index}.wav"))
    one_by_one = [pipe(path) for path in paths]
    batched = pipe(paths, batch_size=8)
    assert len(batched) == 32
    # Recordings over 10 s go through voice activity (segmentation="auto"), and this noise holds no speech.
    assert {"segments" in result for result in one_by_one} == {True, False}
    for single, batch in zip(one_by_one, batched):
        assert sorted(single) == sorted(batch)
        assert np.allclose(_scores(single), _scores(batch), atol=1e-5)
        parts = "segments" if "segments" in single else "utterances"
        assert [(s["start"], s["end"]) for s in single[parts]] == [(s["start"], s["end"]) for s in batch[parts]]


def test_asr_model_transcribes_when_no_transcript_is_given(mate, make_dialogue, sampling_rate, tmp_path):
    pipe, _ = mate
    vocab = {"<pad>": 0, "|": 1, "<unk>": 2, **{char: i + 3 for i, char in enumerate("정말기뻐요")}}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tokenizer = Wav2Vec2CTCTokenizer(str(tmp_path / "vocab.json"))
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    asr = pipeline(
        "automatic-speech-recognition",
        model=Wav2Vec2ForCTC(config).eval(),
        tokenizer=tokenizer,
        feature_extractor=Wav2Vec2FeatureExtractor(),
    )
    audio, _ = make_dialogue(1, seed=6)
    result = pipe(audio[0], sampling_rate=sampling_rate, asr_model=asr)
    expected = asr({"raw": pipe.feature_extractor.mono_at_model_rate(audio[0], sampling_rate), "sampling_rate": 16000})
    assert result["modalities"] == "audio+text"
    assert result["segments"][0]["transcript"] == expected["text"].strip()


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(0, dtype=np.float32), "empty"),
        ("/nonexistent/file.wav", "does not exist"),
        ({"sampling_rate": 16000}, "needs 'raw'"),
    ],
)
def test_bad_inputs_raise_value_errors(mate, bad, message, sampling_rate):
    pipe, _ = mate
    with pytest.raises(ValueError, match=message):
        pipe(bad, sampling_rate=sampling_rate)


def test_saved_folder_runs_the_pipeline_without_the_package(mate, make_dialogue, sampling_rate, tmp_path):
    pipe, folder = mate
    audio, text = make_dialogue(2, seed=8)
    np.save(tmp_path / "audio.npy", audio[0])
    expected = pipe(audio[0], sampling_rate=sampling_rate, transcript=text[0])
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["mate_hf"] = None
        import numpy as np
        from transformers import pipeline
        pipe = pipeline(model={str(folder)!r}, trust_remote_code=True)
        assert not type(pipe).__module__.startswith("mate_hf")
        result = pipe(np.load({str(tmp_path / "audio.npy")!r}), sampling_rate={sampling_rate}, transcript={text[0]!r})
        print(json.dumps(result))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    remote = json.loads(run.stdout.strip().splitlines()[-1])
    assert np.allclose(_scores(remote), _scores(expected), atol=1e-6)
    assert remote["arousal"] == pytest.approx(expected["arousal"], abs=1e-6)
