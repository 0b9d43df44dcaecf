"""The annotation rows and the sampled evaluator votes (emotion, valence, arousal) on them."""

from __future__ import annotations

from random import Random

from .model import EMOTIONS, N_EVAL, Row, Segment, weighted

# Evaluator valence/arousal means per voted emotion.
VA_MEANS = {
    "disgust": (2.0, 3.1),
    "angry": (1.7, 4.2),
    "sad": (1.8, 2.0),
    "fear": (2.0, 3.8),
    "surprise": (3.3, 4.2),
    "neutral": (3.0, 3.0),
    "happy": (4.2, 3.8),
}

# Classes evaluators confuse an emotion with (most likely first).
NEIGHBOURS = {
    "disgust": ["angry", "neutral", "sad"],
    "angry": ["disgust", "neutral", "sad"],
    "sad": ["neutral", "fear", "disgust"],
    "fear": ["surprise", "sad", "neutral"],
    "surprise": ["happy", "fear", "neutral"],
    "neutral": ["happy", "sad", "surprise", "angry"],
    "happy": ["neutral", "surprise"],
}


def majority(votes: list[str]) -> list[str]:
    """The most voted classes, in reference order (more than one on a tie)."""
    counts = {e: votes.count(e) for e in EMOTIONS}
    top = max(counts.values())
    return [e for e in EMOTIONS if counts[e] == top]


def vote_counts(votes: list[str]) -> list[int]:
    return [votes.count(e) for e in EMOTIONS]


def sample_votes(rng: Random, intended: str) -> list[str]:
    """10 votes with a unique majority for ``intended``."""
    while True:
        k = rng.randint(6, 9) if intended == "neutral" else rng.randint(5, 8)
        votes = [intended] * k
        neigh = NEIGHBOURS[intended]
        weights = {n: 1.0 / (i + 1) for i, n in enumerate(neigh)}
        for e in EMOTIONS:
            if e != intended:
                weights.setdefault(e, 0.08)
        votes += [weighted(rng, weights) for _ in range(N_EVAL - k)]
        if majority(votes) == [intended]:
            rng.shuffle(votes)
            return votes


def sample_tie_votes(rng: Random, intended: str, three_way: bool) -> list[str]:
    """10 votes whose majority ties ``intended`` with a likely confusion (and a third class if ``three_way``)."""
    neigh = NEIGHBOURS[intended]
    partner = rng.choice(neigh[:2])
    others = [e for e in EMOTIONS if e not in (intended, partner)]
    rng.shuffle(others)
    if three_way:
        votes = [intended] * 3 + [partner] * 3 + [others[0]] * 3 + [others[1]]
    else:
        pattern = rng.choice([(5, 5), (4, 4, 2), (4, 4, 1, 1), (3, 3, 2, 2)])
        votes = [intended] * pattern[0] + [partner] * pattern[1]
        for i, n in enumerate(pattern[2:]):
            votes += [others[i]] * n
    rng.shuffle(votes)
    assert len(majority(votes)) >= 2
    return votes


def sample_va(rng: Random, votes: list[str]) -> list[tuple[int, int]]:
    """Valence and arousal (1-5) per evaluator around the means of the voted class, with a per-row offset."""
    dv, da = rng.gauss(0, 0.25), rng.gauss(0, 0.25)
    out = []
    for e in votes:
        mv, ma = VA_MEANS[e]
        v = min(5, max(1, round(rng.gauss(mv + dv, 0.6))))
        a = min(5, max(1, round(rng.gauss(ma + da, 0.6))))
        out.append((v, a))
    return out


def finish_row(row: Row) -> None:
    """Fill the cells derived from the votes: vote cells, Total Evaluation and the mean valence/arousal."""
    row.vote_cells = list(row.votes)
    row.total_cell = ";".join(majority(row.votes))
    row.total_v = round(sum(v for v, _ in row.va) / N_EVAL, 2)
    row.total_a = round(sum(a for _, a in row.va) / N_EVAL, 2)


def vote(rng: Random, row: Row) -> None:
    """The evaluators vote on ``row`` with a clear majority for its intended emotion."""
    row.votes = sample_votes(rng, row.intended)
    row.va = sample_va(rng, row.votes)
    finish_row(row)


def vote_tie(rng: Random, row: Row, emotion: str, three_way: bool = False) -> None:
    """The evaluators vote on ``row`` again, so that ``emotion`` ties with another class."""
    row.votes = sample_tie_votes(rng, emotion, three_way)
    row.va = sample_va(rng, row.votes)
    finish_row(row)
    row.tie = True


def vote_all(rng: Random, files: dict[str, list[Row]]) -> None:
    for rows in files.values():
        for r in rows:
            vote(rng, r)


def kemdy19_rows(sessions: list[str], segments: list[Segment]) -> dict[str, list[Row]]:
    """Rows per ``SessionNN_{F,M}_res.csv``: every segment of the session, as speaker in its own gender's file."""
    files: dict[str, list[Row]] = {}
    for session in sessions:
        sess_segs = [s for s in segments if s.session == session]
        for fg in ("F", "M"):
            rows = []
            for s in sess_segs:
                role = "speaker" if s.gender == fg else "listener"
                intended = s.speaker_emotion if role == "speaker" else s.listener_emotion
                rows.append(Row(segment=s, sid_written=s.sid, role=role, intended=intended))
            files[f"annotation/{session}_{fg}_res.csv"] = rows
    return files


def kemdy20_rows(rng: Random, sessions: list[str], segments: list[Segment]) -> dict[str, list[Row]]:
    """Voted rows per ``SessNN_eval.csv``, speaker labels only."""
    files: dict[str, list[Row]] = {}
    for session in sessions:
        rows = [
            Row(segment=s, sid_written=s.sid, role="speaker", intended=s.speaker_emotion)
            for s in segments
            if s.session == session
        ]
        for r in rows:
            vote(rng, r)
        files[f"annotation/Sess{session[-2:]}_eval.csv"] = rows
    return files
