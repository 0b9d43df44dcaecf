"""Concordance correlation coefficient (Lin, 1989) as an `evaluate` metric.

Self-contained (numpy, datasets, evaluate only): `evaluate.load(path_to_this_file)` copies the file into its module
cache and imports it from there.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """\
Concordance correlation coefficient between predicted and reference values:

    CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2)
        = 2 rho sigma_x sigma_y / (sigma_x^2 + sigma_y^2 + (mu_x - mu_y)^2)

with population (ddof=0) variances and covariance. Unlike Pearson's r it penalises shifts and scale
changes: CCC = 1 only for y = x. Range [-1, 1].

Degenerate case: the denominator is 0 only when both series are the same constant; that is perfect
agreement, so CCC is defined as 1.0 there (no division, no NaN warning). Two different constants, or one
constant series, give a zero covariance over a positive denominator, hence 0.0.
"""

_CITATION = """\
@article{lin1989concordance,
  title={A concordance correlation coefficient to evaluate reproducibility},
  author={Lin, Lawrence I-Kuei},
  journal={Biometrics},
  volume={45},
  number={1},
  pages={255--268},
  year={1989}
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): predicted values, e.g. arousal or valence.
    references (`list` of `float`): reference values, same length (at least one).
Returns:
    ccc (`float`): the concordance correlation coefficient, in [-1, 1].
Examples:
    >>> ccc = evaluate.load("mate_hf/metrics/ccc.py")
    >>> ccc.compute(predictions=[1.0, 2.0, 3.0], references=[1.0, 2.0, 3.0])
    {'ccc': 1.0}
"""


def concordance_correlation_coefficient(predictions: np.ndarray, references: np.ndarray) -> float:
    """CCC of two equally long 1-D series, population moments; 1.0 for identical constants."""
    x = np.asarray(predictions, dtype=np.float64).ravel()
    y = np.asarray(references, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"CCC needs two non-empty series of equal length, got {x.size} and {y.size}")
    x_centred, y_centred = x - x.mean(), y - y.mean()
    covariance = np.mean(x_centred * y_centred)
    denominator = np.mean(x_centred**2) + np.mean(y_centred**2) + (x.mean() - y.mean()) ** 2
    if denominator == 0.0:
        # Only reachable when both series are one and the same constant: perfect agreement.
        return 1.0
    return float(2.0 * covariance / denominator)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CCC(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # float64, and no format="numpy": that formatter hands back float32 and would round the inputs.
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references) -> dict:
        return {"ccc": concordance_correlation_coefficient(predictions, references)}
