"""MATE emotion recognition: a Gradio demo, as a Hugging Face Space runs it.

The model is a folder written by `mate_hf.save_mate_folder` (weights, config, processor and the
remote code of model and pipeline). It is taken from, in this order: the first command-line
argument, the `MATE_MODEL` environment variable, or `model/` beside this file (what a Space holds).

    python space/app.py path/to/mate-model        # then open http://127.0.0.1:7860
"""

import json
import os
import sys
from pathlib import Path

import gradio as gr
import soundfile
from matplotlib.figure import Figure
from transformers import pipeline

DEFAULT_MODEL = Path(__file__).resolve().parent / "model"
TASK = "mate-emotion-recognition"
AUDIO_ONLY_NOTE = (
    "**Audio only**: no transcript was given, so the text embedding is left at zeros (the paper's audio-only path)."
)


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
        result = pipe(audio_path, transcript=text)
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


def build_demo(pipe) -> gr.Blocks:
    """The app's page around a loaded MATE pipeline."""
    window = pipe.feature_extractor.num_samples / pipe.feature_extractor.sampling_rate
    labels = ", ".join(pipe.model.config.id2label[index] for index in sorted(pipe.model.config.id2label))
    with gr.Blocks(title="MATE emotion recognition") as demo:
        gr.Markdown(
            "# MATE: emotion recognition from speech and text\n"
            f"Upload or record an utterance and, optionally, type its Korean transcript. MATE predicts the "
            f"emotion ({labels}) and arousal and valence on a 1–5 scale. Audio longer than {window:g} s is read "
            "as consecutive segments."
        )
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio", elem_id="audio")
                transcript = gr.Textbox(
                    label="Transcript (optional)", placeholder="예: 오늘 정말 기분이 좋아요", elem_id="transcript"
                )
                button = gr.Button("Predict", variant="primary", elem_id="predict")
                details = gr.Markdown(elem_id="details")
            with gr.Column():
                emotions = gr.Label(num_top_classes=len(pipe.model.config.id2label), label="Emotion", elem_id="emotion")
                affect = gr.Plot(label="Arousal and valence", elem_id="affect")

        def predict_emotion(audio_path, text):
            return predict(pipe, audio_path, text)

        button.click(
            predict_emotion, inputs=[audio, transcript], outputs=[emotions, affect, details], api_name="predict"
        )
    return demo


if __name__ == "__main__":
    model_folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MATE_MODEL", DEFAULT_MODEL)
    build_demo(load_pipeline(model_folder)).launch()
