"""The plan: sessions, dialogues and segments, each with its emotions, transcript, prosody and nominal times.

Every choice is drawn from the one seeded ``Random`` in a fixed order; keep that order, or the
bundled corpus is no longer reproduced byte for byte.
"""

from __future__ import annotations

import re
from random import Random

from .model import EMOTIONS, Segment, weighted
from .texts import add_markers, choose_text

KEMDY19_SESSIONS = 10

# Prosody (espeak-ng) per emotion: pitch offset, speed (wpm), amplitude, SSML pitch range.
VOICES = {"F": ("ko+f3", 56), "M": ("ko+m3", 38)}  # voice, base pitch (-p)
PROSODY = {
    "neutral": (0, 230, 100, "medium"),
    "happy": (16, 250, 125, "x-high"),
    "angry": (6, 265, 185, "high"),
    "sad": (-14, 185, 55, "x-low"),
    "fear": (20, 260, 70, "x-high"),
    "surprise": (28, 240, 150, "x-high"),
    "disgust": (-10, 195, 95, "low"),
}

# Listener's emotion given the speaker's (weights).
LISTENER_REACTION = {
    "neutral": {"neutral": 0.8, "happy": 0.07, "sad": 0.07, "surprise": 0.06},
    "happy": {"happy": 0.6, "surprise": 0.2, "neutral": 0.2},
    "sad": {"sad": 0.55, "neutral": 0.25, "fear": 0.2},
    "fear": {"fear": 0.5, "sad": 0.2, "surprise": 0.2, "neutral": 0.1},
    "surprise": {"surprise": 0.5, "happy": 0.25, "fear": 0.25},
    "disgust": {"disgust": 0.45, "angry": 0.3, "neutral": 0.25},
    "angry": {"angry": 0.35, "sad": 0.25, "fear": 0.25, "disgust": 0.15},
}

# Which modality carries a non-neutral emotion (a neutral one is always "both").
KINDS = {"both": 0.4, "audio_only": 0.3, "text_only": 0.3}


def speaker_emotions(rng: Random, n: int) -> list[str]:
    """Quota per session: every non-neutral class several times, neutral the rest."""
    per_class = max(3, round(n * 0.09))
    emos = []
    for e in EMOTIONS:
        if e != "neutral":
            emos += [e] * (per_class + rng.randint(0, 1))
    emos += ["neutral"] * (n - len(emos))
    rng.shuffle(emos)
    return emos


def session_emotions(rng: Random, n: int) -> tuple[list[str], list[str]]:
    """Speaker and listener emotions of a session's ``n`` turns, every class at least 3 times in both roles."""
    for _attempt in range(1000):
        sub = Random(rng.random())  # a redraw consumes one number of the main stream, however long it takes
        spk = speaker_emotions(sub, n)
        lis = [weighted(sub, LISTENER_REACTION[e]) for e in spk]
        if all(spk.count(e) >= 3 and lis.count(e) >= 3 for e in EMOTIONS):
            return spk, lis
    raise RuntimeError("could not draw emotions")


def prosody(rng: Random, gender: str, audio_emotion: str) -> tuple[str, int, int, int, str]:
    """espeak-ng voice, pitch, speed, amplitude and SSML pitch range, jittered per utterance."""
    voice, base = VOICES[gender]
    dp, speed, amp, prange = PROSODY[audio_emotion]
    pitch = min(99, max(0, base + dp + rng.randint(-4, 4)))
    speed = speed + rng.randint(-12, 12)
    amp = max(10, round(amp * rng.uniform(0.92, 1.08)))
    return voice, pitch, speed, amp, prange


def make_segment(
    rng: Random,
    corpus: str,
    session: str,
    dialogue: str,
    turn: int,
    gender: str,
    sid: str,
    emotion: str,
    listener: str | None,
    rate: int,
    wav_dir: str,
    short: bool,
) -> Segment:
    """One turn: which modality carries the emotion, then its sentence, then its prosody."""
    kind = "both" if emotion == "neutral" else weighted(rng, KINDS)
    text, audio_emotion = choose_text(rng, emotion, kind, short)
    voice, pitch, speed, amp, prange = prosody(rng, gender, audio_emotion)
    return Segment(
        sid=sid,
        corpus=corpus,
        session=session,
        dialogue=dialogue,
        turn=turn,
        gender=gender,
        speaker_emotion=emotion,
        listener_emotion=listener,
        kind=kind,
        text_clean=text,
        text_raw=text,
        voice=voice,
        pitch=pitch,
        speed=speed,
        amplitude=amp,
        pitch_range=prange,
        sample_rate=rate,
        wav_rel=f"{wav_dir}/{sid}.wav",
        txt_rel=f"{wav_dir}/{sid}.txt",
    )


def nominal_times(rng: Random, segments: list[Segment]) -> None:
    """Plausible cumulative times within each dialogue (independent of the audio)."""
    t, dialogue = 0.0, None
    for s in segments:
        if s.dialogue != dialogue:
            t, dialogue = rng.uniform(1.0, 3.0), s.dialogue
        syll = len(re.sub(r"[^가-힣]", "", s.text_clean))
        dur = 0.15 + syll * 37.0 / s.speed
        s.start = round(t, 4)
        s.end = round(t + dur, 4)
        t = s.end + rng.uniform(0.3, 1.5)


def kemdy19_dialogue_layout(rng: Random, si: int) -> list[tuple[str, int, str]]:
    """(dialogue, number of turns, who speaks first) of session ``si``; Session04 adds the quick impro03."""
    names = ["script01", "script02", "impro01", "impro02"] + (["impro03"] if si == 4 else [])
    layout = []
    for di, name in enumerate(names):
        n = 30 if name == "impro03" else rng.randint(8, 9)
        first = "F" if (si + di) % 2 == 0 else "M"
        layout.append((f"Sess{si:02d}_{name}", n, first))
    return layout


def finish_plan(rng: Random, sessions: list[str], dialogues: dict[str, list[Segment]]):
    """(sessions, all segments in dialogue/turn order, dialogues), once the markers and nominal times are drawn."""
    segments = [s for turns in dialogues.values() for s in turns]
    add_markers(rng, segments)
    nominal_times(rng, segments)
    return sessions, segments, dialogues


def plan_kemdy19(rng: Random):
    """(sessions, segments in dialogue/turn order, dialogue -> its segments) of KEMDy19."""
    sessions = [f"Session{i:02d}" for i in range(1, KEMDY19_SESSIONS + 1)]
    dialogues: dict[str, list[Segment]] = {}
    for si, session in enumerate(sessions, start=1):
        layout = kemdy19_dialogue_layout(rng, si)
        speaker, listener = session_emotions(rng, sum(n for _, n, _ in layout))
        k = 0  # turn index within the session
        for dname, n, first in layout:
            dialogues[dname] = []
            for turn in range(1, n + 1):
                gender = first if turn % 2 == 1 else ("M" if first == "F" else "F")
                segment = make_segment(
                    rng,
                    "KEMDy19",
                    session,
                    dname,
                    turn,
                    gender,
                    sid=f"{dname}_{gender}{turn:03d}",
                    emotion=speaker[k],
                    listener=listener[k],
                    rate=11025 if dname == "Sess03_script01" else 8000,
                    wav_dir=f"wav/{session}/{dname}",
                    short=dname.endswith("impro03"),
                )
                dialogues[dname].append(segment)
                k += 1
    return finish_plan(rng, sessions, dialogues)


def plan_kemdy20(rng: Random):
    """(sessions, segments, dialogues) of the KEMDy20 fixture: 2 sessions x 1 dialogue x 6 turns, speaker only."""
    layout = [
        ("Session01", "Sess01_script01", ("User002M", "User001F")),
        ("Session02", "Sess02_script01", ("User003F", "User004M")),
    ]
    emotions = ["happy", "angry", "sad", "fear", "surprise", "disgust"] + ["neutral"] * 6
    rng.shuffle(emotions)
    dialogues: dict[str, list[Segment]] = {}
    for session, dname, users in layout:
        dialogues[dname] = []
        for turn in range(1, 7):
            user = users[(turn - 1) % 2]
            segment = make_segment(
                rng,
                "KEMDy20",
                session,
                dname,
                turn,
                user[-1],
                sid=f"{dname}_{user}_{turn:03d}",
                emotion=emotions.pop(0),
                listener=None,
                rate=8000,
                wav_dir=f"wav/{session}",
                short=False,
            )
            dialogues[dname].append(segment)
    return finish_plan(rng, [session for session, _, _ in layout], dialogues)
