"""A top-k confusion-matrix metric for tied majority labels (macro precision / recall / F1) as an `evaluate` metric.

Not the MATE paper's published metric: that is `precision_recall_at_k`. This one resembles the authors'
`get_metric`, which they computed but did not report; the description says how the two differ.

`evaluate.load(path_to_this_file)` copies the file into its module cache with `metric_inputs.py`, its only
package-relative import (evaluate copies a file imported that way from the same folder).
"""

import evaluate
import numpy as np

from .metric_inputs import check_scores_and_multi_hot, ranked_classes, scores_against_multi_hot_info

_DESCRIPTION = """\
Macro precision, recall and F1 from a top-k confusion matrix, for emotion classes with tied majority labels.

NOT the metric of the published MATE results (those are precision@1 / recall@1 averaged over test batches:
see `precision_recall_at_k`). It resembles the authors' `get_metric`, which their test loop computed but
did not report.

Per utterance with k gold classes (the multi-hot majority set; a tie gives k > 1):
  1. Top-k predicted classes: scores sorted high to low; equal scores rank the lower class index first
     (a stable sort of the negated scores), so the result is deterministic.
  2. Confusion matrix C (rows = gold class, columns = predicted class), k entries per utterance:
     every predicted class that is in the gold set counts on the diagonal C[p, p]; the remaining
     predictions, in rank order, count against the gold classes no prediction matched, in class-index
     order (first unmatched gold class first): C[g, p]. Matches are taken before misses, so each gold
     class of the utterance receives exactly one count: row sums are gold counts, column sums are
     prediction counts. With k = 1 this is the ordinary argmax confusion matrix.
Per class: precision = C[c, c] / column sum, recall = C[c, c] / row sum.
Macro average, sklearn-style: over the classes that occur in the gold set or in the top-k predictions
(the labels sklearn infers when none are given); a zero denominator there counts as 0
(sklearn's zero_division=0). Classes with neither gold labels nor predictions are left out.
F1 = 2 P R / (P + R) from the macro P and R (not the mean of per-class F1s); 0 when P + R = 0.
One confusion matrix over the whole evaluation set, so numbers do not depend on batch size or order.

How the authors' `get_metric` differs (same top-k with k = |gold set|):
  - it walks the predictions in rank order and counts a miss against `gt_index[0]`, the first gold class
    still unmatched at that moment, which a lower-ranked prediction may match afterwards: a gold class can
    then be counted twice and another not at all (here matches are taken first);
  - its matrix is transposed (rows predicted, columns gold);
  - its macro average is over all 7 classes, absent ones counting 0, with tp / (tp + fp + 0.001) and
    tp / (tp + fn + 0.001), and F1 = 2PR / (P + R + 0.001);
  - it is computed per test batch of 64 (their summary would have averaged the batches).
"""

_CITATION = ""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): (n, C) class scores per utterance: probabilities, or
        logits (softmax keeps the order, so the result is the same).
    references (`list` of `list` of `float`): (n, C) multi-hot majority label sets (0/1, at least one 1
        per row).
Returns:
    precision (`float`): macro precision.
    recall (`float`): macro recall.
    f1 (`float`): 2PR / (P + R) of the two above.
    confusion_matrix (`list` of `list` of `int`): C x C, rows gold, columns predicted.
Examples:
    >>> topk_confusion = evaluate.load("mate_hf/metrics/topk_confusion.py")
    >>> topk_confusion.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[[0, 1], [1, 1]])["f1"]
    1.0
"""


def topk_confusion_matrix(scores: np.ndarray, multi_hot: np.ndarray) -> np.ndarray:
    """C x C matrix (rows gold, columns predicted) of top-k predictions against k gold classes."""
    scores, gold = check_scores_and_multi_hot(scores, multi_hot)
    num_classes = scores.shape[1]
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for ranking, gold_row in zip(ranked_classes(scores), gold):
        gold_classes = np.flatnonzero(gold_row)
        top_k = ranking[: gold_classes.size]
        hits = top_k[gold_row[top_k]]
        misses = top_k[~gold_row[top_k]]
        unmatched_gold = np.setdiff1d(gold_classes, hits)  # sorted: first unmatched gold class first
        matrix[hits, hits] += 1
        # As many misses as unmatched gold classes (both k minus the hits), so zip pairs them all.
        for gold_class, predicted_class in zip(unmatched_gold, misses):
            matrix[gold_class, predicted_class] += 1
    return matrix


def macro_precision_recall(matrix: np.ndarray) -> tuple[float, float]:
    """Macro precision and recall over classes present as gold or prediction; zero denominators count 0."""
    diagonal = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    present = (predicted + actual) > 0
    if not present.any():
        return 0.0, 0.0
    # np.divide with `where` leaves 0 where the denominator is 0, without a RuntimeWarning.
    precision = np.divide(diagonal, predicted, out=np.zeros_like(diagonal), where=predicted > 0)
    recall = np.divide(diagonal, actual, out=np.zeros_like(diagonal), where=actual > 0)
    return float(precision[present].mean()), float(recall[present].mean())


def f1_from_precision_recall(precision: float, recall: float) -> float:
    """Harmonic mean of the macro precision and recall; 0 when both are 0."""
    total = precision + recall
    return 0.0 if total == 0.0 else 2.0 * precision * recall / total


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TopkConfusion(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return scores_against_multi_hot_info(_DESCRIPTION, _CITATION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references) -> dict:
        matrix = topk_confusion_matrix(predictions, references)
        precision, recall = macro_precision_recall(matrix)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1_from_precision_recall(precision, recall),
            "confusion_matrix": matrix.tolist(),
        }
