"""Session-wise splits: the paper's folds and validation sessions, and generic helpers.

Splits always go by whole sessions, so no actor (or dialogue) is on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from datasets import Dataset, Value, concatenate_datasets

# The paper's 5-fold cross-validation on KEMDy19 and its validation sessions (step 1 of the protocol).
KEMDY19_FOLDS: tuple[tuple[int, ...], ...] = tuple(tuple(range(first, first + 4)) for first in range(1, 21, 4))
KEMDY19_VALIDATION_SESSIONS: tuple[int, ...] = (13, 14, 15, 16)
# KEMDy20's 40 sessions in 5 folds of 8 consecutive sessions.
KEMDY20_FOLDS: tuple[tuple[int, ...], ...] = tuple(tuple(range(first, first + 8)) for first in range(1, 41, 8))


def session_number(session: str | int) -> int:
    """``"Session13"`` (or ``"Sess13"``, ``13``) → 13."""
    if isinstance(session, int):
        return session
    match = re.search(r"(\d+)\s*$", session)
    if match is None:
        raise ValueError(f"no session number in {session!r}")
    return int(match[1])


def session_folds(session_numbers: Iterable[int | str], n_folds: int = 5) -> tuple[tuple[int, ...], ...]:
    """Split the sorted sessions into ``n_folds`` groups of consecutive sessions.

    Sizes differ by at most one, the larger groups first (20 sessions → the paper's folds;
    the 10-session demo corpus → two sessions per fold).
    """
    numbers = sorted({session_number(session) for session in session_numbers})
    if not 1 <= n_folds <= len(numbers):
        raise ValueError(f"cannot make {n_folds} folds from {len(numbers)} session(s)")
    size, larger = divmod(len(numbers), n_folds)
    folds, start = [], 0
    for fold in range(n_folds):
        end = start + size + (fold < larger)
        folds.append(tuple(numbers[start:end]))
        start = end
    return tuple(folds)


def split_by_sessions(dataset: Dataset, test_sessions: Iterable[int | str]) -> tuple[Dataset, Dataset]:
    """``(train, test)``: the dialogues of ``test_sessions`` and all the others.

    Raises `ValueError` for a test session absent from the dataset (a typo would otherwise
    give an empty test set). On a `combine`-d dataset, session numbers of both corpora match;
    split each corpus first and combine the parts instead.
    """
    wanted = {session_number(session) for session in test_sessions}
    numbers = [session_number(session) for session in dataset["session"]]
    absent = sorted(wanted - set(numbers))
    if not wanted or absent:
        raise ValueError(f"test sessions {absent or 'none'} not in the dataset (it has {sorted(set(numbers))})")
    test = [index for index, number in enumerate(numbers) if number in wanted]
    train = [index for index, number in enumerate(numbers) if number not in wanted]
    return dataset.select(train), dataset.select(test)


def cross_validation_splits(
    dataset: Dataset, folds: Iterable[Iterable[int]] | None = None
) -> list[tuple[Dataset, Dataset]]:
    """``(train, test)`` per fold; the default folds are `session_folds` of the dataset's sessions."""
    if folds is None:
        folds = session_folds(dataset["session"])
    return [split_by_sessions(dataset, fold) for fold in folds]


def combine(kemdy19: Dataset, kemdy20: Dataset) -> Dataset:
    """Concatenate the two corpora's dialogue datasets, with a ``corpus`` column telling them apart."""
    parts = []
    for name, dataset in (("KEMDy19", kemdy19), ("KEMDy20", kemdy20)):
        if "corpus" in dataset.column_names:
            raise ValueError(f"the {name} dataset already has a 'corpus' column")
        parts.append(dataset.add_column("corpus", [name] * len(dataset), feature=Value("string")))
    return concatenate_datasets(parts)
