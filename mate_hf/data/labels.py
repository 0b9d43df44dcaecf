"""The seven emotion classes and the parsing of emotion cells of the annotation files."""

from __future__ import annotations

from ..configuration_mate import EMOTION_LABELS

NUM_EMOTIONS = len(EMOTION_LABELS)

# Misspellings found in the released annotation files, mapped to the class they mean.
SPELLING_REPAIRS: dict[str, str] = {"disqust": "disgust"}

_INDEX = {name: index for index, name in enumerate(EMOTION_LABELS)}


class UnknownEmotionError(ValueError):
    """An emotion cell names no known class (after the spelling repairs)."""


def parse_emotion(cell: str) -> tuple[int, bool]:
    """Class index of one emotion name, and whether a spelling repair was needed.

    Names are matched case-insensitively with surrounding spaces ignored.
    """
    name = cell.strip().lower()
    repaired = name in SPELLING_REPAIRS
    name = SPELLING_REPAIRS.get(name, name)
    if name not in _INDEX:
        raise UnknownEmotionError(f"unknown emotion {cell!r} (expected one of {', '.join(EMOTION_LABELS)})")
    return _INDEX[name], repaired


def parse_emotion_set(cell: str) -> tuple[list[int], bool]:
    """Class indices of a Total Evaluation cell, which joins a tie with ';' (e.g. ``angry;neutral``)."""
    names = [part for part in cell.split(";") if part.strip()]
    if not names:
        raise UnknownEmotionError(f"empty emotion cell {cell!r}")
    parsed = [parse_emotion(name) for name in names]
    indices = sorted({index for index, _ in parsed})
    return indices, any(repaired for _, repaired in parsed)


def multi_hot(indices: list[int]) -> list[int]:
    """7-long 0/1 list with a 1 at every given class index."""
    chosen = set(indices)
    return [int(index in chosen) for index in range(NUM_EMOTIONS)]


def vote_distribution(indices: list[int]) -> list[float]:
    """Share of the evaluators' votes per class (each evaluator gives one vote)."""
    counts = [0] * NUM_EMOTIONS
    for index in indices:
        counts[index] += 1
    return [count / len(indices) for count in counts]
