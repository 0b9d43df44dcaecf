"""Corpus readers (KEMDy19, KEMDy20), load reports and session splits.

Readers return a `datasets.Dataset` with one row per dialogue (see `DIALOGUE_FEATURES`) and a
`LoadReport` of everything skipped, lost, repaired or noticed. Importing this package does not
import torch.
"""

from .dialogues import DIALOGUE_FEATURES, UTTERANCE_COLUMNS
from .kemdy19 import KNOWN_BROKEN_SEGMENTS, ROLES, load_kemdy19
from .kemdy20 import load_kemdy20
from .labels import EMOTION_LABELS, NUM_EMOTIONS
from .report import LOSS_REASONS, NOTE_REASONS, REPAIR_REASONS, SKIP_REASONS, LoadReport, ReportEntry
from .splits import (
    KEMDY19_FOLDS,
    KEMDY19_VALIDATION_SESSIONS,
    KEMDY20_FOLDS,
    combine,
    cross_validation_splits,
    session_folds,
    session_number,
    split_by_sessions,
)
from .transcripts import clean_transcript, read_transcript

__all__ = [
    "DIALOGUE_FEATURES",
    "EMOTION_LABELS",
    "KEMDY19_FOLDS",
    "KEMDY19_VALIDATION_SESSIONS",
    "KEMDY20_FOLDS",
    "KNOWN_BROKEN_SEGMENTS",
    "LOSS_REASONS",
    "NOTE_REASONS",
    "NUM_EMOTIONS",
    "REPAIR_REASONS",
    "ROLES",
    "SKIP_REASONS",
    "UTTERANCE_COLUMNS",
    "LoadReport",
    "ReportEntry",
    "clean_transcript",
    "combine",
    "cross_validation_splits",
    "load_kemdy19",
    "load_kemdy20",
    "read_transcript",
    "session_folds",
    "session_number",
    "split_by_sessions",
]
