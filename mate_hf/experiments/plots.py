"""The plots of an experiment report (PNG, matplotlib's Agg backend without pyplot's global state): the top-k
confusion matrix, predicted against gold arousal and valence, and the learning curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..configuration_mate import EMOTION_LABELS
from ..metrics import load_metric
from ..results import format_value

LOSS_CURVES = (
    ("loss", "total loss"),
    ("loss_emotion", "emotion term (KL or class-balanced BCE)"),
    ("loss_arousal", "arousal term (MSE)"),
    ("loss_valence", "valence term (MSE)"),
)


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg (PNG) backend, without pyplot's global state
    return figure


def read_predictions(folder: Path) -> dict[str, np.ndarray]:
    """A run's `eval_predictions.jsonl` as arrays (emotion columns in `EMOTION_LABELS` order)."""
    records = [json.loads(line) for line in (folder / "eval_predictions.jsonl").read_text("utf-8").splitlines() if line]
    return {
        "emotion_probs": np.array([[r["emotion_probs"][label] for label in EMOTION_LABELS] for r in records]),
        "majority": np.array([[float(label in r["gold_majority"]) for label in EMOTION_LABELS] for r in records]),
        "arousal": np.array([r["arousal"] for r in records]),
        "valence": np.array([r["valence"] for r in records]),
        "gold_arousal": np.array([r["gold_arousal"] for r in records]),
        "gold_valence": np.array([r["gold_valence"] for r in records]),
    }


def plot_confusion_matrix(counts: np.ndarray, title: str, path: Path) -> None:
    """Row-normalised confusion matrix, rows gold and columns predicted, each cell's share written in it."""
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    figure = _new_figure(7.5, 6.2)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(EMOTION_LABELS)), EMOTION_LABELS, rotation=40, ha="right")
    axes.set_yticks(range(len(EMOTION_LABELS)), [f"{e} ({int(n)})" for e, n in zip(EMOTION_LABELS, totals[:, 0])])
    for row in range(shares.shape[0]):
        for column in range(shares.shape[1]):
            share = shares[row, column]
            colour = "white" if share > 0.55 else "black"
            axes.text(column, row, f"{share:.2f}", ha="center", va="center", color=colour, fontsize=8)
    axes.set_xlabel("predicted emotion (top-k, k = number of gold labels)")
    axes.set_ylabel("gold emotion (majority; row count)")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, label="share of the row", shrink=0.8)
    figure.savefig(path, dpi=110)


def plot_arousal_valence(predictions: list[tuple[str, dict]], summary: dict, title: str, path: Path) -> None:
    """Predicted against gold arousal and valence, one colour per run, the y = x line, pooled CCC in the title."""
    ccc = load_metric("ccc")
    figure = _new_figure(10.0, 4.8)
    for axes, dimension in zip(figure.subplots(1, 2), ("arousal", "valence")):
        for split, arrays in predictions:
            axes.scatter(arrays[f"gold_{dimension}"], arrays[dimension], s=12, alpha=0.6, label=split)
        gold = np.concatenate([arrays[f"gold_{dimension}"] for _, arrays in predictions])
        predicted = np.concatenate([arrays[dimension] for _, arrays in predictions])
        pooled = ccc.compute(predictions=predicted, references=gold)["ccc"]
        axes.plot([1, 5], [1, 5], color="grey", linestyle="--", linewidth=1, label="y = x")
        axes.set_xlim(0.9, 5.1)
        axes.set_ylim(0.9, 5.1)
        axes.set_aspect("equal")
        axes.set_xlabel(f"gold {dimension} (mean of evaluators)")
        axes.set_ylabel(f"predicted {dimension}")
        key = f"eval_ccc_{dimension}"
        heading = f"{dimension}: CCC {pooled:.3f} (all {gold.size} utterances pooled)"
        if summary["num_runs"] > 1 and key in summary["mean"]:
            heading += f"\nper-fold mean {format_value(summary['mean'][key], summary['std'][key])}"
        axes.set_title(heading, fontsize=10)
        axes.legend(fontsize=7, loc="upper left")
    figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)


def plot_learning_curves(histories: list[tuple[str, list[dict]]], title: str, path: Path) -> None:
    """Training loss and its emotion/arousal/valence parts against the epoch, one line per run."""
    figure = _new_figure(10.0, 7.0)
    for axes, (key, heading) in zip(figure.subplots(2, 2).ravel(), LOSS_CURVES):
        for split, history in histories:
            points = [(entry["epoch"], entry[key]) for entry in history if key in entry and "epoch" in entry]
            if points:
                epochs, values = zip(*points)
                axes.plot(epochs, values, marker="o" if len(points) < 15 else None, markersize=3, label=split)
        axes.set_title(heading, fontsize=10)
        axes.set_xlabel("epoch")
        axes.set_ylabel("training loss")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)
