"""Session-wise folds and splits of dialogue-level datasets."""

import pytest
from datasets import Dataset

from mate_hf.data import (
    DIALOGUE_FEATURES,
    KEMDY19_FOLDS,
    KEMDY19_VALIDATION_SESSIONS,
    KEMDY20_FOLDS,
    combine,
    cross_validation_splits,
    session_folds,
    session_number,
    split_by_sessions,
)


def dialogues(sessions: list[int], role: str = "speaker") -> Dataset:
    """One two-utterance dialogue per entry of `sessions`."""
    rows = []
    for index, number in enumerate(sessions):
        rows.append(
            {
                "session": f"Session{number:02d}",
                "dialogue_id": f"Sess{number:02d}_script{index:02d}",
                "role": role,
                "segment_id": [f"Sess{number:02d}_script{index:02d}_F001", f"Sess{number:02d}_script{index:02d}_M002"],
                "audio_path": ["/a.wav", "/b.wav"],
                "text": ["가", "나"],
                "raw_text": ["가", "나"],
                "speaker_gender": ["F", "M"],
                "emotion_votes": [[0.0] * 6 + [1.0], [1.0] + [0.0] * 6],
                "emotion_majority": [[0] * 6 + [1], [1] + [0] * 6],
                "arousal": [3.0, 2.0],
                "valence": [4.0, 1.5],
            }
        )
    return Dataset.from_dict(
        {name: [row[name] for row in rows] for name in DIALOGUE_FEATURES}, features=DIALOGUE_FEATURES
    )


def test_paper_folds():
    assert KEMDY19_FOLDS == ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
    assert tuple(range(13, 17)) == KEMDY19_VALIDATION_SESSIONS == KEMDY19_FOLDS[3]
    assert len(KEMDY20_FOLDS) == 5 and all(len(fold) == 8 for fold in KEMDY20_FOLDS)
    assert sum(KEMDY20_FOLDS, ()) == tuple(range(1, 41))


def test_session_folds_reproduce_the_paper_and_split_other_corpora():
    assert session_folds(range(1, 21)) == KEMDY19_FOLDS
    assert session_folds(range(1, 41)) == KEMDY20_FOLDS
    assert session_folds(["Session05", "Session01", "Session03", "Session02", "Session04"]) == (
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
    )
    assert session_folds(range(1, 8), n_folds=3) == ((1, 2, 3), (4, 5), (6, 7))
    with pytest.raises(ValueError, match="3 folds from 2"):
        session_folds([1, 2], n_folds=3)


@pytest.mark.parametrize(("name", "number"), [("Session13", 13), ("Sess04", 4), (7, 7)])
def test_session_number(name, number):
    assert session_number(name) == number


def test_split_by_sessions_keeps_whole_sessions_apart():
    dataset = dialogues([1, 1, 2, 3, 13, 14, 14])
    train, test = split_by_sessions(dataset, ["Session14", 13])
    assert test["session"] == ["Session13", "Session14", "Session14"]
    assert train["session"] == ["Session01", "Session01", "Session02", "Session03"]
    assert train.features == test.features == DIALOGUE_FEATURES
    with pytest.raises(ValueError, match=r"\[15, 16\] not in the dataset"):
        split_by_sessions(dataset, KEMDY19_VALIDATION_SESSIONS)


def test_cross_validation_splits_cover_each_dialogue_once_as_test():
    dataset = dialogues([1, 2, 2, 3, 4, 5])
    splits = cross_validation_splits(dataset)
    assert len(splits) == 5
    tested = [dialogue for _, test in splits for dialogue in test["dialogue_id"]]
    assert sorted(tested) == sorted(dataset["dialogue_id"])
    for train, test in splits:
        assert not set(train["session"]) & set(test["session"])
        assert len(train) + len(test) == len(dataset)


def test_combine_adds_a_corpus_column():
    combined = combine(dialogues([1, 2]), dialogues([1]))
    assert combined["corpus"] == ["KEMDy19", "KEMDy19", "KEMDy20"]
    assert combined.features["corpus"].dtype == "string"
    empty = combine(dialogues([1]), dialogues([]))
    assert empty["corpus"] == ["KEMDy19"]
    with pytest.raises(ValueError, match="corpus"):
        combine(combined, dialogues([1]))
