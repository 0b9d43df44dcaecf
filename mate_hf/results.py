"""How results are named, grouped and printed: one registry of evaluation metrics, their tables and number format,
and the label of a setting. Every table of the project (`results.md` of an experiment, the model card, the demo's
summary, `mate-hf results`) is made here, so the same metric has the same title and digits everywhere.

    >>> from mate_hf.results import PAPER_TABLE, metrics_table
    >>> print(metrics_table("setting", PAPER_TABLE, [("demo", {"eval_f1_at_1_batch64": 0.5}, None)]))
    | setting | precision@1 | recall@1 | F1@1 | CCC(A) | CCC(V) |
    |---|---|---|---|---|---|
    | demo | — | — | 0.500 | — | — |
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

EVAL_PREFIX = "eval_"


@dataclass(frozen=True)
class Metric:
    """One evaluation metric: its `eval_results.json` key (without `eval_`), column title and model-index entry."""

    key: str
    title: str
    model_index_type: str
    model_index_name: str


# SPEC §5 and §6. The per-batch values are the ones the authors published; the whole-set ones do not depend on the
# batch size or order. Model-index order: this order.
METRICS = {
    metric.key: metric
    for metric in (
        Metric("precision_at_1_batch64", "precision@1", "precision", "Precision@1 (per batch of 64, as published)"),
        Metric("recall_at_1_batch64", "recall@1", "recall", "Recall@1 (per batch of 64, as published)"),
        Metric("f1_at_1_batch64", "F1@1", "f1", "F1@1 (per batch of 64, as published)"),
        Metric("precision_at_1", "precision@1", "precision", "Precision@1 (whole set)"),
        Metric("recall_at_1", "recall@1", "recall", "Recall@1 (whole set)"),
        Metric("f1_at_1", "F1@1", "f1", "F1@1 (whole set)"),
        Metric("precision_at_2", "precision@2", "precision", "Precision@2 (whole set)"),
        Metric("recall_at_2", "recall@2", "recall", "Recall@2 (whole set)"),
        Metric("f1_at_2", "F1@2", "f1", "F1@2 (whole set)"),
        Metric("ccc_arousal", "CCC(A)", "ccc", "CCC arousal"),
        Metric("ccc_valence", "CCC(V)", "ccc", "CCC valence"),
        Metric("accuracy", "Accuracy", "accuracy", "Accuracy (argmax)"),
        Metric("macro_f1", "Macro-F1", "f1", "Macro-F1 (argmax)"),
        Metric("weighted_f1", "Weighted-F1", "f1", "Weighted-F1 (argmax)"),
        Metric("topk_confusion_precision", "macro precision", "precision", "Top-k confusion macro precision"),
        Metric("topk_confusion_recall", "macro recall", "recall", "Top-k confusion macro recall"),
        Metric("topk_confusion_f1", "F1", "f1", "Top-k confusion F1"),
    )
}
# The model card's model-index: the published metric, the whole-set top-k metric, CCC and the standard metrics.
MODEL_INDEX_METRICS = tuple(key for key in METRICS if not key.startswith("topk_confusion"))

# The tables, as metric keys. The first has the columns of the published table (SPEC §6).
PAPER_TABLE = ("precision_at_1_batch64", "recall_at_1_batch64", "f1_at_1_batch64", "ccc_arousal", "ccc_valence")
WHOLE_SET_TABLE = ("precision_at_1", "recall_at_1", "f1_at_1", "precision_at_2", "recall_at_2", "f1_at_2")
TOPK_CONFUSION_TABLE = ("topk_confusion_precision", "topk_confusion_recall", "topk_confusion_f1")
STANDARD_TABLE = ("accuracy", "macro_f1", "weighted_f1")

# λ and β are chosen by F1@1, and the published F1@1 is the per-batch one.
DEFAULT_SELECT_BY = "f1_at_1_batch64"

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


def metric_value(metrics: Mapping[str, float], key: str) -> float | None:
    """`metrics[key]`, read with or without the `eval_` prefix that the Trainer puts on saved metrics."""
    if key in metrics:
        return metrics[key]
    return metrics.get(EVAL_PREFIX + key)


def eval_metrics(results: Mapping[str, object]) -> dict[str, float]:
    """The registered metrics of an `eval_results.json` mapping, keyed without the `eval_` prefix."""
    values = {key: metric_value(results, key) for key in METRICS}
    return {key: float(value) for key, value in values.items() if isinstance(value, (int, float))}


def format_value(mean: float | None, std: float | None = None) -> str:
    """`0.xxx`, or `0.xxx ± 0.xxx` with a deviation; `—` when missing."""
    if mean is None:
        return "—"

    def three(value: float) -> str:
        text = f"{value:.3f}"
        return "0.000" if text == "-0.000" else text  # a rounded tiny negative CCC is no result of its own

    return three(mean) if std is None else f"{three(mean)} ± {three(std)}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def metrics_table(
    first: str,
    keys: Sequence[str],
    rows: Sequence[tuple[str, Mapping[str, float], Mapping[str, float | None] | None]],
) -> str:
    """A markdown table of `keys`, one row per `(label, values, deviations)`: `mean ± std` where a deviation is
    given (several folds), else the value; `—` for a metric the row lacks."""
    body = []
    for label, values, deviations in rows:
        cells = [
            format_value(metric_value(values, key), metric_value(deviations, key) if deviations else None)
            for key in keys
        ]
        body.append([label, *cells])
    return markdown_table([first, *(METRICS[key].title for key in keys)], body)


def describe_sessions(sessions: Sequence[str]) -> str:
    """["Session13", ..., "Session16"] → "sessions 13–16"; names without a number are listed as they are."""
    numbers = [int(match.group()) for name in sessions if (match := re.search(r"\d+", name))]
    if not sessions:
        return "unknown"
    if len(numbers) != len(sessions):
        return ", ".join(sessions)
    runs: list[list[int]] = []  # [first, last] of each run of consecutive session numbers
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    text = ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in runs)
    return ("session " if len(set(numbers)) == 1 else "sessions ") + text


def setting_label(config: Mapping[str, object], role: str | None, split: str) -> str:
    """A setting in the form of SPEC §6's rows, e.g. "Speaker, audio+text, λ=0.66, sessions 9–10".

    Args:
        config: a MATE `config.json` as a mapping (a folder saved before `modalities` was named so has
            `input_modalities`).
        role: "speaker", "listener" or None (both, or unknown).
        split: the evaluation sessions in words (`describe_sessions`).
    """
    modalities = config.get("modalities", config.get("input_modalities", ""))
    parts = [role.capitalize() if role else "Speaker/listener", str(modalities)]
    if config.get("loss_type") == "class_balanced":
        parts.append(f"CB, λ={config.get('loss_lambda'):g}, β={config.get('class_balanced_beta'):g}")
    else:
        parts.append(f"λ={config.get('loss_lambda', 0.66):g}")
    if config.get("lstm_bidirectional"):
        parts.append("bidirectional LSTM")
    if config.get("concat_emotion") is False:
        parts.append("without emotion concat")
    return ", ".join(part for part in parts if part) + f", {split}"


def run_tables(run_dir: str | Path) -> str:
    """The tables of one training folder (`eval_results.json`, `config.json` and `data_report.json` of
    `training/run.py`): the published metric, the whole-set top-k metric and the standard metrics, one row each."""
    run_dir = Path(run_dir)
    results = _read_json(run_dir / "eval_results.json")
    config = _read_json(run_dir / "config.json")
    report = _read_json(run_dir / "data_report.json") if (run_dir / "data_report.json").is_file() else {}
    roles = {entry.get("role") for entry in (report.get("reports") or {}).values()}
    role = roles.pop() if len(roles) == 1 else None
    row = [(setting_label(config, role, describe_sessions(report.get("eval_sessions") or [])), results, None)]
    return "\n\n".join(
        [
            "As published (precision@1, recall@1, F1@1 per batch of 64 utterances, averaged over the batches):",
            metrics_table("setting", PAPER_TABLE, row),
            "Whole evaluation set, k = 1 and 2:",
            metrics_table("setting", WHOLE_SET_TABLE, row),
            metrics_table("setting", STANDARD_TABLE, row),
        ]
    )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValueError(f"{path} does not exist: is {path.parent} a folder written by training/run.py?") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
