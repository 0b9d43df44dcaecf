"""MATE emotion recognition: a Gradio demo, as a Hugging Face Space runs it.

Two tabs: **Utterance** (one recording and its transcript → emotion, arousal, valence) and **Conversation** (one
recording cut into utterances by voice activity, or the turns as separate files with their transcripts → a timeline
plot and a table of the utterances).

The model is a folder written by `mate_hf.save_mate_folder` (weights, config, processor and the
remote code of model and pipeline). It is taken from, in this order: the first command-line
argument, the `MATE_MODEL` environment variable, or `model/` beside this file (what a Space holds).
The Conversation tab's examples are built at start from one dialogue of the demo corpus (`MATE_DEMO_CORPUS`, or
`demo_corpus/KEMDy19` beside this file or above it); without it the tab has no examples.

    python space/app.py path/to/mate-model        # then open http://127.0.0.1:7860
"""

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import soundfile
from matplotlib.figure import Figure
from transformers import pipeline

try:
    from mate_hf.timeline_plot import conversation_utterances, plot_conversation
except ImportError:  # a Space without the mate_hf package: the module copied beside this file (see README.md)
    try:
        from timeline_plot import conversation_utterances, plot_conversation
    except ImportError:
        conversation_utterances = plot_conversation = None

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "model"
TASK = "mate-emotion-recognition"
AUDIO_ONLY_NOTE = (
    "**Audio only**: no transcript was given, so the text embedding is left at zeros (the paper's audio-only path)."
)
# The dialogue of the demo corpus the Conversation examples are made of, and the pause put between its turns.
DEMO_DIALOGUE = "Sess01_script01"
DEMO_PAUSE_S = 0.6
DEMO_CORPUS_PLACES = (HERE / "demo_corpus" / "KEMDy19", HERE.parent / "demo_corpus" / "KEMDy19")
UTTERANCE_COLUMNS = ["#", "start (s)", "end (s)", "transcript", "emotion", "score", "arousal", "valence"]


def load_pipeline(folder: str | os.PathLike):
    """The MATE pipeline of a saved folder: its own remote code when it carries it, else the installed mate_hf."""
    folder = Path(folder)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"no MATE model in {folder} (no config.json): save one with mate_hf.save_mate_folder, then pass its "
            "folder as the first argument or in MATE_MODEL"
        )
    if TASK in json.loads(config_file.read_text(encoding="utf-8")).get("custom_pipelines", {}):
        return pipeline(model=str(folder), trust_remote_code=True)
    try:
        import mate_hf  # noqa: F401  (registers the task)
    except ImportError as error:
        raise RuntimeError(
            f"{folder} holds no pipeline code (it was not saved with mate_hf.save_mate_folder) and mate_hf is not "
            "installed"
        ) from error
    return pipeline(TASK, model=str(folder))


def predict(pipe, audio_path: str | None, transcript: str | None):
    """Gradio handler: (audio file, transcript) → (emotion scores, valence–arousal plot, summary markdown)."""
    if not audio_path:
        raise gr.Error("No audio: upload a recording or record one with the microphone, then press Predict.")
    try:
        info = soundfile.info(audio_path)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise gr.Error(f"Cannot read this audio file ({error}). Use WAV, FLAC, OGG or MP3.") from error
    if info.frames == 0:
        raise gr.Error("The audio is empty: it holds no samples.")
    text = (transcript or "").strip() or None
    try:
        # One utterance: in fixed windows (a long recording without a transcript is not cut at its pauses here).
        result = pipe(audio_path, transcript=text, segmentation="fixed")
    except ValueError as error:
        raise gr.Error(f"Cannot use this audio: {error}") from error
    scores = {entry["label"]: entry["score"] for entry in result["emotions"]}
    return scores, plot_affect(result), summary(result, duration=info.frames / info.samplerate)


def plot_affect(result: dict) -> Figure:
    """The valence–arousal plane (1–5 × 1–5): the recording's point and, for long audio, one per segment."""
    figure = Figure(figsize=(5, 4.6), layout="constrained")
    figure.get_layout_engine().set(h_pad=0.3)  # room above the axes for the label Gradio lays over the plot
    axes = figure.add_subplot()
    axes.axhline(3, color="0.8", lw=1, zorder=0)
    axes.axvline(3, color="0.8", lw=1, zorder=0)
    segments = result["segments"]
    if len(segments) > 1:
        valence = [segment["valence"] for segment in segments]
        arousal = [segment["arousal"] for segment in segments]
        axes.plot(valence, arousal, "-o", color="tab:blue", alpha=0.7, ms=6, zorder=3, label="segments (in order)")
        for number, point in enumerate(zip(valence, arousal), start=1):
            axes.annotate(str(number), point, xytext=(5, 4), textcoords="offset points", fontsize=8, color="tab:blue")
    axes.plot(result["valence"], result["arousal"], "*", color="tab:red", ms=18, zorder=2, label="recording")
    axes.set(
        xlim=(1, 5), ylim=(1, 5), xlabel="valence (1 negative – 5 positive)", ylabel="arousal (1 calm – 5 excited)"
    )
    axes.set_title("valence–arousal plane", fontsize=10)
    axes.set_aspect("equal")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    return figure


def summary(result: dict, duration: float) -> str:
    """Top emotion, arousal, valence, which inputs were used, and a table of the segments with their times."""
    top = result["emotions"][0]
    lines = [
        f"**{top['label']}** ({top['score']:.0%}) · arousal **{result['arousal']:.2f}** · "
        f"valence **{result['valence']:.2f}** · {duration:.1f} s of audio · inputs: {result['modalities']}",
        "",
    ]
    if result["modalities"] == "audio":
        lines += [AUDIO_ONLY_NOTE, ""]
    lines += ["| # | time (s) | emotion | arousal | valence |", "|---|---|---|---|---|"]
    for index, segment in enumerate(result["segments"]):
        emotion = segment["emotions"][0]
        lines.append(
            f"| {index + 1} | {segment['start']:.1f}–{segment['end']:.1f} | {emotion['label']} ({emotion['score']:.0%})"
            f" | {segment['arousal']:.2f} | {segment['valence']:.2f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Conversation tab
# ---------------------------------------------------------------------------------------------------------------


def analyse_conversation(pipe, recording: str | None, turn_files: list[str] | None, transcripts: str | None):
    """Gradio handler: a conversation recording (cut by voice activity) or turn files with one transcript line each
    → (timeline figure, table of the utterances, summary markdown)."""
    if plot_conversation is None:
        raise gr.Error("The timeline needs mate_hf.timeline_plot: install mate-hf, or copy its timeline_plot.py here.")
    turn_files = [str(path) for path in turn_files or []]
    transcripts = transcripts or ""
    if recording and turn_files:
        raise gr.Error("Give either one conversation recording or the turns' files, not both: clear one of them.")
    if recording:
        if transcripts.strip():
            raise gr.Error(
                "Transcripts go with the turns: a recording is cut into utterances by voice activity, and one text "
                "cannot be split among them. Clear the transcripts, or upload the turns as separate files."
            )
        return _analyse_recording(pipe, recording)
    if turn_files:
        return _analyse_turns(pipe, turn_files, transcripts)
    raise gr.Error(
        "No conversation: upload a recording, or the turns' audio files (one per turn), or click an example; then "
        "press Analyse conversation."
    )


def _check_audio(path: str, what: str) -> float:
    """The file's duration (s); a gr.Error naming `what` when it cannot be read or is empty."""
    try:
        info = soundfile.info(path)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise gr.Error(f"Cannot read {what} ({error}). Use WAV, FLAC, OGG or MP3.") from error
    if info.frames == 0:
        raise gr.Error(f"{what.capitalize()} is empty: it holds no samples.")
    return info.frames / info.samplerate


def _analyse_recording(pipe, recording: str):
    duration = _check_audio(recording, "the conversation recording")
    try:
        result = pipe(recording, segmentation="vad")
    except (ValueError, ImportError) as error:  # ImportError: silero-vad missing where the Space runs
        raise gr.Error(f"Cannot use this recording: {error}") from error
    utterances = conversation_utterances(result)
    if "utterances" in result:
        how = f"{len(utterances)} utterances found by voice activity in {duration:.1f} s of audio"
    else:  # a model folder whose pipeline code predates voice activity: its fixed windows
        how = f"{len(utterances)} windows of {duration:.1f} s of audio (this model's pipeline has no voice activity)"
    lines = [f"**Conversation recording**: {how} · inputs: {result['modalities']}", ""]
    if not utterances:
        lines.append("**No speech found**: voice activity found no utterance in this recording.")
    else:
        lines += [_overall(result), ""] + ([AUDIO_ONLY_NOTE] if result["modalities"] == "audio" else [])
    return _timeline(result, utterances), _table(utterances), "\n".join(lines)


def _analyse_turns(pipe, turn_files: list[str], transcripts: str):
    lines = transcripts.split("\n") if transcripts.strip() else []  # line i: turn i's (an empty line: none)
    while len(lines) > len(turn_files) and not lines[-1].strip():
        lines.pop()
    if lines and len(lines) != len(turn_files):
        raise gr.Error(
            f"{len(lines)} transcript lines for {len(turn_files)} turns: give one line per turn, in the turns' order "
            "(an empty line for a turn without one), or none at all."
        )
    texts = [line.strip() or None for line in lines] or [None] * len(turn_files)
    for number, path in enumerate(turn_files, start=1):
        _check_audio(path, f"turn {number} ({Path(path).name})")
    try:
        turns = pipe({"dialogue": [{"path": path, "text": turn_text} for path, turn_text in zip(turn_files, texts)]})
    except ValueError as error:
        raise gr.Error(f"Cannot use these turns: {error}") from error
    utterances = conversation_utterances(turns)
    with_text = sum(turn_text is not None for turn_text in texts)
    lines = [
        f"**{len(turns)} turns**, read in order as one dialogue, laid end to end on the time axis · "
        f"{with_text} of {len(turns)} with a transcript",
        "",
        _overall(_mean_of_turns(turns)),
    ]
    if with_text < len(turns):
        lines += ["", AUDIO_ONLY_NOTE.replace("no transcript was given", "a turn without a transcript")]
    table = _table(utterances, files=[Path(path).name for path in turn_files])
    return _timeline(turns, utterances), table, "\n".join(lines)


def _mean_of_turns(turns: list[dict]) -> dict:
    """The conversation's average emotion scores, arousal and valence over its turns."""
    labels = [entry["label"] for entry in turns[0]["emotions"]]
    scores = {label: np.mean([_score(turn, label) for turn in turns]) for label in labels}
    ranked = sorted(({"label": label, "score": float(score)} for label, score in scores.items()), key=_by_score)
    return {
        "emotions": ranked,
        "arousal": float(np.mean([turn["arousal"] for turn in turns])),
        "valence": float(np.mean([turn["valence"] for turn in turns])),
    }


def _score(result: dict, label: str) -> float:
    return next((entry["score"] for entry in result["emotions"] if entry["label"] == label), 0.0)


def _by_score(entry: dict) -> float:
    return -entry["score"]


def _overall(result: dict) -> str:
    top = result["emotions"][0]
    return (
        f"Over the conversation: **{top['label']}** ({top['score']:.0%}) · arousal **{result['arousal']:.2f}** · "
        f"valence **{result['valence']:.2f}**"
    )


def _timeline(result, utterances: list[dict]) -> Figure:
    """plot_conversation's figure, with room above for the label Gradio lays over the plot."""
    kind = "turns" if isinstance(result, list) else "utterances"
    title = f"{len(utterances)} {kind}, {utterances[-1]['end']:.1f} s" if utterances else "no speech found"
    figure = plot_conversation(result, title=title)
    figure.get_layout_engine().set(h_pad=0.2)
    return figure


def _table(utterances: list[dict], files: list[str] | None = None) -> pd.DataFrame:
    """One row per utterance (with the turn's file name for turns)."""
    rows = []
    for number, utterance in enumerate(utterances, start=1):
        top = utterance["emotions"][0]
        rows.append(
            [
                number,
                round(utterance["start"], 2),
                round(utterance["end"], 2),
                utterance["transcript"] or "",
                top["label"],
                round(top["score"], 3),
                round(utterance["arousal"], 2),
                round(utterance["valence"], 2),
            ]
        )
    table = pd.DataFrame(rows, columns=UTTERANCE_COLUMNS)
    if files is not None:
        table.insert(3, "turn file", files[: len(table)])
    return table


def demo_corpus() -> Path | None:
    """The demo corpus' KEMDy19 folder: `MATE_DEMO_CORPUS`, else `demo_corpus/KEMDy19` beside or above this file."""
    places = [Path(os.environ["MATE_DEMO_CORPUS"])] if os.environ.get("MATE_DEMO_CORPUS") else []
    return next((place for place in [*places, *DEMO_CORPUS_PLACES] if (place / "wav").is_dir()), None)


def build_conversation_examples(corpus: Path | None, folder: str | os.PathLike | None = None):
    """The Conversation tab's examples, from the demo dialogue `DEMO_DIALOGUE`'s turns (in turn order): written into
    `folder` (default: a new temporary folder, which Gradio may serve) as one recording, the turns with a
    `DEMO_PAUSE_S` pause before, between and after them, and as numbered copies of the turn files with their
    transcripts. Returns `(examples, labels)` for gr.Examples over (recording, turns, transcripts), or `([], [])`
    without the corpus."""
    if corpus is None:
        return [], []
    session = f"Session{DEMO_DIALOGUE[4:6]}"
    wavs = sorted((corpus / "wav" / session / DEMO_DIALOGUE).glob("*.wav"), key=_turn_number)
    if not wavs:
        return [], []
    folder = Path(folder or tempfile.mkdtemp(prefix="mate-space-examples-"))
    (folder / "turns").mkdir(parents=True, exist_ok=True)
    pieces, rate, turn_files, texts = [], None, [], []
    for number, wav in enumerate(wavs, start=1):
        samples, turn_rate = soundfile.read(wav, dtype="float32", always_2d=True)
        samples = samples.mean(axis=1)
        rate = rate or turn_rate
        if turn_rate != rate:  # the corpus is recorded at one rate; a linear resampling is enough for an example
            positions = np.arange(round(len(samples) * rate / turn_rate)) * turn_rate / rate
            samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
        pause = np.zeros(round(DEMO_PAUSE_S * rate), np.float32)
        pieces += [pause, samples]
        turn_file = folder / "turns" / f"{number:02d}_{wav.name}"
        soundfile.write(turn_file, samples, rate)
        turn_files.append(str(turn_file))
        texts.append(_read_transcript(wav.with_suffix(".txt")))
    recording = folder / f"{DEMO_DIALOGUE}_conversation.wav"
    soundfile.write(recording, np.concatenate([*pieces, pause]), rate)
    examples = [[str(recording), None, ""], [None, turn_files, "\n".join(texts)]]
    labels = [f"one recording ({len(wavs)} turns)", f"{len(wavs)} turn files + transcripts"]
    return examples, labels


def _turn_number(path: Path) -> int:
    """`Sess01_script01_M003.wav` → 3: turns alternate between the two actors' files."""
    match = re.search(r"(\d+)$", path.stem)
    return int(match.group(1)) if match else 0


def _read_transcript(path: Path) -> str:
    if not path.is_file():
        return ""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp949", errors="replace")  # some of the corpus' transcripts are cp949
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------------


def build_demo(pipe, examples_folder: str | os.PathLike | None = None) -> gr.Blocks:
    """The app's page around a loaded MATE pipeline: the Utterance and Conversation tabs. The Conversation
    examples are written into `examples_folder` (default: a new temporary folder)."""
    window = pipe.feature_extractor.num_samples / pipe.feature_extractor.sampling_rate
    labels = ", ".join(pipe.model.config.id2label[index] for index in sorted(pipe.model.config.id2label))
    examples, example_labels = build_conversation_examples(demo_corpus(), examples_folder)
    with gr.Blocks(title="MATE emotion recognition") as demo:
        gr.Markdown(
            "# MATE: emotion recognition from speech and text\n"
            f"MATE predicts the emotion ({labels}) and arousal and valence on a 1–5 scale of each utterance of a "
            "Korean conversation, reading the utterances in context. **Utterance**: one recording and, optionally, "
            f"its transcript (audio longer than {window:g} s is read as consecutive segments). **Conversation**: a "
            "recording of a whole conversation, cut into utterances at its pauses, or its turns as separate files."
        )
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Utterance", id="utterance", elem_id="utterance-tab"), gr.Row():
                with gr.Column():
                    audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio", elem_id="audio")
                    transcript = gr.Textbox(
                        label="Transcript (optional)",
                        placeholder="예: 오늘 정말 기분이 좋아요",
                        elem_id="transcript",
                    )
                    button = gr.Button("Predict", variant="primary", elem_id="predict")
                    details = gr.Markdown(elem_id="details")
                with gr.Column():
                    emotions = gr.Label(
                        num_top_classes=len(pipe.model.config.id2label), label="Emotion", elem_id="emotion"
                    )
                    affect = gr.Plot(label="Arousal and valence", elem_id="affect")
            with gr.Tab("Conversation", id="conversation", elem_id="conversation-tab"):
                with gr.Row():
                    with gr.Column(scale=2):
                        recording = gr.Audio(
                            sources=["upload", "microphone"],
                            type="filepath",
                            label="Conversation recording: cut into utterances at its pauses (voice activity)",
                            elem_id="conversation-audio",
                        )
                        gr.Markdown("**or** the turns, one audio file per turn:")
                        turns = gr.File(
                            file_count="multiple",
                            file_types=["audio"],
                            type="filepath",
                            allow_reordering=True,
                            label="Turns: read in the order listed (drag to reorder)",
                            height=280,
                            elem_id="turns",
                        )
                        turn_transcripts = gr.Textbox(
                            lines=4,
                            label="Transcripts of the turns (optional): one line per turn",
                            placeholder="안녕하세요\n반가워요",
                            elem_id="turn-transcripts",
                        )
                        analyse = gr.Button("Analyse conversation", variant="primary", elem_id="analyse")
                        if examples:
                            gr.Examples(
                                examples,
                                inputs=[recording, turns, turn_transcripts],
                                example_labels=example_labels,
                                label=f"Examples: dialogue {DEMO_DIALOGUE} of the synthetic demo corpus",
                                elem_id="conversation-examples",
                            )
                    with gr.Column(scale=3):
                        timeline = gr.Plot(label="Timeline", elem_id="timeline")
                        conversation_details = gr.Markdown(elem_id="conversation-details")
                utterances = gr.Dataframe(
                    headers=UTTERANCE_COLUMNS,
                    label="Utterances",
                    interactive=False,
                    wrap=True,
                    elem_id="utterances",
                )

        def predict_emotion(audio_path, text):
            return predict(pipe, audio_path, text)

        def conversation(recording_path, turn_paths, texts):
            return analyse_conversation(pipe, recording_path, turn_paths, texts)

        button.click(
            predict_emotion, inputs=[audio, transcript], outputs=[emotions, affect, details], api_name="predict"
        )
        analyse.click(
            conversation,
            inputs=[recording, turns, turn_transcripts],
            outputs=[timeline, utterances, conversation_details],
            api_name="conversation",
        )
    return demo


if __name__ == "__main__":
    model_folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MATE_MODEL", DEFAULT_MODEL)
    build_demo(load_pipeline(model_folder)).launch()
