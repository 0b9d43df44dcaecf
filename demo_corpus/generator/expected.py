"""What a reader of the corpus must produce (labels, counts per role), and the checks of the corpus design."""

from __future__ import annotations

from .model import EMOTIONS, SKIP_REASONS, Row, Segment
from .votes import majority, vote_counts


def label_of(r: Row, file: str, idx: int) -> dict:
    """The label a reader must take from data row ``idx`` of ``file``."""
    return {
        "file": file,
        "row": idx,
        "line": idx + 2,
        "segment_id_written": r.sid_written,
        "majority": majority(r.votes),
        "votes": vote_counts(r.votes),
        "valence": r.total_v,
        "arousal": r.total_a,
    }


def expected_counts(files: dict[str, list[Row]], dialogues: dict[str, list[Segment]], roles):
    """Per role: rows read, used and skipped (per reason), and the segment ids per dialogue after skipping."""
    exp = {}
    for role in roles:
        read = [r for rows in files.values() for r in rows if r.role == role]
        skipped = {reason: 0 for reason in SKIP_REASONS}
        for r in read:
            if r.skip:
                skipped[r.skip] += 1
        used = {r.segment.sid for r in read if r.skip is None}
        dlg = {d: [s.sid for s in segs if s.sid in used] for d, segs in dialogues.items()}
        exp[role] = {
            "rows_read": len(read),
            "rows_used": len(read) - sum(skipped.values()),
            "rows_skipped": skipped,
            "rows_skipped_total": sum(skipped.values()),
            "utterances_per_dialogue": {d: len(v) for d, v in dlg.items()},
            "dialogues": dlg,
        }
        assert exp[role]["rows_used"] == len(used) == sum(len(v) for v in dlg.values())
    return exp


def check_design(segments, files) -> dict:
    """Assert the class-coverage and share requirements; return summary stats."""
    stats = {}
    for role in ("speaker", "listener"):
        per_session = {}
        for rows in files.values():
            for r in rows:
                if r.role == role and r.skip is None:
                    per_session.setdefault(r.segment.session, []).append(r.intended)
        for sess, emos in per_session.items():
            for e in EMOTIONS:
                assert emos.count(e) >= 2, (role, sess, e)
        allv = [e for v in per_session.values() for e in v]
        stats[role] = {e: allv.count(e) for e in EMOTIONS}
        assert max(stats[role], key=stats[role].get) == "neutral"
    kinds = [s.kind for s in segments]
    stats["kinds"] = {k: kinds.count(k) for k in ("both", "audio_only", "text_only")}
    diff = sum(s.speaker_emotion != s.listener_emotion for s in segments)
    stats["listener_differs"] = round(diff / len(segments), 3)
    assert stats["listener_differs"] >= 0.25
    return stats
