"""Evaluation metrics for MATE: `evaluate` modules shipped in this package, loaded offline by file path.

`evaluate.load("f1")` fetches its script from the Hub; a local module file loads without network, so each
metric lives in `mate_hf/metrics/<name>.py` (beside `metric_inputs.py`, what they share) and `load_metric(name)`
loads it from there:

- `ccc`: concordance correlation coefficient (arousal, valence);
- `precision_recall_at_k`: the authors' precision@k / recall@k / F1@k against tied majority labels, over the
  whole set and per batch of 64 (the published numbers);
- `topk_confusion`: macro precision / recall / F1 of a top-k confusion matrix (not the published metric);
- `emotion_classification`: accuracy, macro-F1, weighted-F1 and confusion matrix of the argmax.

`evaluate` (a training extra) is imported inside the functions, so `import mate_hf` never needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mate_hf.configuration_mate import EMOTION_LABELS

if TYPE_CHECKING:
    import evaluate

METRIC_NAMES = ("ccc", "precision_recall_at_k", "topk_confusion", "emotion_classification")
_METRICS_DIR = Path(__file__).resolve().parent


def metric_path(name: str) -> str:
    """Path of the module file of metric `name` (one of `METRIC_NAMES`)."""
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}; choose one of {METRIC_NAMES}")
    return str(_METRICS_DIR / f"{name}.py")


def load_metric(name: str, **load_kwargs: Any) -> evaluate.EvaluationModule:
    """A fresh `evaluate` module for `name`, loaded from the file shipped here (no network).

    `load_kwargs` go to `evaluate.load`. `keep_in_memory` defaults to True: with an on-disk cache, every
    instance of a metric locks the same cache file and a second one waits a second for the lock.
    """
    import evaluate

    load_kwargs.setdefault("keep_in_memory", True)
    return evaluate.load(metric_path(name), **load_kwargs)


@cache
def _shared_metric(name: str) -> evaluate.EvaluationModule:
    # Loading hashes and copies the script each time; evaluation calls reuse one instance instead.
    return load_metric(name)


def _check_emotion_inputs(emotion_probs: np.ndarray, majority_multi_hot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(emotion_probs, dtype=np.float64)
    gold = np.asarray(majority_multi_hot, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(EMOTION_LABELS) or gold.shape != probs.shape:
        raise ValueError(
            f"emotion_probs and majority_multi_hot must both be (n, {len(EMOTION_LABELS)}), "
            f"got {probs.shape} and {gold.shape}"
        )
    return probs, gold


def compute_emotion_metrics(
    emotion_probs: np.ndarray,
    majority_multi_hot: np.ndarray,
    arousal_pred: np.ndarray,
    arousal_true: np.ndarray,
    valence_pred: np.ndarray,
    valence_true: np.ndarray,
) -> dict[str, float]:
    """All scalar metrics of n evaluated utterances, flat (Trainer logs only scalars).

    Args:
        emotion_probs: (n, 7) class probabilities (or logits) in `EMOTION_LABELS` order, in evaluation order
            (the per-batch keys depend on it; `select_target_utterances` gives dialogue order, then turn order).
        majority_multi_hot: (n, 7) multi-hot majority label sets (ties give several ones).
        arousal_pred, arousal_true, valence_pred, valence_true: (n,) values.

    Returns:
        From `precision_recall_at_k`: `precision_at_1_batch64`, `recall_at_1_batch64`, `f1_at_1_batch64` (per
        batch of 64 utterances in the order given, averaged over batches: the published numbers), and over the
        whole set `precision_at_1`, `recall_at_1`, `f1_at_1`, `precision_at_2`, `recall_at_2`, `f1_at_2`;
        from `topk_confusion`: `topk_confusion_precision`, `topk_confusion_recall`, `topk_confusion_f1`;
        `accuracy`, `macro_f1`, `weighted_f1`, `ccc_arousal`, `ccc_valence`. Confusion matrices come from
        `confusion_matrices`.
    """
    probs, gold = _check_emotion_inputs(emotion_probs, majority_multi_hot)
    at_k = _shared_metric("precision_recall_at_k").compute(predictions=probs, references=gold)
    topk = _shared_metric("topk_confusion").compute(predictions=probs, references=gold)
    standard = _shared_metric("emotion_classification").compute(predictions=probs, references=gold)
    ccc = _shared_metric("ccc")
    return {
        **at_k,
        "topk_confusion_precision": topk["precision"],
        "topk_confusion_recall": topk["recall"],
        "topk_confusion_f1": topk["f1"],
        "accuracy": standard["accuracy"],
        "macro_f1": standard["macro_f1"],
        "weighted_f1": standard["weighted_f1"],
        "ccc_arousal": ccc.compute(predictions=np.ravel(arousal_pred), references=np.ravel(arousal_true))["ccc"],
        "ccc_valence": ccc.compute(predictions=np.ravel(valence_pred), references=np.ravel(valence_true))["ccc"],
    }


def confusion_matrices(emotion_probs: np.ndarray, majority_multi_hot: np.ndarray) -> dict[str, np.ndarray]:
    """7 x 7 integer confusion matrices (rows gold, columns predicted, `EMOTION_LABELS` order).

    `topk`: top-k against the k gold classes (see `topk_confusion`); `argmax`: the argmax against the
    tie-resolved majority label (see `emotion_classification`).
    """
    probs, gold = _check_emotion_inputs(emotion_probs, majority_multi_hot)
    topk = _shared_metric("topk_confusion").compute(predictions=probs, references=gold)
    standard = _shared_metric("emotion_classification").compute(predictions=probs, references=gold)
    return {"topk": np.asarray(topk["confusion_matrix"]), "argmax": np.asarray(standard["confusion_matrix"])}


def select_target_utterances(predictions: Any, label_ids: Any) -> dict[str, np.ndarray]:
    """Flatten Trainer's padded (N, T, ...) arrays to the n utterances where `target_mask == 1`.

    See `make_compute_metrics` for the layout. Anything else in the mask (0, or the -100 that Trainer
    pads with when batches differ in T) is dropped, and so are the prediction values padded beside it.

    The result is in evaluation order: (N, T) flattened row-major, i.e. dialogue by dialogue and, within a
    dialogue, turn by turn. The per-batch-of-64 metrics cut the utterances into batches in this order.
    """
    if len(predictions) != 3 or len(label_ids) != 5:
        raise ValueError(
            "expected predictions = (emotion_probs, arousal, valence) and label_ids = "
            "(labels, arousal_labels, valence_labels, majority_labels, target_mask); "
            f"got {len(predictions)} predictions and {len(label_ids)} label arrays"
        )
    emotion_probs, arousal, valence = (np.asarray(array) for array in predictions)
    _, arousal_labels, valence_labels, majority, target_mask = (np.asarray(array) for array in label_ids)
    if target_mask.dtype == bool:
        # Trainer pads with -100, which a bool array stores as True: padding would count as targets.
        raise TypeError("target_mask must be an integer or float array (0/1), not bool")
    keep = target_mask == 1
    num_labels = len(EMOTION_LABELS)
    # reshape also accepts trailing singleton axes such as (N, T, 1) regression outputs.
    return {
        "emotion_probs": emotion_probs.reshape(*keep.shape, num_labels)[keep],
        "majority_multi_hot": majority.reshape(*keep.shape, num_labels)[keep],
        "arousal_pred": arousal.reshape(keep.shape)[keep],
        "arousal_true": arousal_labels.reshape(keep.shape)[keep],
        "valence_pred": valence.reshape(keep.shape)[keep],
        "valence_true": valence_labels.reshape(keep.shape)[keep],
    }


def make_compute_metrics() -> Callable[[Any], dict[str, float]]:
    """A `compute_metrics(eval_pred)` for the HF Trainer, returning `compute_emotion_metrics`'s flat dict.

    Convention with the training code (numpy arrays, N dialogues of up to T utterances):

    - `eval_pred.predictions` = `(emotion_probs (N, T, 7), arousal (N, T), valence (N, T))`;
      emotion scores may be probabilities or logits (the metrics use only their order).
    - `eval_pred.label_ids` = `(labels (N, T, 7) vote distributions, arousal_labels (N, T),
      valence_labels (N, T), majority_labels (N, T, 7) multi-hot, target_mask (N, T))`; the vote
      distributions are the training target and unused here.

    Only positions with `target_mask == 1` count; 0 and Trainer's -100 padding are ignored. The mask
    must be integer or float: Trainer's -100 padding of a bool mask would read as True.
    """

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        targets = select_target_utterances(eval_pred.predictions, eval_pred.label_ids)
        if targets["emotion_probs"].shape[0] == 0:
            raise ValueError("no evaluated utterance: target_mask has no position equal to 1")
        return compute_emotion_metrics(**targets)

    return compute_metrics


__all__ = [
    "METRIC_NAMES",
    "compute_emotion_metrics",
    "confusion_matrices",
    "load_metric",
    "make_compute_metrics",
    "metric_path",
    "select_target_utterances",
]
