"""Tables and plots of a finished experiment, made from its run folders alone (`training/report.py`).

A run folder is any `<dir>/<setting>/<split>/` holding `eval_results.json` (written by `training/run.py`);
cross-validation adds `cv_run.json` to each and `<dir>/experiment.json` (setting order, mode, the sweep's
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

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configuration_mate import EMOTION_LABELS
from ..metrics import confusion_matrices
from ..results import (
    DEFAULT_SELECT_BY,
    METRICS,
    PAPER_TABLE,
    PUBLISHED_HEADER,
    PUBLISHED_ROWS,
    STANDARD_TABLE,
    TOPK_CONFUSION_TABLE,
    WHOLE_SET_TABLE,
    format_value,
    markdown_table,
    metric_value,
    metrics_table,
)
from .plots import plot_arousal_valence, plot_confusion_matrix, plot_learning_curves, read_predictions

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


def settings_table(keys: tuple[str, ...], summaries: dict[str, dict]) -> str:
    """One row per setting: `mean ± std` where the setting has several runs, else the single value."""
    rows = [(setting, summary["mean"], summary["std"]) for setting, summary in summaries.items()]
    return metrics_table("setting", keys, rows)


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
        settings_table(PAPER_TABLE, summaries),
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
        settings_table(WHOLE_SET_TABLE, summaries),
        "",
        "The same precision@k, recall@k and F1@k over each run's whole evaluation set, without batches, at k = 1 "
        "and k = 2.",
        "",
        "## Top-k confusion-matrix metric",
        "",
        settings_table(TOPK_CONFUSION_TABLE, summaries),
        "",
        "Not the published metric: macro precision, recall and F1 of the top-k confusion matrix (k = size of the "
        "gold set) over the whole evaluation set (`mate_hf/metrics/topk_confusion`).",
        "",
        "## Standard metrics",
        "",
        settings_table(STANDARD_TABLE, summaries),
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
    run_columns = PAPER_TABLE + STANDARD_TABLE[:1]
    rows = []
    for run in results["runs"]:
        cells = [format_value(metric_value(run["metrics"], key)) for key in run_columns]
        wall = "—" if run["wall_time_s"] is None else f"{run['wall_time_s']:.0f}"
        rows.append([run["setting"], run["split"], ", ".join(run["eval_sessions"]) or "—", *cells, wall])
    header = ["setting", "split", "eval sessions", *(METRICS[key].title for key in run_columns), "wall time (s)"]
    lines += [markdown_table(header, rows), "", "## Plots", ""]
    for setting, summary in summaries.items():
        links = ", ".join(
            f"[{name.replace('_', ' ')}]({_relative_link(path)})" for name, path in summary["plots"].items()
        )
        lines.append(f"- {setting}: {links or 'none'}")
    return "\n".join(lines) + "\n"


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
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        raise SystemExit(f"usage: python training/report.py EXPERIMENT_DIR\n\n{__doc__}")
    write_report(argv[0])
    print((Path(argv[0]) / "results.md").read_text(encoding="utf-8"))
