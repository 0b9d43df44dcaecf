"""A conversation's timeline as a picture: the emotion probabilities, arousal and valence of every utterance over time.

    from mate_hf.timeline_plot import plot_conversation
    figure = plot_conversation(pipe("talk.wav", segmentation="vad"), path="talk.png")

The top panel stacks the seven emotion probabilities of each utterance in a bar that spans the utterance's start to
end (silences stay blank; the utterance's number is written above its bar); the bottom panel draws arousal and
valence (1–5) at each utterance's midpoint, joined in order, with a thin line across the utterance's span. The x axis
is seconds from the start of the conversation.

What it reads (`conversation_utterances`):

- a VAD-segmented recording, `{"utterances": [{"start", "end", "emotions", "arousal", "valence", ...}, ...], ...}`:
  the utterances at their times in the recording;
- a dialogue of turns, the list `pipe({"dialogue": [...]})` returns: a turn's times are relative to the turn, so the
  turns are laid end to end in their order, each as long as its segments (what the model read: a tail under 1 s of a
  long turn is not counted) — "seconds of speech", not the times of a recording;
- one recording's result, `{"segments": [...], ...}`: its segments (the model's windows) at their times.

This module imports nothing from mate_hf, so a Space can carry it beside its app.py. matplotlib (`pip install
mate-hf[plot]`) is imported when a plot is drawn; it draws on a Figure with the Agg canvas, without pyplot's global
state.
"""

from __future__ import annotations

import os
from typing import Any

# The order of MATE's emotions (mate_hf.configuration_mate.EMOTION_LABELS), bottom to top of a bar, with a colour
# each; labels a model has beyond these come after them, in grey shades.
EMOTION_COLOURS = {
    "disgust": "#6b8e23",
    "angry": "#d62728",
    "sad": "#1f77b4",
    "fear": "#9467bd",
    "surprise": "#ff7f0e",
    "neutral": "#a8a8a8",
    "happy": "#f2c80f",
}
AROUSAL_COLOUR, VALENCE_COLOUR = "#c0392b", "#2471a3"
NUMBERED_UTTERANCES = 40  # up to this many bars carry their utterance's number
INSTALL_HINT = "pip install mate-hf[plot]"


def conversation_utterances(result: dict | list[dict]) -> list[dict[str, Any]]:
    """The utterances of a pipeline result on one time axis: dicts with `start`, `end` (seconds), `transcript`,
    `emotions` (ranked `{"label", "score"}`), `arousal` and `valence` (and `turn`, the turn's index, for a dialogue).

    Accepts a VAD-segmented recording's result (its `utterances`), a dialogue's list of turn results (turns laid end
    to end, see the module's docstring) and one recording's result (its `segments`).

    Raises:
        ValueError: none of these shapes.
    """
    if isinstance(result, dict) and "utterances" in result:
        return [_utterance(entry, entry["start"], entry["end"]) for entry in result["utterances"]]
    if isinstance(result, list):
        utterances, offset = [], 0.0
        for index, turn in enumerate(result):
            if not isinstance(turn, dict) or "emotions" not in turn:
                raise ValueError(f"turn {index} of the dialogue is not a pipeline result: {turn!r:.80}")
            segments = turn.get("segments") or []
            length = (segments[-1]["end"] - segments[0]["start"]) if segments else 0.0
            texts = [segment.get("transcript") for segment in segments if segment.get("transcript") is not None]
            transcript = (texts[0] if len(set(texts)) == 1 else " ".join(texts)) if texts else None
            entry = _utterance({**turn, "transcript": transcript}, offset, offset + length)
            utterances.append({**entry, "turn": index})
            offset += length
        return utterances
    if isinstance(result, dict) and "segments" in result:
        return [_utterance(segment, segment["start"], segment["end"]) for segment in result["segments"]]
    raise ValueError(
        "expected a pipeline result: a dict with 'utterances' (a VAD-segmented recording) or 'segments' (one "
        f"recording), or a list of turn results (a dialogue); got {type(result).__name__}"
    )


def _utterance(entry: dict, start: float, end: float) -> dict[str, Any]:
    return {
        "start": float(start),
        "end": float(end),
        "transcript": entry.get("transcript"),
        "emotions": entry["emotions"],
        "arousal": entry["arousal"],
        "valence": entry["valence"],
    }


def emotion_order(utterances: list[dict]) -> list[str]:
    """The labels to stack, MATE's seven in their order, then any other label the results carry."""
    seen = {entry["label"] for utterance in utterances for entry in utterance["emotions"]}
    return [label for label in EMOTION_COLOURS if label in seen or not seen] + sorted(seen - set(EMOTION_COLOURS))


def plot_conversation(result: dict | list[dict], path: str | os.PathLike | None = None, title: str | None = None):
    """The timeline of a conversation (see the module's docstring) as a `matplotlib.figure.Figure`; saved as a PNG
    at `path` when one is given. `title` replaces the default heading (utterances, length, mean emotion).

    A result ranked with `top_k` lists fewer than seven emotions: the bars then show those, and the rest of each bar
    stays blank. A recording without speech (`"utterances": []`) gives empty panels that say so.

    Raises:
        ImportError: matplotlib is not installed (`pip install mate-hf[plot]`).
        ValueError: `result` is not a pipeline result of a shape `conversation_utterances` reads.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"plotting a conversation needs matplotlib: {INSTALL_HINT}") from error

    utterances = conversation_utterances(result)
    labels = emotion_order(utterances)
    end = max((utterance["end"] for utterance in utterances), default=0.0)
    figure = Figure(figsize=(min(16.0, 9.0 + 0.12 * len(utterances)), 6.4), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg (PNG) canvas, without pyplot's global state
    emotions_axes, affect_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))

    _draw_emotions(emotions_axes, utterances, labels)
    _draw_affect(affect_axes, utterances)
    affect_axes.set_xlim(0, max(end, 1.0) * 1.01)
    affect_axes.set_xlabel(_time_axis_label(result))
    if not utterances:
        for axes in (emotions_axes, affect_axes):
            axes.text(0.5, 0.5, "no speech found", transform=axes.transAxes, ha="center", va="center", color="0.4")
    figure.suptitle(title if title is not None else default_title(result), fontsize=11)
    if path is not None:
        figure.savefig(os.fspath(path), dpi=110)
    return figure


def _draw_emotions(axes, utterances: list[dict], labels: list[str]) -> None:
    """One stacked bar per utterance: a `BarContainer` per emotion label, holding one bar per utterance."""
    starts = [utterance["start"] for utterance in utterances]
    widths = [utterance["end"] - utterance["start"] for utterance in utterances]
    bottoms = [0.0] * len(utterances)
    from matplotlib.patches import Patch

    greys = iter(f"{shade:.2f}" for shade in (0.3, 0.45, 0.6, 0.75, 0.85) * 4)
    colours = [(label, EMOTION_COLOURS.get(label) or next(greys)) for label in labels]
    for label, colour in colours:
        heights = [_score(utterance, label) for utterance in utterances]
        axes.bar(
            starts, heights, width=widths, bottom=bottoms, align="edge", color=colour, edgecolor="white", lw=0.6,
            label=label,
        )  # fmt: skip
        bottoms = [bottom + height for bottom, height in zip(bottoms, heights)]
    if len(utterances) <= NUMBERED_UTTERANCES:
        for number, utterance in enumerate(utterances, start=1):
            middle = (utterance["start"] + utterance["end"]) / 2
            axes.text(middle, 1.015, str(number), ha="center", va="bottom", fontsize=7, color="0.3")
    axes.set_ylim(0, 1.08)
    axes.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    axes.set_ylabel("emotion probability")
    axes.set_title("emotions per utterance (numbered in order)", fontsize=10, loc="left")
    # Top to bottom in the legend as in the bars; patches of the bars' colours, also when there are no bars.
    handles = [Patch(facecolor=colour, label=label) for label, colour in reversed(colours)]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _score(utterance: dict, label: str) -> float:
    return next((float(entry["score"]) for entry in utterance["emotions"] if entry["label"] == label), 0.0)


def _draw_affect(axes, utterances: list[dict]) -> None:
    """Arousal and valence: a marked line through the utterances' midpoints (one point each), and a thin line across
    each utterance's span."""
    middles = [(utterance["start"] + utterance["end"]) / 2 for utterance in utterances]
    axes.axhline(3, color="0.85", lw=1, zorder=0)
    for key, colour, marker in (("arousal", AROUSAL_COLOUR, "o"), ("valence", VALENCE_COLOUR, "s")):
        values = [utterance[key] for utterance in utterances]
        axes.plot(middles, values, marker=marker, ms=5, lw=1.2, color=colour, label=key)
        starts = [utterance["start"] for utterance in utterances]
        ends = [utterance["end"] for utterance in utterances]
        axes.hlines(values, starts, ends, colors=colour, lw=2.5, alpha=0.35)
    axes.set_ylim(0.8, 5.2)
    axes.set_yticks([1, 2, 3, 4, 5])
    axes.set_ylabel("1 low – 5 high")
    axes.set_title("arousal (calm → excited) and valence (negative → positive)", fontsize=10, loc="left")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _time_axis_label(result) -> str:
    if isinstance(result, list):
        return "time (s): turns end to end, in order"
    return "time in the recording (s)"


def default_title(result: dict | list[dict]) -> str:
    """The plot's heading: how many utterances (turns, segments) over how many seconds, and the overall emotion,
    arousal and valence when the result has them; "no speech found" for none."""
    utterances = conversation_utterances(result)
    if not utterances:
        return "no speech found"
    kind = "turns" if isinstance(result, list) else "utterances" if "utterances" in result else "segments"
    heading = f"{len(utterances)} {kind}, {utterances[-1]['end']:.1f} s"
    emotions = result.get("emotions") if isinstance(result, dict) else None
    if emotions:
        heading += f" · overall {emotions[0]['label']} ({emotions[0]['score']:.0%})"
    if isinstance(result, dict) and result.get("arousal") is not None:
        heading += f", arousal {result['arousal']:.2f}, valence {result['valence']:.2f}"
    return heading
