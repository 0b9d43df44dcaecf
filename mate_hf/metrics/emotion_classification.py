"""Standard single-label metrics (accuracy, macro/weighted F1, confusion matrix) for tied majority labels.

`evaluate.load(path_to_this_file)` copies the file into its module cache with `metric_inputs.py`, its only
package-relative import (evaluate copies a file imported that way from the same folder).
"""

import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from .metric_inputs import check_scores_and_multi_hot, scores_against_multi_hot_info

_DESCRIPTION = """\
Accuracy, macro-F1 and weighted-F1 (scikit-learn) of the argmax prediction against the majority label,
plus the C x C confusion matrix (rows true, columns predicted, labels 0..C-1).

The majority label can be a tie (several gold classes). An argmax inside the tie set counts as correct:
the true label handed to scikit-learn is the argmax itself when it is in the gold set, otherwise the
first (lowest-index) gold class. The argmax of equal scores is the lower class index (numpy's argmax),
the same tie-breaking as the paper metric's top-k.

F1 uses scikit-learn's default label set (classes present in the true or predicted labels) and
zero_division=0, so a class missing from a small evaluation set does not count as a zero F1.
"""

_CITATION = ""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): (n, C) class scores (probabilities or logits).
    references (`list` of `list` of `float`): (n, C) multi-hot majority label sets (0/1, at least one 1
        per row).
Returns:
    accuracy (`float`), macro_f1 (`float`), weighted_f1 (`float`),
    confusion_matrix (`list` of `list` of `int`): C x C, rows true, columns predicted.
Examples:
    >>> metric = evaluate.load("mate_hf/metrics/emotion_classification.py")
    >>> metric.compute(predictions=[[0.2, 0.8], [0.6, 0.4]], references=[[0, 1], [1, 1]])["accuracy"]
    1.0
"""


def single_labels(scores: np.ndarray, multi_hot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) class indices: argmax, and the argmax if it is gold else the first gold class."""
    scores, gold = check_scores_and_multi_hot(scores, multi_hot)
    predicted = np.argmax(scores, axis=1)
    rows = np.arange(len(predicted))
    first_gold = np.argmax(gold, axis=1)  # argmax of a boolean row is its first True
    true = np.where(gold[rows, predicted], predicted, first_gold)
    return true, predicted


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EmotionClassification(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return scores_against_multi_hot_info(
            _DESCRIPTION,
            _CITATION,
            _KWARGS_DESCRIPTION,
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references) -> dict:
        true, predicted = single_labels(predictions, references)
        num_classes = np.asarray(predictions).shape[1]
        return {
            "accuracy": float(accuracy_score(true, predicted)),
            "macro_f1": float(f1_score(true, predicted, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(true, predicted, average="weighted", zero_division=0)),
            "confusion_matrix": confusion_matrix(true, predicted, labels=list(range(num_classes))).tolist(),
        }
