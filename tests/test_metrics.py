"""Metrics: CCC, the published precision@k / recall@k, the top-k confusion metric, the standard argmax metrics,
Trainer masking and offline loading."""

import socket
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from mate_hf.configuration_mate import EMOTION_LABELS
from mate_hf.metrics import (
    METRIC_NAMES,
    compute_emotion_metrics,
    confusion_matrices,
    load_metric,
    make_compute_metrics,
    metric_path,
)

NUM_LABELS = len(EMOTION_LABELS)
LABEL = {name: index for index, name in enumerate(EMOTION_LABELS)}


@pytest.fixture(scope="module")
def ccc():
    return load_metric("ccc")


@pytest.fixture(scope="module")
def precision_recall_at_k():
    return load_metric("precision_recall_at_k")


@pytest.fixture(scope="module")
def topk_confusion():
    return load_metric("topk_confusion")


@pytest.fixture(scope="module")
def emotion_classification():
    return load_metric("emotion_classification")


def multi_hot(*label_sets: list[str]) -> np.ndarray:
    rows = np.zeros((len(label_sets), NUM_LABELS))
    for row, names in zip(rows, label_sets):
        row[[LABEL[name] for name in names]] = 1
    return rows


def scores(**by_name: float) -> list[float]:
    row = [0.0] * NUM_LABELS
    for name, value in by_name.items():
        row[LABEL[name]] = value
    return row


# --- CCC ---------------------------------------------------------------------------------------------


def test_ccc_matches_independent_numpy_formula(ccc):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, 200)
    y = 0.6 * x + rng.normal(0.5, 0.7, 200)
    # The rho * sigma form, from numpy's own correlation and population standard deviations.
    rho = np.corrcoef(x, y)[0, 1]
    expected = 2 * rho * x.std() * y.std() / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    assert ccc.compute(predictions=x, references=y)["ccc"] == pytest.approx(expected, rel=1e-12)
    # Population covariance, not the sample (ddof=1) one.
    expected_cov = 2 * np.cov(x, y, bias=True)[0, 1] / (np.var(x) + np.var(y) + (x.mean() - y.mean()) ** 2)
    assert ccc.compute(predictions=x, references=y)["ccc"] == pytest.approx(expected_cov, rel=1e-12)


def test_ccc_is_one_for_concordant_data(ccc):
    x = np.random.default_rng(1).uniform(1, 5, 50)
    assert ccc.compute(predictions=x, references=x.copy())["ccc"] == pytest.approx(1.0)


def test_ccc_penalises_a_shift_that_pearson_ignores(ccc):
    x = np.random.default_rng(2).uniform(1, 5, 50)
    shifted = x + 1.0
    assert np.corrcoef(x, shifted)[0, 1] == pytest.approx(1.0)
    result = ccc.compute(predictions=shifted, references=x)["ccc"]
    # cov = var, both variances equal, mean gap 1: CCC = 2 var / (2 var + 1).
    assert result == pytest.approx(2 * x.var() / (2 * x.var() + 1.0))
    assert result < 0.99


def test_ccc_negative_correlation(ccc):
    x = np.random.default_rng(3).uniform(1, 5, 50)
    mirrored = 2 * x.mean() - x  # same mean and variance, perfectly anti-concordant
    assert ccc.compute(predictions=mirrored, references=x)["ccc"] == pytest.approx(-1.0)
    noisy = mirrored + np.random.default_rng(4).normal(0, 0.3, 50)
    assert -1.0 < ccc.compute(predictions=noisy, references=x)["ccc"] < -0.5


def test_ccc_constant_series_without_nan_warnings(ccc):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ccc.compute(predictions=[3.0] * 4, references=[3.0] * 4)["ccc"] == 1.0
        assert ccc.compute(predictions=[2.0] * 4, references=[3.0] * 4)["ccc"] == 0.0
        assert ccc.compute(predictions=[2.0] * 4, references=[1.0, 2.0, 3.0, 4.0])["ccc"] == 0.0


# --- standard metrics ----------------------------------------------------------------------------------


def test_standard_metrics_match_sklearn_without_ties(emotion_classification):
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(NUM_LABELS), size=300)
    true = rng.integers(0, NUM_LABELS, 300)
    true[:100] = probs[:100].argmax(axis=1)  # some right answers, so the scores are not all near chance
    result = emotion_classification.compute(predictions=probs, references=np.eye(NUM_LABELS)[true])
    predicted = probs.argmax(axis=1)
    assert result["accuracy"] == pytest.approx(accuracy_score(true, predicted))
    assert result["macro_f1"] == pytest.approx(f1_score(true, predicted, average="macro"))
    assert result["weighted_f1"] == pytest.approx(f1_score(true, predicted, average="weighted"))
    matrix = np.zeros((NUM_LABELS, NUM_LABELS), dtype=int)
    np.add.at(matrix, (true, predicted), 1)
    assert result["confusion_matrix"] == matrix.tolist()


def test_standard_metrics_count_an_argmax_inside_the_tie_as_correct(emotion_classification):
    probs = [
        scores(neutral=0.6, angry=0.3),  # gold {angry, neutral}: argmax neutral is in the tie -> correct
        scores(angry=0.7, neutral=0.2),  # same gold: argmax angry is in the tie -> correct
        scores(sad=0.8, angry=0.1),  # same gold: sad is not -> true label is the first gold class, angry
        scores(happy=0.9),  # gold {happy} -> correct
    ]
    gold = multi_hot(["angry", "neutral"], ["angry", "neutral"], ["angry", "neutral"], ["happy"])
    result = emotion_classification.compute(predictions=probs, references=gold)
    true = [LABEL["neutral"], LABEL["angry"], LABEL["angry"], LABEL["happy"]]
    predicted = [LABEL["neutral"], LABEL["angry"], LABEL["sad"], LABEL["happy"]]
    assert result["accuracy"] == 0.75
    assert result["macro_f1"] == pytest.approx(f1_score(true, predicted, average="macro"))
    assert result["weighted_f1"] == pytest.approx(f1_score(true, predicted, average="weighted"))
    assert result["confusion_matrix"][LABEL["angry"]][LABEL["sad"]] == 1
    assert result["confusion_matrix"][LABEL["neutral"]][LABEL["neutral"]] == 1


# --- precision@k / recall@k (the published metric) --------------------------------------------------------

# Four utterances, repeated below; the comments work out each one by hand. Class indices: disgust 0, angry 1,
# sad 2, fear 3, surprise 4, neutral 5, happy 6. Equal scores rank the lower class index first.
#                                                                     |G|  hits@1 P@1 R@1   hits@2 P@2 R@2
AT_K_PATTERN = (
    # U1, tied gold: ranking angry, neutral.                          2    1      1   1/2   2      1   1
    (["angry", "neutral"], scores(angry=0.6, neutral=0.3, happy=0.1)),
    # U2, exact score tie angry = sad: angry (1) first, a miss.       1    0      0   0     1      1/2 1
    (["sad"], scores(angry=0.4, sad=0.4, neutral=0.2)),
    # U3: ranking happy, neutral.                                     1    1      1   1     1      1/2 1
    (["happy"], scores(happy=0.7, neutral=0.2, surprise=0.1)),
    # U4, tied gold, exact tie at rank 2: disgust (0) before happy.   2    0      0   0     0      0   0
    (["sad", "happy"], scores(neutral=0.5, happy=0.25, disgust=0.25)),
)  # per pattern: sum P@1 = 2, sum R@1 = 3/2; sum P@2 = 2, sum R@2 = 3


def at_k_example(utterances: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Scores and gold sets of the `AT_K_PATTERN` utterances at the given indices, in that order."""
    probs = np.array([AT_K_PATTERN[index][1] for index in utterances])
    gold = multi_hot(*(AT_K_PATTERN[index][0] for index in utterances))
    return probs, gold


def test_precision_recall_at_k_hand_worked_with_a_partial_last_batch_of_64(precision_recall_at_k):
    # n = 130: the pattern 32 times (rows 0-127), then U1 and U2 (rows 128, 129).
    probs, gold = at_k_example([0, 1, 2, 3] * 32 + [0, 1])
    result = precision_recall_at_k.compute(predictions=probs, references=gold)  # batch_size 64 by default
    # Whole set, k = 1: P = (32·2 + 1 + 0) / 130 = 1/2; R = (32·3/2 + 1/2 + 0) / 130 = 48.5/130 = 97/260;
    # F1 = 2·(1/2)·(97/260) / (1/2 + 97/260 + 0.001) = (97/260) / (227/260 + 0.001) = 97 / 227.26.
    assert result["precision_at_1"] == pytest.approx(1 / 2, abs=1e-12)
    assert result["recall_at_1"] == pytest.approx(97 / 260, abs=1e-12)
    assert result["f1_at_1"] == pytest.approx(97 / 227.26, abs=1e-12)
    # Whole set, k = 2: P = (32·2 + 1 + 1/2) / 130 = 131/260; R = (32·3 + 1 + 1) / 130 = 196/260;
    # F1 = 2·(131/260)·(196/260) / (327/260 + 0.001) = (2·131·196 / 260) / 327.26.
    assert result["precision_at_2"] == pytest.approx(131 / 260, abs=1e-12)
    assert result["recall_at_2"] == pytest.approx(196 / 260, abs=1e-12)
    assert result["f1_at_2"] == pytest.approx(2 * 131 * 196 / 260 / 327.26, abs=1e-12)
    # Per batch of 64: rows 0-63 and 64-127 hold the pattern 16 times each: P = 32/64 = 1/2, R = 24/64 = 3/8,
    # F1 = 2·(1/2)·(3/8) / (7/8 + 0.001) = 0.375 / 0.876. The partial last batch, U1 and U2: P = (1 + 0)/2 = 1/2,
    # R = (1/2 + 0)/2 = 1/4, F1 = 2·(1/2)·(1/4) / (3/4 + 0.001) = 0.25 / 0.751. Each averaged over the 3 batches:
    # P = 1/2, R = (3/8 + 3/8 + 1/4)/3 = 1/3, F1 = (2 · 0.375/0.876 + 0.25/0.751) / 3.
    assert result["precision_at_1_batch64"] == pytest.approx(1 / 2, abs=1e-12)
    assert result["recall_at_1_batch64"] == pytest.approx(1 / 3, abs=1e-12)
    assert result["f1_at_1_batch64"] == pytest.approx((2 * 0.375 / 0.876 + 0.25 / 0.751) / 3, abs=1e-12)
    # The mean of the batches' F1s, not the F1 of the mean P and R: 2·(1/2)·(1/3) / (5/6 + 0.001).
    assert result["f1_at_1_batch64"] != pytest.approx((1 / 3) / (5 / 6 + 0.001), abs=1e-6)
    # compute_emotion_metrics reports the same numbers under the same keys.
    zeros = np.zeros(len(probs))
    reported = compute_emotion_metrics(probs, gold, zeros, zeros, zeros, zeros)
    assert {key: reported[key] for key in result} == result


def test_precision_recall_at_k_names_the_batch_size(precision_recall_at_k):
    probs, gold = at_k_example([0, 1, 2, 3])
    result = precision_recall_at_k.compute(predictions=probs, references=gold, batch_size=3)
    assert not any(key.endswith("_batch64") for key in result)
    # Batch U1, U2, U3: P = (1 + 0 + 1)/3 = 2/3, R = (1/2 + 0 + 1)/3 = 1/2, F1 = 2·(2/3)·(1/2) / (7/6 + 0.001).
    # Batch U4: P = R = 0 and F1 = 0 / 0.001 = 0. Means: P = 1/3, R = 1/4, F1 = (2/3) / (7/6 + 0.001) / 2.
    assert result["precision_at_1_batch3"] == pytest.approx(1 / 3, abs=1e-12)
    assert result["recall_at_1_batch3"] == pytest.approx(1 / 4, abs=1e-12)
    assert result["f1_at_1_batch3"] == pytest.approx((2 / 3) / (7 / 6 + 0.001) / 2, abs=1e-12)


def test_precision_at_1_is_never_below_recall_at_1(precision_recall_at_k):
    rng = np.random.default_rng(13)
    for n, batch_size in [(150, 64), (37, 5), (1, 64)]:
        probs = rng.dirichlet(np.ones(NUM_LABELS), size=n)
        gold = (rng.random((n, NUM_LABELS)) < 0.2).astype(float)
        gold[np.arange(n), probs.argmax(axis=1)] = 1  # plenty of hits, so the two can differ
        result = precision_recall_at_k.compute(predictions=probs, references=gold, batch_size=batch_size)
        assert result["precision_at_1"] >= result["recall_at_1"]
        assert result[f"precision_at_1_batch{batch_size}"] >= result[f"recall_at_1_batch{batch_size}"]
    # A top-1 hit inside a tied gold set makes the gap strict: U1 (P 1, R 1/2) and U4 (0, 0) give 1/2 > 1/4.
    probs, gold = at_k_example([0, 3])
    result = precision_recall_at_k.compute(predictions=probs, references=gold)
    assert result["precision_at_1"] > result["recall_at_1"]


def test_precision_and_recall_at_1_are_accuracy_without_ties(precision_recall_at_k):
    rng = np.random.default_rng(14)
    probs = rng.dirichlet(np.ones(NUM_LABELS), size=200)
    true = rng.integers(0, NUM_LABELS, 200)
    result = precision_recall_at_k.compute(predictions=probs, references=np.eye(NUM_LABELS)[true])
    accuracy = accuracy_score(true, probs.argmax(axis=1))
    assert result["precision_at_1"] == pytest.approx(accuracy)
    assert result["recall_at_1"] == pytest.approx(accuracy)
    # One gold class: a top-2 hits it at most once, so precision@2 = recall@2 / 2.
    assert result["precision_at_2"] == pytest.approx(result["recall_at_2"] / 2)


def test_per_batch_values_depend_on_the_order_and_whole_set_values_do_not(precision_recall_at_k):
    probs, gold = at_k_example([0, 1, 2, 3] * 32 + [0, 1])
    baseline = precision_recall_at_k.compute(predictions=probs, references=gold)
    rolled = precision_recall_at_k.compute(predictions=np.roll(probs, 2, axis=0), references=np.roll(gold, 2, axis=0))
    for key in ("precision_at_1", "recall_at_1", "f1_at_1", "precision_at_2", "recall_at_2", "f1_at_2"):
        assert rolled[key] == pytest.approx(baseline[key], abs=1e-12)
    assert rolled["recall_at_1_batch64"] != pytest.approx(baseline["recall_at_1_batch64"], abs=1e-6)


def test_precision_recall_at_k_breaks_equal_scores_by_lower_index(precision_recall_at_k):
    uniform = [[1 / NUM_LABELS] * NUM_LABELS] * 2
    result = precision_recall_at_k.compute(predictions=uniform, references=multi_hot(["disgust"], ["angry"]))
    # Top-1 of equal scores is disgust: a hit for row 1, a miss for row 2; top-2 is disgust, angry: both hit.
    assert result["precision_at_1"] == 0.5
    assert result["recall_at_2"] == 1.0


def test_precision_recall_at_k_rejects_bad_input(precision_recall_at_k):
    probs, gold = at_k_example([0, 1])
    with pytest.raises(ValueError, match="at least one gold"):
        precision_recall_at_k.compute(predictions=probs, references=np.zeros_like(gold))
    with pytest.raises(ValueError, match="at least 2 classes"):
        precision_recall_at_k.compute(predictions=[[1.0], [1.0]], references=[[1.0], [1.0]])
    for batch_size in (0, -64, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            precision_recall_at_k.compute(predictions=probs, references=gold, batch_size=batch_size)


# --- top-k confusion metric (not the published one) -----------------------------------------------------


def test_topk_confusion_hand_worked_example_with_ties(topk_confusion):
    # Class indices: disgust 0, angry 1, sad 2, fear 3, surprise 4, neutral 5, happy 6. C[gold, pred].
    probs = [
        # U1 gold {angry, neutral}, top-2 {angry, sad}: angry hit -> C[1,1]; sad misses the unmatched neutral -> C[5,2].
        scores(angry=0.5, sad=0.3, neutral=0.1, happy=0.1),
        # U2 gold {neutral}, top-1 neutral -> C[5,5].
        scores(neutral=0.7, happy=0.3),
        # U3 gold {happy}, top-1 neutral -> C[6,5].
        scores(neutral=0.6, happy=0.4),
        # U4 gold {sad, happy}, top-2 surprise then fear, both miss: in rank order against the unmatched gold
        # classes in index order -> surprise to sad C[2,4], fear to happy C[6,3].
        scores(surprise=0.4, fear=0.3, sad=0.2, happy=0.1),
        # U5 gold {sad}, angry and sad tie at 0.4: the lower index (angry) ranks first -> C[2,1].
        scores(sad=0.4, angry=0.4, neutral=0.2),
        # U6 gold {angry, sad, neutral}, top-3: happy .35, neutral .25, then sad beats surprise at .15 (lower index).
        # neutral hit C[5,5], sad hit C[2,2]; happy misses the unmatched angry -> C[1,6].
        scores(happy=0.35, neutral=0.25, surprise=0.15, sad=0.15, angry=0.1),
    ]
    gold = multi_hot(
        ["angry", "neutral"], ["neutral"], ["happy"], ["sad", "happy"], ["sad"], ["angry", "sad", "neutral"]
    )
    expected_matrix = [
        # pred: dis ang sad fea sur neu hap      row sum
        [0, 0, 0, 0, 0, 0, 0],  # disgust       0
        [0, 1, 0, 0, 0, 0, 1],  # angry         2
        [0, 1, 1, 0, 1, 0, 0],  # sad           3
        [0, 0, 0, 0, 0, 0, 0],  # fear          0
        [0, 0, 0, 0, 0, 0, 0],  # surprise      0
        [0, 0, 1, 0, 0, 2, 0],  # neutral       3
        [0, 0, 0, 1, 0, 1, 0],  # happy         2
    ]  # column sums: 0, 2, 2, 1, 1, 3, 1 (10 = 2+1+1+2+1+3 gold labels)
    # Classes present (gold or predicted): angry, sad, fear, surprise, neutral, happy (6; disgust left out).
    # Precision: angry 1/2, sad 1/2, fear 0/1, surprise 0/1, neutral 2/3, happy 0/1 -> (5/3)/6 = 5/18.
    # Recall:    angry 1/2, sad 1/3, fear 0/0->0, surprise 0/0->0, neutral 2/3, happy 0/2 -> (3/2)/6 = 1/4.
    # F1 = 2 (5/18)(1/4) / (5/18 + 1/4) = (5/36) / (19/36) = 5/19.
    result = topk_confusion.compute(predictions=probs, references=gold)
    assert result["confusion_matrix"] == expected_matrix
    assert result["precision"] == pytest.approx(5 / 18, abs=1e-12)
    assert result["recall"] == pytest.approx(1 / 4, abs=1e-12)
    assert result["f1"] == pytest.approx(5 / 19, abs=1e-12)


def test_topk_confusion_equals_sklearn_macro_precision_recall_without_ties(topk_confusion):
    rng = np.random.default_rng(6)
    probs = rng.dirichlet(np.ones(NUM_LABELS), size=200)
    true = rng.integers(0, NUM_LABELS - 1, 200)  # class 6 never gold; still predicted, so it counts
    result = topk_confusion.compute(predictions=probs, references=np.eye(NUM_LABELS)[true])
    predicted = probs.argmax(axis=1)
    assert (predicted == NUM_LABELS - 1).any()
    precision = precision_score(true, predicted, average="macro", zero_division=0)
    recall = recall_score(true, predicted, average="macro", zero_division=0)
    assert result["precision"] == pytest.approx(precision)
    assert result["recall"] == pytest.approx(recall)
    # F1 of the macro averages, which differs from sklearn's mean of per-class F1s.
    assert result["f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert result["f1"] != pytest.approx(f1_score(true, predicted, average="macro"))


def test_topk_confusion_matrix_rows_count_gold_and_columns_count_top_k(topk_confusion):
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(NUM_LABELS), size=100)
    gold = (rng.random((100, NUM_LABELS)) < 0.25).astype(float)
    gold[gold.sum(axis=1) == 0, LABEL["neutral"]] = 1
    matrix = np.array(topk_confusion.compute(predictions=probs, references=gold)["confusion_matrix"])
    top_k_counts = np.zeros(NUM_LABELS)
    for row, k in zip(probs, gold.sum(axis=1).astype(int)):
        top_k_counts[np.argsort(-row)[:k]] += 1
    assert matrix.sum(axis=1).tolist() == gold.sum(axis=0).tolist()
    assert matrix.sum(axis=0).tolist() == top_k_counts.tolist()


def test_topk_confusion_breaks_equal_scores_by_lower_index(topk_confusion):
    uniform = [[1 / NUM_LABELS] * NUM_LABELS]
    matrix = topk_confusion.compute(predictions=uniform, references=multi_hot(["fear", "happy"]))["confusion_matrix"]
    # Top-2 of equal scores = disgust, angry; both miss, against fear then happy.
    assert matrix[LABEL["fear"]][LABEL["disgust"]] == 1
    assert matrix[LABEL["happy"]][LABEL["angry"]] == 1


def test_topk_confusion_rejects_rows_without_gold(topk_confusion):
    with pytest.raises(ValueError, match="at least one gold"):
        topk_confusion.compute(predictions=[scores(happy=1.0)], references=np.zeros((1, NUM_LABELS)))


# --- compute_emotion_metrics and the Trainer hook ----------------------------------------------------------


def padded_eval_pred(rng: np.random.Generator) -> SimpleNamespace:
    """Two dialogues of up to 4 utterances: target_mask 1 (scored), 0 (context only), -100 (Trainer padding)."""
    mask = np.array([[1, 1, 0, 1], [1, 1, -100, -100]], dtype=float)
    probs = rng.dirichlet(np.ones(NUM_LABELS), size=(2, 4))
    majority = np.eye(NUM_LABELS)[rng.integers(0, NUM_LABELS, (2, 4))]
    majority[0, 0, [LABEL["angry"], LABEL["neutral"]]] = 1  # a tie among the scored ones
    arousal, valence = rng.uniform(1, 5, (2, 4)), rng.uniform(1, 5, (2, 4))
    arousal_labels, valence_labels = rng.uniform(1, 5, (2, 4)), rng.uniform(1, 5, (2, 4))
    for array in (probs, majority, arousal, valence, arousal_labels, valence_labels):
        array[mask == -100] = -100  # what Trainer's cross-batch padding writes
    votes = majority / majority.sum(axis=-1, keepdims=True)
    return SimpleNamespace(
        predictions=(probs, arousal, valence),
        label_ids=(votes, arousal_labels, valence_labels, majority, mask),
    )


def test_compute_metrics_returns_flat_floats_over_the_scored_utterances():
    eval_pred = padded_eval_pred(np.random.default_rng(8))
    result = make_compute_metrics()(eval_pred)
    at_k = [f"{score}_at_{k}" for score in ("precision", "recall", "f1") for k in (1, 2)]
    at_1_batch64 = ["precision_at_1_batch64", "recall_at_1_batch64", "f1_at_1_batch64"]
    topk = ["topk_confusion_precision", "topk_confusion_recall", "topk_confusion_f1"]
    standard = ["accuracy", "macro_f1", "weighted_f1", "ccc_arousal", "ccc_valence"]
    assert set(result) == {*at_k, *at_1_batch64, *topk, *standard}
    assert all(isinstance(value, float) for value in result.values())
    probs, arousal, valence = eval_pred.predictions
    _, arousal_labels, valence_labels, majority, mask = eval_pred.label_ids
    keep = mask == 1
    direct = compute_emotion_metrics(
        probs[keep], majority[keep], arousal[keep], arousal_labels[keep], valence[keep], valence_labels[keep]
    )
    assert result == direct


def test_compute_metrics_ignores_masked_positions_only():
    compute_metrics = make_compute_metrics()
    eval_pred = padded_eval_pred(np.random.default_rng(9))
    probs, arousal, valence = eval_pred.predictions
    scored = (0, 1)
    gold = eval_pred.label_ids[3][scored]
    probs[scored] = gold / gold.sum()  # right in the baseline, so making it wrong must show
    baseline = compute_metrics(eval_pred)
    for masked in [(0, 2), (1, 3)]:  # target_mask 0 and -100
        probs[masked] = np.eye(NUM_LABELS)[0] * 50.0
        arousal[masked] = valence[masked] = 99.0
    assert compute_metrics(eval_pred) == baseline
    probs[scored] = np.roll(gold, 1)  # a one-hot gold row moved one class on: certainly wrong
    arousal[scored] = 99.0
    changed = compute_metrics(eval_pred)
    assert changed["accuracy"] != baseline["accuracy"]
    assert changed["f1_at_1_batch64"] != baseline["f1_at_1_batch64"]
    assert changed["topk_confusion_f1"] != baseline["topk_confusion_f1"]
    assert changed["ccc_arousal"] != baseline["ccc_arousal"]
    assert changed["ccc_valence"] == baseline["ccc_valence"]


def test_compute_metrics_rejects_another_layout():
    eval_pred = padded_eval_pred(np.random.default_rng(10))
    eval_pred.predictions = eval_pred.predictions[:2]
    with pytest.raises(ValueError, match="expected predictions"):
        make_compute_metrics()(eval_pred)


def test_compute_metrics_refuses_a_bool_mask():
    eval_pred = padded_eval_pred(np.random.default_rng(12))
    labels = eval_pred.label_ids
    eval_pred.label_ids = (*labels[:4], labels[4] == 1)
    with pytest.raises(TypeError, match="not bool"):
        make_compute_metrics()(eval_pred)


def test_confusion_matrices_are_7x7_and_count_every_label():
    probs = np.random.default_rng(11).dirichlet(np.ones(NUM_LABELS), size=20)
    gold = multi_hot(*([["angry", "neutral"]] * 10 + [["sad"]] * 10))
    matrices = confusion_matrices(probs, gold)
    assert matrices["topk"].shape == matrices["argmax"].shape == (NUM_LABELS, NUM_LABELS)
    assert matrices["topk"].sum() == 30  # 10 utterances x 2 gold + 10 x 1
    assert matrices["argmax"].sum() == 20


# --- loading -------------------------------------------------------------------------------------------------


def test_modules_load_by_path_without_network(monkeypatch):
    import evaluate

    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE"):
        monkeypatch.setenv(variable, "1")
    monkeypatch.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", True)  # evaluate reads the variable at import

    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in METRIC_NAMES:
        metric = load_metric(name)
        assert metric_path(name).endswith(f"metrics/{name}.py")
        assert metric.description.strip() and metric.inputs_description.strip()
        assert set(metric.features) == {"predictions", "references"}
    gold = multi_hot(["angry"], ["sad", "happy"])
    assert load_metric("topk_confusion").compute(predictions=gold, references=gold)["f1"] == 1.0
    assert load_metric("precision_recall_at_k").compute(predictions=gold, references=gold)["precision_at_1"] == 1.0
    assert attempts == []


def test_unknown_metric_name():
    with pytest.raises(ValueError, match="unknown metric"):
        load_metric("f1")


@pytest.mark.slow
def test_importing_the_metrics_does_not_import_evaluate():
    code = "import sys, mate_hf, mate_hf.metrics; assert 'evaluate' not in sys.modules, 'evaluate imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
