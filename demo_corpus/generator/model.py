"""The corpus's vocabulary: emotion classes, skip reasons and the records every step passes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

EMOTIONS = ["disgust", "angry", "sad", "fear", "surprise", "neutral", "happy"]  # reference class order
N_EVAL = 10  # evaluators per annotation row
KNOWN_BROKEN = ["Sess04_impro03_F031", "Sess04_impro03_M031"]
SKIP_REASONS = [  # in the order a reader reports them when several apply
    "known_broken",
    "duplicate_segment_id",
    "mismatched_segment_id",
    "missing_wav",
    "missing_txt",
]


@dataclass
class Segment:
    """One spoken turn: who says what with which intended emotions, and how espeak-ng voices it."""

    sid: str
    corpus: str
    session: str
    dialogue: str
    turn: int
    gender: str
    speaker_emotion: str
    listener_emotion: str | None
    kind: str
    text_clean: str
    text_raw: str
    voice: str
    pitch: int
    speed: int
    amplitude: int
    pitch_range: str
    sample_rate: int
    wav_rel: str
    txt_rel: str
    start: float = 0.0
    end: float = 0.0
    write_wav: bool = True
    write_txt: bool = True
    txt_encoding: str = "utf-8"
    duration: float | None = None


@dataclass
class Row:
    """One annotation data row (as written, plus what it means)."""

    segment: Segment | None
    sid_written: str
    role: str  # role implied by the written id and the file ("speaker"/"listener")
    intended: str
    votes: list[str] = field(default_factory=list)  # canonical names, evaluator order
    va: list[tuple[int, int]] = field(default_factory=list)
    vote_cells: list[str] = field(default_factory=list)  # as written
    total_cell: str = ""
    total_v: float = 0.0
    total_a: float = 0.0
    skip: str | None = None
    tie: bool = False
    nominal: tuple[float, float] | None = None  # times of a row without a segment


@dataclass
class RowAt:
    """Where a row stands in its CSV, looked up only when the manifest is written (row numbers final)."""

    file: str
    row: Row
    with_role: bool = False


@dataclass
class Planted:
    """One planted quirk as the manifest lists it; ``details`` values may be ``RowAt`` (lists of them too)."""

    type: str
    session: str
    file: str
    row: Row | None  # None for a quirk of a wav/txt file rather than of an annotation row
    action: str
    details: dict = field(default_factory=dict)


@dataclass
class Corpus:
    """Everything drawn for one corpus (KEMDy19 or KEMDy20)."""

    name: str
    sessions: list[str]
    segments: list[Segment]
    dialogues: dict[str, list[Segment]]
    files: dict[str, list[Row]]  # annotation CSV path (relative to the corpus root) -> its data rows
    planted: list[Planted]


def weighted(rng: Random, weights: dict[str, float]) -> str:
    """One name drawn from a ``{name: weight}`` table."""
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]
