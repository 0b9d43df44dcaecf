"""`mate_hf.timeline_plot`: a conversation's timeline (stacked emotion bars, arousal and valence lines) from a
VAD-segmented recording's result, a dialogue's turn results, or one recording's segments."""

import numpy as np
import pytest
from transformers import pipeline

from mate_hf import EMOTION_LABELS, TASK
from mate_hf.timeline_plot import EMOTION_COLOURS, conversation_utterances, default_title, plot_conversation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def ranked(rng, top_k=None) -> list[dict]:
    """Seven random probabilities as the pipeline ranks them, best first (the `top_k` best)."""
    probs = rng.dirichlet(np.ones(len(EMOTION_LABELS)))
    entries = [{"label": label, "score": float(score)} for label, score in zip(EMOTION_LABELS, probs)]
    return sorted(entries, key=lambda entry: -entry["score"])[:top_k]


def vad_result(spans: list[tuple[float, float]], seed: int = 0, top_k=None) -> dict:
    """A VAD-segmented recording's result in the pipeline's format, with utterances at `spans` (seconds)."""
    rng = np.random.default_rng(seed)
    utterances = [
        {
            "start": start,
            "end": end,
            "transcript": f"말 {index}",
            "emotions": ranked(rng, top_k),
            "arousal": float(rng.uniform(1, 5)),
            "valence": float(rng.uniform(1, 5)),
        }
        for index, (start, end) in enumerate(spans)
    ]
    overall = {"emotions": ranked(rng, top_k), "arousal": 3.2, "valence": 2.7} if spans else {}
    return {
        "emotions": [],
        "arousal": None,
        "valence": None,
        **overall,
        "modalities": "audio+text",
        "segmentation": "vad",
        "utterances": utterances,
    }


def turn_result(lengths: list[float], rng) -> dict:
    """One turn's result read in fixed windows: segments of `lengths` seconds, one after another from 0."""
    bounds = np.concatenate([[0.0], np.cumsum(lengths)])
    segments = [
        {
            "start": float(start),
            "end": float(end),
            "transcript": "안녕하세요",
            "emotions": ranked(rng),
            "arousal": 2.0,
            "valence": 4.0,
        }
        for start, end in zip(bounds[:-1], bounds[1:])
    ]
    return {"emotions": ranked(rng), "arousal": 2.5, "valence": 3.5, "modalities": "audio+text", "segments": segments}


def bars(figure) -> list[list[tuple[float, float, float, float]]]:
    """(x, width, bottom, height) of the emotion panel's bars, one list per emotion label (its `BarContainer`)."""
    emotions_axes = figure.axes[0]
    return [
        [(bar.get_x(), bar.get_width(), bar.get_y(), bar.get_height()) for bar in c] for c in emotions_axes.containers
    ]


def affect_line(figure, key: str):
    (line,) = [line for line in figure.axes[1].lines if line.get_label() == key]
    return line.get_xdata(), line.get_ydata()


def test_a_vad_result_draws_a_stacked_bar_per_utterance_at_its_times(tmp_path):
    spans = [(0.4, 1.5), (2.0, 2.9), (3.6, 6.2), (7.0, 7.8)]
    result = vad_result(spans)
    path = tmp_path / "timeline.png"
    figure = plot_conversation(result, path=path)

    containers = bars(figure)
    assert len(containers) == 7 and all(len(container) == len(spans) for container in containers)
    assert [label.get_text() for label in figure.axes[0].get_legend().get_texts()] == list(EMOTION_LABELS)[::-1]
    for index, ((start, end), utterance) in enumerate(zip(spans, result["utterances"])):
        stack = [container[index] for container in containers]
        assert all(x == pytest.approx(start) and width == pytest.approx(end - start) for x, width, _, _ in stack)
        scores = {entry["label"]: entry["score"] for entry in utterance["emotions"]}
        assert [height for *_, height in stack] == pytest.approx([scores[label] for label in EMOTION_LABELS])
        assert stack[-1][2] + stack[-1][3] == pytest.approx(1.0)  # stacked up to 1
    for key in ("arousal", "valence"):
        x, y = affect_line(figure, key)
        assert list(x) == pytest.approx([(start + end) / 2 for start, end in spans])
        assert list(y) == pytest.approx([utterance[key] for utterance in result["utterances"]])
    assert figure.axes[1].get_xlabel() == "time in the recording (s)"
    assert figure.axes[1].get_ylim() == (0.8, 5.2)
    assert "4 utterances, 7.8 s" in figure.get_suptitle() and "arousal 3.20" in figure.get_suptitle()
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 10_000


def test_a_dialogues_turns_are_laid_end_to_end():
    rng = np.random.default_rng(1)
    turns = [turn_result([1.2], rng), turn_result([2.0, 1.5], rng), turn_result([0.8], rng)]
    figure = plot_conversation(turns, title="three turns")

    containers = bars(figure)
    assert len(containers) == 7 and all(len(container) == 3 for container in containers)
    assert [value for x, width, _, _ in containers[0] for value in (x, width)] == pytest.approx(
        [0, 1.2, 1.2, 3.5, 4.7, 0.8]
    )
    x, y = affect_line(figure, "arousal")
    assert list(x) == pytest.approx([0.6, 2.95, 5.1]) and list(y) == [2.5, 2.5, 2.5]  # the turns' own values
    assert figure.get_suptitle() == "three turns"
    assert figure.axes[1].get_xlabel() == "time (s): turns end to end, in order"
    utterances = conversation_utterances(turns)
    assert [utterance["turn"] for utterance in utterances] == [0, 1, 2]
    assert utterances[1]["transcript"] == "안녕하세요" and default_title(turns) == "3 turns, 5.5 s"


def test_one_recordings_segments_a_ranking_cut_to_top_k_and_a_recording_without_speech(tmp_path):
    rng = np.random.default_rng(2)
    figure = plot_conversation(turn_result([2.0, 2.0, 1.1], rng))
    assert [len(container) for container in bars(figure)] == [3] * 7
    assert figure.get_suptitle().startswith("3 segments, 5.1 s")

    cut = vad_result([(0.0, 1.0), (1.5, 2.5)], top_k=2)
    tops = bars(plot_conversation(cut))
    heights = np.array([[height for *_, height in container] for container in tops])
    assert (np.count_nonzero(heights, axis=0) == 2).all()  # two emotions per bar; the rest of it stays blank

    path = tmp_path / "silence.png"
    silent = plot_conversation(vad_result([]), path=path)
    assert [len(container) for container in bars(silent)] == [0] * 7
    assert silent.get_suptitle() == "no speech found"
    assert any(text.get_text() == "no speech found" for text in silent.axes[0].texts)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_the_colours_follow_mates_labels_and_other_input_is_refused():
    assert tuple(EMOTION_COLOURS) == EMOTION_LABELS  # the module carries its own copy, to travel with a Space
    with pytest.raises(ValueError, match="expected a pipeline result"):
        plot_conversation({"emotions": []})
    with pytest.raises(ValueError, match="turn 1"):
        conversation_utterances([turn_result([1.0], np.random.default_rng(0)), {"label": "happy"}])


def test_a_pipelines_dialogue_result_plots(build_tiny_mate, make_dialogue, sampling_rate):
    model, processor = build_tiny_mate(max_duration=2.0)
    recognizer = pipeline(TASK, model=model, processor=processor)
    audio, texts = make_dialogue(5, seed=3)
    turns = recognizer(
        {"dialogue": [{"raw": a, "sampling_rate": sampling_rate, "text": t} for a, t in zip(audio, texts)]}
    )
    figure = plot_conversation(turns)
    assert [len(container) for container in bars(figure)] == [5] * 7
    ends = [x + width for x, width, _, _ in bars(figure)[0]]
    assert ends[-1] == pytest.approx(sum(len(a) / sampling_rate for a in audio), abs=5e-3)  # turns under 2 s: whole
    assert [utterance["transcript"] for utterance in conversation_utterances(turns)] == texts
