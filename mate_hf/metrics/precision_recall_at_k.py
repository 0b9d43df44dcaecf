"""The MATE authors' published emotion metric (precision@k and recall@k against a possibly tied majority label set)
as an `evaluate` metric.

`evaluate.load(path_to_this_file)` copies the file into its module cache with `metric_inputs.py`, its only
package-relative import (evaluate copies a file imported that way from the same folder).
"""

import evaluate
import numpy as np

from .metric_inputs import check_scores_and_multi_hot, ranked_classes, scores_against_multi_hot_info

# The authors' test batch size: their published numbers are averages over test batches of this many utterances.
PUBLISHED_BATCH_SIZE = 64
# The authors' F1 adds this to the denominator (so F1 = 0, not NaN, when P = R = 0).
F1_EPSILON = 0.001

_DESCRIPTION = """\
Precision@k, recall@k and F1@k of the MATE authors (their `get_precision`, `get_recall` and `get_f1`), the
metric behind their published "Precision", "Recall" and "F1" (k = 1, averaged over test batches of 64).

Per utterance, with gold set G (the multi-hot majority labels; a tie gives |G| > 1):
  1. Top-k predicted classes: scores sorted high to low; equal scores rank the lower class index first (a
     stable sort of the negated scores), so the result is deterministic. The authors' `torch.argsort`,
     reversed, gave no defined order for exactly equal scores; softmax outputs practically never have them.
  2. hits = how many of the top-k classes are in G.
  3. precision = hits / k, recall = hits / |G|.
Over a set of utterances: P@k and R@k are the means of the per-utterance values, and
F1@k = 2 P R / (P + R + 0.001), the authors' formula (the 0.001 included).

Since hits <= min(k, |G|), at k = 1 every utterance has precision >= recall, with equality exactly when
|G| = 1 or the top class misses: P@1 >= R@1 always, and the gap grows with the share of tied gold sets.

Two aggregations are returned:
  - over the whole evaluation set, at k = 1 and k = 2;
  - as published, at k = 1: the utterances split into consecutive batches of `batch_size` in the order given
    (the last batch partial), P@1, R@1 and F1@1 (from that batch's P and R) computed per batch, and each of the
    three averaged over the batches with equal weight. These depend on the order and the batch size; the keys
    name the batch size (`..._batch64` for the default 64, the authors' test batch).

Only the order of the scores counts: probabilities and logits give the same result. (The authors' function
wrote 1 over the top-k scores in place, harmless for their softmax outputs; nothing is modified here.)
"""

_CITATION = ""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): (n, C) class scores per utterance, C >= 2: probabilities, or
        logits (softmax keeps the order, so the result is the same).
    references (`list` of `list` of `float`): (n, C) multi-hot majority label sets (0/1, at least one 1
        per row).
    batch_size (`int`, *optional*, defaults to 64): utterances per batch of the per-batch (published) average.
Returns:
    precision_at_1, recall_at_1, f1_at_1 (`float`): over the whole set, k = 1.
    precision_at_2, recall_at_2, f1_at_2 (`float`): over the whole set, k = 2.
    precision_at_1_batch{batch_size}, recall_at_1_batch{batch_size}, f1_at_1_batch{batch_size} (`float`): k = 1,
        per batch of `batch_size` in the given order, averaged over the batches (`..._batch64` by default: the
        published numbers).
Examples:
    >>> metric = evaluate.load("mate_hf/metrics/precision_recall_at_k.py")
    >>> result = metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[[0, 1], [1, 1]])
    >>> result["precision_at_1"], result["recall_at_1"]
    (1.0, 0.75)
"""


def check_batch_size(batch_size: int) -> int:
    # bool is an int subclass: batch_size=True would silently mean batches of one.
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def hits_at_k(ranking: np.ndarray, gold: np.ndarray, k: int) -> np.ndarray:
    """(n,) number of the top-k ranked classes that are in each row's gold set."""
    return np.take_along_axis(gold, ranking[:, :k], axis=1).sum(axis=1)


def f1_with_epsilon(precision: float, recall: float) -> float:
    """The authors' F1: 2PR / (P + R + 0.001)."""
    return 2.0 * precision * recall / (precision + recall + F1_EPSILON)


def precision_recall_f1(hits: np.ndarray, gold_sizes: np.ndarray, k: int) -> tuple[float, float, float]:
    """Mean precision (hits / k) and recall (hits / |gold|) over the given utterances, and their F1."""
    precision = float(np.mean(hits / k))
    recall = float(np.mean(hits / gold_sizes))
    return precision, recall, f1_with_epsilon(precision, recall)


def per_batch_means(hits: np.ndarray, gold_sizes: np.ndarray, k: int, batch_size: int) -> tuple[float, float, float]:
    """P, R and F1 of each consecutive batch (the last one partial), each averaged with equal weight per batch."""
    starts = range(0, hits.size, batch_size)
    per_batch = [precision_recall_f1(hits[s : s + batch_size], gold_sizes[s : s + batch_size], k) for s in starts]
    precision, recall, f1 = np.mean(per_batch, axis=0)
    return float(precision), float(recall), float(f1)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class PrecisionRecallAtK(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return scores_against_multi_hot_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, batch_size: int = PUBLISHED_BATCH_SIZE) -> dict:
        scores, gold = check_scores_and_multi_hot(predictions, references, min_classes=2)  # top-2
        batch_size = check_batch_size(batch_size)
        ranking = ranked_classes(scores)
        gold_sizes = gold.sum(axis=1)
        result = {}
        for k in (1, 2):
            precision, recall, f1 = precision_recall_f1(hits_at_k(ranking, gold, k), gold_sizes, k)
            result.update({f"precision_at_{k}": precision, f"recall_at_{k}": recall, f"f1_at_{k}": f1})
        precision, recall, f1 = per_batch_means(hits_at_k(ranking, gold, 1), gold_sizes, 1, batch_size)
        suffix = f"at_1_batch{batch_size}"
        result.update({f"precision_{suffix}": precision, f"recall_{suffix}": recall, f"f1_{suffix}": f1})
        return result
