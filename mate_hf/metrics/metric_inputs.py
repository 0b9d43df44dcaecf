"""What the emotion metrics share: their input features and metric info, the check of class scores against
multi-hot gold sets, and the ranking of classes.

The metric modules beside this file import it with a relative import: `evaluate.load(path_to_a_metric)` copies a
file imported that way from the same folder into its module cache with the metric. So it depends on numpy,
datasets and evaluate only.
"""

import datasets
import evaluate
import numpy as np

# (n, C) class scores against (n, C) multi-hot gold sets; float64 keeps scores unrounded, so ties stay exactly the
# ties the caller passed.
SCORES_AGAINST_MULTI_HOT = datasets.Features(
    {
        "predictions": datasets.Sequence(datasets.Value("float64")),
        "references": datasets.Sequence(datasets.Value("float64")),
    }
)


def scores_against_multi_hot_info(
    description: str, citation: str, inputs_description: str, **extra
) -> evaluate.MetricInfo:
    """The `MetricInfo` of a metric of (n, C) class scores against (n, C) multi-hot gold sets."""
    return evaluate.MetricInfo(
        description=description,
        citation=citation,
        inputs_description=inputs_description,
        features=SCORES_AGAINST_MULTI_HOT,
        **extra,
    )


def check_scores_and_multi_hot(
    scores: np.ndarray, multi_hot: np.ndarray, min_classes: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Validated float scores and boolean gold sets, both (n, C) with C >= `min_classes`; errors name what is
    wrong."""
    scores = np.asarray(scores, dtype=np.float64)
    multi_hot = np.asarray(multi_hot, dtype=np.float64)
    if scores.ndim != 2 or scores.shape != multi_hot.shape:
        raise ValueError(f"predictions and references must both be (n, C), got {scores.shape} and {multi_hot.shape}")
    if scores.shape[1] < min_classes:
        raise ValueError(f"predictions need at least {min_classes} classes, got {scores.shape[1]}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("predictions contain NaN or infinite scores")
    if not np.all((multi_hot == 0) | (multi_hot == 1)):
        raise ValueError("references must be multi-hot (0/1)")
    gold = multi_hot == 1
    if not np.all(gold.any(axis=1)):
        raise ValueError("every reference row needs at least one gold class")
    return scores, gold


def ranked_classes(scores: np.ndarray) -> np.ndarray:
    """Class indices by descending score per row; equal scores keep the lower index first (a stable sort of the
    negated scores), so a ranking is deterministic."""
    return np.argsort(-scores, axis=1, kind="stable")
