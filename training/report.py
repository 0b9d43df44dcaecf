#!/usr/bin/env python
"""Tables and plots of a finished experiment, made from its run folders alone.

    python training/report.py outputs/experiments/demo_modalities

A run folder is any `<dir>/<setting>/<split>/` holding `eval_results.json` (written by `training/run.py`);
`cross_validate.py` adds `cv_run.json` to each and `<dir>/experiment.json` (setting order, mode, the sweep's
selection metric), but neither is required. Writes into `<dir>`:

- `results.json`: every run's metrics, and per setting the mean and the sample standard deviation over its runs
  (folds), the top-k confusion matrix summed over folds and the plot paths;
- `results.md`: the paper's table (SPEC §6: `| setting | precision@1 | recall@1 | F1@1 | CCC(A) | CCC(V) |`, the
  per-batch-of-64 values as published, `0.xxx`, or `0.xxx ± 0.xxx` over folds), the same metric over the whole
  evaluation set at k = 1 and 2, the top-k confusion-matrix metric, the standard metrics, the published rows for
  reference, one row per run;
- per setting, `<dir>/<setting>/confusion_matrix.png` (top-k, summed over folds, row-normalised),
  `arousal_valence.png` (predicted against gold, y = x, CCC) and `learning_curves.png` (training loss and its
  parts from each run's `trainer_state.json`, one line per fold).
"""

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mate_hf.configuration_mate import EMOTION_LABELS
from mate_hf.metrics import confusion_matrices, load_metric

# The columns of the published table (SPEC §6), filled with the per-batch-of-64 values: what the authors published.
PAPER_COLUMNS = (
    ("precision@1", "eval_precision_at_1_batch64"),
    ("recall@1", "eval_recall_at_1_batch64"),
    ("F1@1", "eval_f1_at_1_batch64"),
    ("CCC(A)", "eval_ccc_arousal"),
    ("CCC(V)", "eval_ccc_valence"),
)
WHOLE_SET_COLUMNS = (
    ("precision@1", "eval_precision_at_1"),
    ("recall@1", "eval_recall_at_1"),
    ("F1@1", "eval_f1_at_1"),
    ("precision@2", "eval_precision_at_2"),
    ("recall@2", "eval_recall_at_2"),
    ("F1@2", "eval_f1_at_2"),
)
TOPK_CONFUSION_COLUMNS = (
    ("macro precision", "eval_topk_confusion_precision"),
    ("macro recall", "eval_topk_confusion_recall"),
    ("F1", "eval_topk_confusion_f1"),
)
STANDARD_COLUMNS = (("Accuracy", "eval_accuracy"), ("Macro-F1", "eval_macro_f1"), ("Weighted-F1", "eval_weighted_f1"))
# SPEC §6, the authors' KEMDy19 results, cell for cell (precision@1 >= recall@1 in every row).
PUBLISHED_HEADER = ("setting (KEMDy19)", "precision@1", "recall@1", "F1@1", "CCC(A)", "CCC(V)")
PUBLISHED_ROWS = (
    ("Speaker, audio+text, λ=0.75, sessions 13–16", "0.759", "0.731", "0.744", "0.791", "0.869"),
    ("Speaker, audio only, λ=0.66", "0.489", "0.466", "0.477", "0.540", "0.588"),
    ("Speaker, text only, λ=0.66", "0.738", "0.710", "0.723", "0.702", "0.868"),
    ("Speaker, 5-fold mean (λ=0.75)", "0.728", "0.702", "0.714 ± 0.020", "0.778 ± 0.015", "0.848 ± 0.023"),
    ("Listener, 5-fold mean (CB, λ=0.9, β=0.9)", "0.694", "0.668", "0.680 ± 0.045", "0.711 ± 0.050", "0.833 ± 0.038"),
    ("Speaker without emotion concat (λ=0.66)", "0.719", "0.690", "0.704", "0.751", "0.827"),
    ("Speaker, bidirectional LSTM", "—", "—", "0.740", "0.784", "0.884"),
)
# λ and β are chosen by F1@1, and the published F1@1 is the per-batch one.
DEFAULT_SELECT_BY = "f1_at_1_batch64"
LOSS_CURVES = (
    ("loss", "total loss"),
    ("loss_emotion", "emotion term (KL or class-balanced BCE)"),
    ("loss_arousal", "arousal term (MSE)"),
    ("loss_valence", "valence term (MSE)"),
)
RUN_RECORD = "cv_run.json"
PLOT_NAMES = {
    "confusion_matrix": "confusion_matrix.png",
    "arousal_valence": "arousal_valence.png",
    "learning_curves": "learning_curves.png",
}


@dataclass
class Run:
    setting: str
    split: str
    folder: Path
    metrics: dict[str, float]
    eval_sessions: list[str] = field(default_factory=list)
    wall_time_s: float | None = None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def find_runs(root: Path) -> list[Run]:
    """Every `<root>/<setting>/<split>/` folder with an `eval_results.json`."""
    runs = []
    for results_file in sorted(root.glob("*/*/eval_results.json")):
        folder = results_file.parent
        record = _read_json(folder / RUN_RECORD) if (folder / RUN_RECORD).is_file() else {}
        data_report = _read_json(folder / "data_report.json") if (folder / "data_report.json").is_file() else {}
        metrics = {k: float(v) for k, v in _read_json(results_file).items() if isinstance(v, (int, float))}
        runs.append(
            Run(
                setting=record.get("setting", folder.parent.name),
                split=record.get("split", folder.name),
                folder=folder,
                metrics=metrics,
                eval_sessions=data_report.get("eval_sessions", []),
                wall_time_s=record.get("wall_time_s"),
            )
        )
    return sorted(runs, key=lambda run: _natural_key(run.split))


def mean_and_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n − 1); no deviation for a single value."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("no values to average")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else None


def summarize(runs: list[Run]) -> dict[str, Any]:
    """Mean and std over the runs of one setting, for every metric that all of them report."""
    keys = sorted(set.intersection(*(set(run.metrics) for run in runs)))
    summary = {"splits": [run.split for run in runs], "num_runs": len(runs), "mean": {}, "std": {}}
    for key in keys:
        summary["mean"][key], summary["std"][key] = mean_and_std([run.metrics[key] for run in runs])
    return summary


def format_value(mean: float | None, std: float | None = None) -> str:
    """`0.xxx`, or `0.xxx ± 0.xxx` with a deviation; `—` when missing."""
    if mean is None:
        return "—"

    def three(value: float) -> str:
        text = f"{value:.3f}"
        return "0.000" if text == "-0.000" else text

    return three(mean) if std is None else f"{three(mean)} ± {three(std)}"


def markdown_table(header: tuple[str, ...] | list[str], rows: list[list[str]] | tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_table(first: str, columns: tuple, summaries: dict[str, dict]) -> str:
    """One row per setting: `mean ± std` where the setting has several runs, else the single value."""
    rows = []
    for setting, summary in summaries.items():
        cells = [format_value(summary["mean"].get(key), summary["std"].get(key)) for _, key in columns]
        rows.append([setting, *cells])
    return markdown_table([first, *(title for title, _ in columns)], rows)


def _relative_link(path: str) -> str:
    return f"<{path}>" if re.search(r"[\s,()<>]", path) else path


def render_markdown(results: dict[str, Any]) -> str:
    summaries = results["settings"]
    mode = results["mode"]
    counts = sorted({summary["num_runs"] for summary in summaries.values()})
    if mode == "cv":
        plan = f"Session cross-validation: {' / '.join(map(str, counts))} fold(s) per setting"
    else:
        plan = "One validation split (sweep)"
    lines = [
        f"# Experiment `{results['name']}`",
        "",
        f"{plan}; {len(summaries)} setting(s), {len(results['runs'])} run(s). Made by `training/report.py` "
        "from the run folders; rerun it to regenerate this file.",
        "",
        "## Paper metrics",
        "",
        metrics_table("setting", PAPER_COLUMNS, summaries),
        "",
        "precision@1, recall@1, F1@1: the authors' metric as published (SPEC §5). Per utterance, the top-1 "
        "predicted emotion is a hit if it is in the majority label set (a tie gives several gold emotions); "
        "precision = hits / 1, recall = hits / |gold set|. Computed on consecutive batches of 64 utterances in "
        "evaluation order (the last one partial), F1 = 2PR/(P+R+0.001) per batch, each averaged over the batches "
        "with equal weight. CCC(A), CCC(V): concordance correlation of arousal and valence over the whole set.",
    ]
    if any(summary["num_runs"] > 1 for summary in summaries.values()):
        lines.append(
            "\n`mean ± std` over a setting's folds; **std is the sample standard deviation (n − 1)**. Every value "
            "is the mean of the folds' values (F1 too: not 2PR/(P+R) of the mean P and R)."
        )
    missing = results.get("missing_runs") or {}
    if missing:
        listed = "; ".join(f"{setting}: {', '.join(splits)}" for setting, splits in missing.items())
        lines.append(f"\n**Incomplete**: planned runs without results ({listed}); those settings average fewer folds.")
    if results.get("best_setting"):
        best = results["best_setting"]
        key = results["select_key"]
        value = format_value(summaries[best]["mean"].get(key))
        tied = results.get("tied_with_best") or []
        tie_note = f"; tied with {', '.join(tied)}" if tied else ""
        lines.append(f"\nBest setting by `{key}`: **{best}** ({value}{tie_note}).")
    lines += [
        "",
        "## Top-k metric over the whole evaluation set",
        "",
        metrics_table("setting", WHOLE_SET_COLUMNS, summaries),
        "",
        "The same precision@k, recall@k and F1@k over each run's whole evaluation set, without batches, at k = 1 "
        "and k = 2.",
        "",
        "## Top-k confusion-matrix metric",
        "",
        metrics_table("setting", TOPK_CONFUSION_COLUMNS, summaries),
        "",
        "Not the published metric: macro precision, recall and F1 of the top-k confusion matrix (k = size of the "
        "gold set) over the whole evaluation set (`mate_hf/metrics/topk_confusion`).",
        "",
        "## Standard metrics",
        "",
        metrics_table("setting", STANDARD_COLUMNS, summaries),
        "",
        "The argmax against the majority label (an argmax inside a tied majority counts as correct); macro- and "
        "weighted-F1 as in scikit-learn. Same `mean ± std` convention as above.",
        "",
        "## Published results (reference)",
        "",
        "The authors' KEMDy19 numbers (SPEC §6), to put a run on the real corpus next to: the same metric as the "
        '"Paper metrics" table above (per batch of 64; the slides print the first two columns swapped). Sessions '
        "13–16 validation unless marked 5-fold; the paper does not say which standard deviation its ± is.",
        "",
        markdown_table(PUBLISHED_HEADER, PUBLISHED_ROWS),
        "",
        "Earlier baseline on KEMDy19 (Noh et al., Sensors 2021, multi-path): F1 ≈ 0.60.",
        "",
        "## Runs",
        "",
    ]
    run_columns = PAPER_COLUMNS + STANDARD_COLUMNS[:1]
    rows = []
    for run in results["runs"]:
        cells = [format_value(run["metrics"].get(key)) for _, key in run_columns]
        wall = "—" if run["wall_time_s"] is None else f"{run['wall_time_s']:.0f}"
        rows.append([run["setting"], run["split"], ", ".join(run["eval_sessions"]) or "—", *cells, wall])
    header = ["setting", "split", "eval sessions", *(title for title, _ in run_columns), "wall time (s)"]
    lines += [markdown_table(header, rows), "", "## Plots", ""]
    for setting, summary in summaries.items():
        links = ", ".join(
            f"[{name.replace('_', ' ')}]({_relative_link(path)})" for name, path in summary["plots"].items()
        )
        lines.append(f"- {setting}: {links or 'none'}")
    return "\n".join(lines) + "\n"


# --- plots ---------------------------------------------------------------------------------------------------


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


def make_plots(root: Path, setting: str, runs: list[Run], summary: dict) -> tuple[dict[str, str], np.ndarray | None]:
    """The three plots of one setting in `<root>/<setting>/`; returns their paths (relative to root) and the
    top-k confusion counts summed over the runs."""
    folder = root / setting
    plots, counts = {}, None
    predictions = [(run.split, read_predictions(run.folder)) for run in runs]
    predictions = [(split, arrays) for split, arrays in predictions if len(arrays["arousal"])]
    if predictions:
        counts = sum(confusion_matrices(a["emotion_probs"], a["majority"])["topk"] for _, a in predictions)
        total = sum(len(a["arousal"]) for _, a in predictions)
        plot_confusion_matrix(
            counts,
            f"{setting}: top-k confusion, {len(predictions)} run(s) summed, {total} utterances, row-normalised",
            folder / PLOT_NAMES["confusion_matrix"],
        )
        plot_arousal_valence(
            predictions, summary, f"{setting}: predicted vs gold", folder / PLOT_NAMES["arousal_valence"]
        )
        plots["confusion_matrix"] = f"{setting}/{PLOT_NAMES['confusion_matrix']}"
        plots["arousal_valence"] = f"{setting}/{PLOT_NAMES['arousal_valence']}"
    histories = [
        (run.split, _read_json(run.folder / "trainer_state.json")["log_history"])
        for run in runs
        if (run.folder / "trainer_state.json").is_file()
    ]
    if histories:
        plot_learning_curves(histories, f"{setting}: training loss", folder / PLOT_NAMES["learning_curves"])
        plots["learning_curves"] = f"{setting}/{PLOT_NAMES['learning_curves']}"
    return plots, counts


def write_report(root: str | Path) -> dict[str, Any]:
    """Build `results.json`, `results.md` and the plots of the experiment folder `root`; return the results."""
    root = Path(root)
    plan = _read_json(root / "experiment.json") if (root / "experiment.json").is_file() else {}
    runs = find_runs(root)
    if not runs:
        raise FileNotFoundError(f"no run folder (<setting>/<split>/eval_results.json) under {root}")
    planned = [setting for setting in plan.get("settings", []) if any(run.setting == setting for run in runs)]
    order = planned + sorted({run.setting for run in runs} - set(planned), key=_natural_key)
    mode = plan.get("mode") or ("cv" if all(run.split.startswith("fold") for run in runs) else "sweep")

    settings = {}
    for setting in order:
        setting_runs = [run for run in runs if run.setting == setting]
        summary = summarize(setting_runs)
        summary["plots"], counts = make_plots(root, setting, setting_runs, summary)
        summary["confusion_matrix_topk"] = None if counts is None else counts.astype(int).tolist()
        settings[setting] = summary
    select_by = plan.get("select_by", DEFAULT_SELECT_BY)
    select_key = select_by if select_by.startswith("eval_") else f"eval_{select_by}"
    best, tied = None, []
    if mode == "sweep":
        scores = {
            name: summary["mean"][select_key] for name, summary in settings.items() if select_key in summary["mean"]
        }
        if scores:
            top = max(scores.values())
            best, *tied = [name for name, score in scores.items() if score == top]  # first in setting order
    results = {
        "name": plan.get("name", root.name),
        "mode": mode,
        "select_key": select_key,
        "missing_runs": {
            setting: missing
            for setting in plan.get("settings", [])
            if (
                missing := [
                    split
                    for split in plan.get("splits", [])
                    if split not in settings.get(setting, {}).get("splits", [])
                ]
            )
        },
        "best_setting": best,
        "tied_with_best": tied,
        "std": "sample standard deviation (ddof=1) over a setting's runs; null for a single run",
        "emotion_labels": list(EMOTION_LABELS),
        "settings": settings,
        "runs": [
            {
                "setting": run.setting,
                "split": run.split,
                "folder": run.folder.relative_to(root).as_posix(),
                "eval_sessions": run.eval_sessions,
                "wall_time_s": run.wall_time_s,
                "metrics": run.metrics,
            }
            for setting in order
            for run in runs
            if run.setting == setting
        ],
    }
    (root / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (root / "results.md").write_text(render_markdown(results), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python training/report.py RESULTS_DIR")
    write_report(argv[0])
    print((Path(argv[0]) / "results.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
