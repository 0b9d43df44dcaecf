"""Generate the synthetic KEMDy19/KEMDy20-format demo corpus of mate-hf.

Usage (from the repository root)::

    .venv/bin/python demo_corpus/make_demo_corpus.py            # writes demo_corpus/
    .venv/bin/python demo_corpus/make_demo_corpus.py --out DIR  # writes DIR/ instead

Needs ``espeak-ng`` (Korean voice ``ko``) and ``sox`` on PATH and Python 3.10+
(standard library only). Everything is synthetic: the voices are espeak-ng,
the "evaluator votes" are sampled. The corpus is for demos and tests only.

What is written (all paths below the output directory)
------------------------------------------------------
``KEMDy19/`` -- the exact on-disk layout of ETRI's KEMDy19 (see SPEC.md 2-3)::

    KEMDy19/annotation/Session01_F_res.csv, Session01_M_res.csv, ... Session10_*
    KEMDy19/wav/Session01/Sess01_script01/Sess01_script01_F001.wav (+ .txt beside)

10 sessions (Session01..10); per session the dialogues ``SessNN_script01``,
``SessNN_script02``, ``SessNN_impro01``, ``SessNN_impro02`` (8-9 turns each);
Session04 additionally has ``Sess04_impro03``, a quick 30-turn exchange of very
short utterances whose annotation rows continue with the real corpus's known
broken turn 31 (see the quirks below). Turns alternate between the two actors
F (espeak voice ``ko+f3``) and M (``ko+m3``, lower pitch); the number in a
segment id is the turn number within the dialogue, the letter is who speaks.
Audio: mono 16-bit PCM wav at 8000 Hz, except ``Sess03_script01`` at
11025 Hz (readers must resample to 16 kHz anyway).

KEMDy19 annotation CSV (UTF-8, ``,``-separated, ``\\n`` line ends, 43 columns,
TWO header rows, then one data row per segment)::

    row 1: Numb,Wav,,ECG,,E4-EDA,,E4-TEMP,,Segment ID,Total Evaluation,,,Eval01,,,...,Eval10,,
    row 2: ,start,end,start,end,start,end,start,end,,Emotion,Valence,Arousal,Emotion,Valence,Arousal,...

Data row: Numb (= 1-based data row index), Wav start/end (nominal seconds,
cumulative within the dialogue), ECG/E4-EDA/E4-TEMP start/end (nominal),
Segment ID, Total Evaluation emotion (majority of the 10 votes; a tie is
joined with ``;`` in the reference class order), Total valence and arousal
(mean of the 10 evaluators, 2 decimals), then per evaluator: emotion name,
valence int 1-5, arousal int 1-5. Every file lists every segment of the
session in dialogue/turn order. The row of segment ``..._M003`` in the M file
is the speaker's emotion, in the F file the listener's (vice versa for F).

``KEMDy20/`` -- a tiny fixture in KEMDy20's layout (speaker labels only)::

    KEMDy20/annotation/Sess01_eval.csv, Sess02_eval.csv
    KEMDy20/wav/Session01/Sess01_script01_User002M_001.wav (+ .txt beside)

KEMDy20 eval CSV (UTF-8, ``,``, 37 columns). Public code that reads the real
KEMDy20 files selects columns 0-6 as Numb, Wav start, Wav end, Segment ID,
Total Evaluation emotion/valence/arousal and skips one sub-header line
(``read_csv(header=1)`` or ``read_csv().iloc[1:]``), with evaluator groups
named ``Eval01F``, ``Eval02M``, ...; so this fixture also has TWO header rows,
read by the same position-relative logic as KEMDy19 (no bio-signal columns)::

    row 1: Numb,Wav,,Segment ID,Total Evaluation,,,Eval01F,,,Eval02M,,,...,Eval10M,,
    row 2: ,start,end,,Emotion,Valence,Arousal,Emotion,Valence,Arousal,...

Evaluator genders: Eval01F Eval02M Eval03M Eval04F Eval05M Eval06F Eval07F
Eval08M Eval09F Eval10M. Segment ids ``SessNN_scriptMM_UserUUUG_TTT`` with
TTT the turn number within the dialogue and G the speaker's gender.

``manifest.json`` -- everything that was written and what a reader of the
corpus must report (see its ``schema`` key), ``README.md`` -- a summary.

Emotion design
--------------
Classes, in the reference order: disgust, angry, sad, fear, surprise, neutral,
happy. Neutral is the most frequent; every session has every class several
times in both roles. The audio carries the emotion through espeak-ng's pitch
(``-p``), speed (``-s``), amplitude (``-a``) and SSML pitch range, with
per-utterance jitter; the transcript carries it through its words. About 20%
of the utterances are ``audio_only`` (a neutral sentence with emotional
prosody), about 20% ``text_only`` (an emotional sentence with neutral prosody),
the rest ``both``. The listener's emotion differs from the speaker's in a
clear share of segments.

Planted quirks (nothing else is irregular; all are listed in the manifest)
-------------------------------------------------------------------------
1. ``disqust`` in one evaluator cell and in one Total Evaluation cell;
2. one transcript encoded in cp949 instead of UTF-8;
3. ties in the Total Evaluation (two per session and role, one 3-way);
4. one missing ``.wav`` (its ``.txt`` exists) and one missing ``.txt``;
5. one duplicated row of a Segment ID (different valence/arousal; keep first);
6. a mis-entered id in an F file: ``Sess03_impro02_M001`` where the segment
   is ``Sess03_impro02_F001`` (as in the real corpus);
7. the real corpus's known broken ids ``Sess04_impro03_F031`` (M file) and
   ``Sess04_impro03_M031`` (F file) at the same row; no audio for that turn.

Reproducibility
---------------
All choices come from ``random.Random(SEED)``: re-running reproduces
byte-identical CSVs, transcripts and README. The wav bytes (and the measured
durations in the manifest) depend on the installed espeak-ng/sox versions
(made with espeak-ng 1.51 and SoX 14.4.2; sox runs without dither so the same
versions give identical bytes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from xml.sax.saxutils import escape

SEED = 20241125
EMOTIONS = ["disgust", "angry", "sad", "fear", "surprise", "neutral", "happy"]
N_EVAL = 10
KEMDY19_SESSIONS = 10
KNOWN_BROKEN = ["Sess04_impro03_F031", "Sess04_impro03_M031"]
SKIP_REASONS = [
    "known_broken",
    "duplicate_segment_id",
    "mismatched_segment_id",
    "missing_wav",
    "missing_txt",
]

# --------------------------------------------------------------------------
# Sentence pools (short, so that utterances stay around 0.8-2 s)
# --------------------------------------------------------------------------
SENTENCES = {
    "happy": [
        "정말 기뻐요 너무 좋아요",
        "와 진짜 신난다",
        "오늘 너무 행복해",
        "합격했어 정말 기뻐",
        "선물 고마워 너무 좋다",
        "우리 드디어 해냈어",
        "기분 최고야",
        "너무 즐거워요",
        "만나서 정말 반가워",
        "완전 마음에 들어",
        "행복해서 날아갈 것 같아",
        "웃음이 절로 나와",
    ],
    "angry": [
        "왜 이렇게 화나게 해",
        "진짜 짜증나 죽겠어",
        "그만 좀 해 화났어",
        "너 지금 장난해?",
        "도대체 뭐 하는 거야",
        "정말 화가 치밀어",
        "당장 나가",
        "몇 번을 말해야 알아",
        "참는 것도 한계야",
        "너 때문에 다 망쳤어",
        "소리 지르지 마",
        "약속을 또 어겼잖아",
    ],
    "sad": [
        "너무 슬퍼서 눈물이 나",
        "이제 다 끝났어",
        "혼자라서 외로워",
        "정말 보고 싶어",
        "마음이 너무 아파",
        "나만 힘든 것 같아",
        "그 사람이 떠났어",
        "아무것도 하기 싫어",
        "눈물이 멈추지 않아",
        "정말 서운했어",
        "너무 우울해",
        "다 내 잘못이야",
    ],
    "fear": [
        "너무 무서워요",
        "누가 따라오는 것 같아",
        "어떡해 겁이 나",
        "혼자 있기 무서워",
        "심장이 너무 떨려",
        "저기 뭔가 있어",
        "불 좀 켜줘 무서워",
        "큰일 나면 어떡하지",
        "소름이 돋았어",
        "가지 마 나 무서워",
        "손이 떨려서 못 하겠어",
        "이상한 소리가 나",
    ],
    "surprise": [
        "깜짝이야 진짜야?",
        "세상에 이게 뭐야",
        "어머 정말이야?",
        "헐 대박이다",
        "와 이럴 수가",
        "갑자기 어떻게 왔어?",
        "진짜 놀랐잖아",
        "설마 네가 한 거야?",
        "우와 믿을 수가 없어",
        "벌써 끝났다고?",
        "이게 왜 여기 있어?",
        "완전 의외다",
    ],
    "disgust": [
        "으 냄새 너무 역겨워",
        "더러워서 못 보겠어",
        "정말 끔찍하다",
        "그런 말 듣기 싫어",
        "토할 것 같아",
        "구역질 나 치워",
        "진짜 징그러워",
        "생각만 해도 싫다",
        "비겁해 역겨워",
        "정말 질색이야",
        "벌레 좀 치워줘",
        "위생이 엉망이네",
    ],
    "neutral": [
        "내일 회의는 세 시예요",
        "지금 몇 시야?",
        "버스 타고 왔어요",
        "점심은 뭐 먹을까",
        "서류는 책상에 있어",
        "오늘은 날씨가 흐려요",
        "다음 주에 다시 봐요",
        "이거 어디에 둘까?",
        "커피 한 잔 할래?",
        "집에 가는 길이야",
        "문 좀 닫아 줄래?",
        "그 책은 도서관에 있어",
        "숙제는 다 했어",
        "여기 몇 층이지?",
        "전화번호 알려 줄래?",
        "내일은 월요일이야",
        "창문 좀 열까?",
        "역은 저쪽이에요",
        "물 한 잔 주세요",
        "일곱 시에 만나자",
        "가방은 의자 위에 있어",
        "저녁은 집에서 먹어",
        "영화는 몇 시에 해?",
        "주소를 다시 알려 줘",
    ],
}

# Very short lines for the quick 30-turn exchange Sess04_impro03.
SHORT_SENTENCES = {
    "happy": ["좋아!", "신난다", "최고야", "고마워"],
    "angry": ["짜증나", "그만해", "나가", "화났어"],
    "sad": ["슬퍼", "속상해", "외로워", "서운해"],
    "fear": ["무서워", "겁나", "어떡해", "떨려"],
    "surprise": ["깜짝이야", "정말?", "대박", "어머"],
    "disgust": ["역겨워", "더러워", "징그러", "싫어"],
    "neutral": ["그래", "알았어", "응 맞아", "괜찮아", "그렇구나", "잠깐만", "뭐라고?", "어디야?"],
}

# --------------------------------------------------------------------------
# Prosody (espeak-ng) per emotion: pitch offset, speed (wpm), amplitude, SSML range
# --------------------------------------------------------------------------
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

MARKERS = ["c/", "n/", "l/", "b/", "*", "+", "paren"]
PAREN_FILLERS = ["(음)", "(어)", "(웃음)", "(그)"]

KEMDY19_ROW1 = (
    ["Numb", "Wav", "", "ECG", "", "E4-EDA", "", "E4-TEMP", "", "Segment ID"]
    + ["Total Evaluation", "", ""]
    + [x for i in range(1, N_EVAL + 1) for x in (f"Eval{i:02d}", "", "")]
)
KEMDY19_ROW2 = ["", "start", "end", "start", "end", "start", "end", "start", "end", ""] + [
    "Emotion",
    "Valence",
    "Arousal",
] * (N_EVAL + 1)
KEMDY20_EVAL_GENDERS = "FMMFMFFMFM"
KEMDY20_ROW1 = ["Numb", "Wav", "", "Segment ID", "Total Evaluation", "", ""] + [
    x for i in range(1, N_EVAL + 1) for x in (f"Eval{i:02d}{KEMDY20_EVAL_GENDERS[i - 1]}", "", "")
]
KEMDY20_ROW2 = ["", "start", "end", ""] + ["Emotion", "Valence", "Arousal"] * (N_EVAL + 1)


# --------------------------------------------------------------------------
# Transcript markers
# --------------------------------------------------------------------------
def clean_transcript(raw: str) -> str:
    """The cleaning rule the manifest's ``transcript_clean`` follows."""
    text = re.sub(r"\([^)]*\)", " ", raw)
    text = re.sub(r"\\[cn]", " ", text)
    text = re.sub(r"(?<![0-9A-Za-z])[cnNulb]/", " ", text)
    text = text.replace("*", "").replace("+", "").replace("/", " ")
    return re.sub(r"\s+", " ", text).strip()


def add_marker(rng: Random, clean: str, marker: str) -> str:
    words = clean.split(" ")
    if marker in ("c/", "l/"):
        return f"{marker} {clean}"
    if marker in ("n/", "b/"):
        return f"{clean} {marker}"
    if marker in ("*", "+"):
        i = rng.randrange(len(words))
        tail = re.match(r"^(.*?)([?!.]*)$", words[i])
        words[i] = tail.group(1) + marker + tail.group(2)
        return " ".join(words)
    i = rng.randrange(len(words))
    words.insert(i, rng.choice(PAREN_FILLERS))
    return " ".join(words)


# --------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------
@dataclass
class Segment:
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
    file: str = ""
    row: int = 0
    skip: str | None = None
    tie: bool = False
    nominal: tuple[float, float] | None = None


def weighted(rng: Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def majority(votes: list[str]) -> list[str]:
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
    dv, da = rng.gauss(0, 0.25), rng.gauss(0, 0.25)
    out = []
    for e in votes:
        mv, ma = VA_MEANS[e]
        v = min(5, max(1, round(rng.gauss(mv + dv, 0.6))))
        a = min(5, max(1, round(rng.gauss(ma + da, 0.6))))
        out.append((v, a))
    return out


def finish_row(row: Row) -> None:
    row.vote_cells = list(row.votes)
    row.total_cell = ";".join(majority(row.votes))
    row.total_v = round(sum(v for v, _ in row.va) / N_EVAL, 2)
    row.total_a = round(sum(a for _, a in row.va) / N_EVAL, 2)


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


def choose_text(rng: Random, emotion: str, kind: str, short: bool) -> tuple[str, str]:
    pool = SHORT_SENTENCES if short else SENTENCES
    text_emotion = "neutral" if kind == "audio_only" else emotion
    audio_emotion = "neutral" if kind == "text_only" else emotion
    return rng.choice(pool[text_emotion]), audio_emotion


def prosody(rng: Random, gender: str, audio_emotion: str) -> tuple[str, int, int, int, str]:
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
    kinds = {"both": 0.4, "audio_only": 0.3, "text_only": 0.3}
    kind = "both" if emotion == "neutral" else weighted(rng, kinds)
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


def add_markers(rng: Random, segments: list[Segment]) -> None:
    n_marked = 0
    for s in segments:
        if rng.random() < 0.35:
            marker = MARKERS[n_marked % len(MARKERS)]
            n_marked += 1
            raw = add_marker(rng, s.text_clean, marker)
            if rng.random() < 0.25:
                raw = add_marker(rng, raw, rng.choice(["b/", "n/", "paren"]))
            assert clean_transcript(raw) == s.text_clean, (raw, s.text_clean)
            s.text_raw = raw


def plan_kemdy19(rng: Random):
    sessions = [f"Session{i:02d}" for i in range(1, KEMDY19_SESSIONS + 1)]
    segments: list[Segment] = []
    dialogues: dict[str, list[Segment]] = {}
    for si, session in enumerate(sessions, start=1):
        names = ["script01", "script02", "impro01", "impro02"] + (["impro03"] if si == 4 else [])
        layout = []
        for di, name in enumerate(names):
            n = 30 if name == "impro03" else rng.randint(8, 9)
            first = "F" if (si + di) % 2 == 0 else "M"
            layout.append((f"Sess{si:02d}_{name}", n, first))
        n_total = sum(n for _, n, _ in layout)
        # Redraw until both roles have every class at least 3 times in the session.
        for _attempt in range(1000):
            sub = Random(rng.random())
            spk = speaker_emotions(sub, n_total)
            lis = [weighted(sub, LISTENER_REACTION[e]) for e in spk]
            if all(spk.count(e) >= 3 and lis.count(e) >= 3 for e in EMOTIONS):
                break
        else:
            raise RuntimeError("could not draw emotions")
        k = 0
        for dname, n, first in layout:
            dialogues[dname] = []
            for turn in range(1, n + 1):
                gender = first if turn % 2 == 1 else ("M" if first == "F" else "F")
                sid = f"{dname}_{gender}{turn:03d}"
                seg = make_segment(
                    rng,
                    "KEMDy19",
                    session,
                    dname,
                    turn,
                    gender,
                    sid,
                    spk[k],
                    lis[k],
                    11025 if dname == "Sess03_script01" else 8000,
                    f"wav/{session}/{dname}",
                    short=dname.endswith("impro03"),
                )
                k += 1
                segments.append(seg)
                dialogues[dname].append(seg)
    add_markers(rng, segments)
    nominal_times(rng, segments)
    return sessions, segments, dialogues


def plan_kemdy20(rng: Random):
    layout = [
        ("Session01", "Sess01_script01", ("User002M", "User001F")),
        ("Session02", "Sess02_script01", ("User003F", "User004M")),
    ]
    sessions = ["Session01", "Session02"]
    segments: list[Segment] = []
    dialogues: dict[str, list[Segment]] = {}
    emos = ["happy", "angry", "sad", "fear", "surprise", "disgust"] + ["neutral"] * 6
    rng.shuffle(emos)
    k = 0
    for session, dname, users in layout:
        dialogues[dname] = []
        for turn in range(1, 7):
            user = users[(turn - 1) % 2]
            sid = f"{dname}_{user}_{turn:03d}"
            seg = make_segment(
                rng,
                "KEMDy20",
                session,
                dname,
                turn,
                user[-1],
                sid,
                emos[k],
                None,
                8000,
                f"wav/{session}",
                short=False,
            )
            k += 1
            segments.append(seg)
            dialogues[dname].append(seg)
    add_markers(rng, segments)
    nominal_times(rng, segments)
    return sessions, segments, dialogues


def build_rows19(rng: Random, sessions, segments, dialogues):
    """Annotation rows per file, with all planted quirks; returns (files, quirks)."""
    files: dict[str, list[Row]] = {}
    for session in sessions:
        sess_segs = [s for s in segments if s.session == session]
        for fg in ("F", "M"):
            rows = []
            for s in sess_segs:
                role = "speaker" if s.gender == fg else "listener"
                intended = s.speaker_emotion if role == "speaker" else s.listener_emotion
                rows.append(Row(segment=s, sid_written=s.sid, role=role, intended=intended))
            # Sess04_impro03: turn 31 exists only as the known broken pair of rows.
            if session == "Session04":
                last = max(i for i, r in enumerate(rows) if r.segment.dialogue == "Sess04_impro03")
                broken = "Sess04_impro03_M031" if fg == "F" else "Sess04_impro03_F031"
                rows.insert(
                    last + 1,
                    Row(segment=None, sid_written=broken, role="listener", intended="neutral"),
                )
            files[f"annotation/{session}_{fg}_res.csv"] = rows
    for rows in files.values():
        for r in rows:
            r.votes = sample_votes(rng, r.intended)
            r.va = sample_va(rng, r.votes)
            finish_row(r)

    quirks = []

    def loc(file: str, row: Row) -> dict:
        idx = files[file].index(row) + 1
        return {"file": file, "row": idx, "line": idx + 2}

    def find(file: str, sid: str) -> Row:
        return next(r for r in files[file] if r.sid_written == sid)

    reserved: set[str] = set()

    # 4a. missing wav
    seg = dialogues["Sess01_impro01"][4]
    seg.write_wav = False
    reserved.add(seg.sid)
    for fg in ("F", "M"):
        find(f"annotation/Session01_{fg}_res.csv", seg.sid).skip = "missing_wav"
    # 4b. missing txt
    seg = dialogues["Sess05_script02"][5]
    seg.write_txt = False
    reserved.add(seg.sid)
    for fg in ("F", "M"):
        find(f"annotation/Session05_{fg}_res.csv", seg.sid).skip = "missing_txt"
    # 2. cp949 transcript
    seg = dialogues["Sess02_script01"][2]
    seg.txt_encoding = "cp949"
    reserved.add(seg.sid)
    # 5. duplicated row (speaker row of an M segment in Session02_M_res.csv)
    dup_file = "annotation/Session02_M_res.csv"
    seg = next(s for s in dialogues["Sess02_script02"][2:] if s.gender == "M")
    reserved.add(seg.sid)
    orig = find(dup_file, seg.sid)
    copy = Row(segment=seg, sid_written=seg.sid, role="speaker", intended=orig.intended)
    copy.votes = list(orig.votes)
    while True:
        copy.va = sample_va(rng, copy.votes)
        finish_row(copy)
        if (copy.total_v, copy.total_a) != (orig.total_v, orig.total_a):
            break
    copy.skip = "duplicate_segment_id"
    files[dup_file].insert(files[dup_file].index(orig) + 1, copy)
    # 6. mis-entered id in the F file: Sess03_impro02_F001 written as ..._M001
    mis_file = "annotation/Session03_F_res.csv"
    seg = dialogues["Sess03_impro02"][0]
    assert seg.sid == "Sess03_impro02_F001"
    reserved.add(seg.sid)
    mis = find(mis_file, seg.sid)
    mis.sid_written = "Sess03_impro02_M001"
    mis.role = "listener"
    mis.skip = "mismatched_segment_id"
    # 7. known broken rows
    for file in ("annotation/Session04_F_res.csv", "annotation/Session04_M_res.csv"):
        for r in files[file]:
            if r.sid_written in KNOWN_BROKEN:
                r.skip = "known_broken"

    # 1. disqust: an evaluator cell (Session01 F file) and a Total cell (Session05 M file)
    def disgust_row(file: str) -> Row:
        cands = [
            r
            for r in files[file]
            if r.segment is not None and r.segment.sid not in reserved and r.intended == "disgust"
        ]
        cands.sort(key=lambda r: r.role != "speaker")
        return cands[0]

    ev_file = "annotation/Session01_F_res.csv"
    ev_row = disgust_row(ev_file)
    reserved.add(ev_row.segment.sid)
    ev_idx = ev_row.votes.index("disgust")
    ev_row.vote_cells[ev_idx] = "disqust"
    tot_file = "annotation/Session05_M_res.csv"
    tot_row = disgust_row(tot_file)
    reserved.add(tot_row.segment.sid)
    assert tot_row.total_cell == "disgust"
    tot_row.total_cell = "disqust"

    # 3. ties: two per session and role (among rows free of other quirks), one 3-way
    three_way_done = False
    for session in sessions:
        for role in ("speaker", "listener"):
            cands = []
            for fg in ("F", "M"):
                file = f"annotation/{session}_{fg}_res.csv"
                cands += [
                    (file, r)
                    for r in files[file]
                    if r.role == role
                    and r.segment is not None
                    and r.segment.sid not in reserved
                    and r.skip is None
                    and r.intended != "neutral"
                ]
            for _file, r in rng.sample(cands, 2):
                three = not three_way_done and session == "Session05"
                three_way_done = three_way_done or three
                r.votes = sample_tie_votes(rng, r.intended, three)
                r.va = sample_va(rng, r.votes)
                finish_row(r)
                r.tie = True
                reserved.add(r.segment.sid)

    # quirk list (after all insertions, so row numbers are final)
    def entry(qtype: str, file: str, row: Row | None, action: str, **extra) -> dict:
        d = {"type": qtype, "session": file.split("/")[1][:9] if row else extra.pop("session")}
        if row is not None:
            d.update(loc(file, row))
            d["segment_id"] = row.sid_written
            d["role"] = row.role
        else:
            d.update({"file": file, "row": None, "line": None})
        d["action"] = action
        d.update(extra)
        return d

    quirks.append(
        entry(
            "disqust_spelling",
            ev_file,
            ev_row,
            "map 'disqust' to 'disgust'; row used",
            cell=f"Eval{ev_idx + 1:02d} Emotion",
            column=10 + 3 * (ev_idx + 1),
        )
    )
    quirks.append(
        entry(
            "disqust_spelling",
            tot_file,
            tot_row,
            "map 'disqust' to 'disgust'; row used",
            cell="Total Evaluation Emotion",
            column=10,
        )
    )
    cp = dialogues["Sess02_script01"][2]
    quirks.append(
        entry(
            "cp949_transcript",
            f"wav/{cp.session}/{cp.dialogue}/{cp.sid}.txt",
            None,
            "utf-8 decoding fails: decode as cp949; utterance used",
            session=cp.session,
            segment_id=cp.sid,
            annotation_rows=[
                loc(f"annotation/{cp.session}_{fg}_res.csv", find(f"annotation/{cp.session}_{fg}_res.csv", cp.sid))
                for fg in ("F", "M")
            ],
        )
    )
    for file, rows in files.items():
        for r in rows:
            if r.tie:
                quirks.append(
                    entry(
                        "tie",
                        file,
                        r,
                        "multi-hot majority label set; row used",
                        total_evaluation=r.total_cell,
                    )
                )
    for seg_, qtype, path in (
        (dialogues["Sess01_impro01"][4], "missing_wav", "wav"),
        (dialogues["Sess05_script02"][5], "missing_txt", "txt"),
    ):
        rows_ = []
        for fg in ("F", "M"):
            f = f"annotation/{seg_.session}_{fg}_res.csv"
            r = find(f, seg_.sid)
            rows_.append({**loc(f, r), "role": r.role})
        quirks.append(
            entry(
                qtype,
                seg_.wav_rel if path == "wav" else seg_.txt_rel,
                None,
                f"skip the utterance in both roles, report {qtype}; the dialogue keeps its order",
                session=seg_.session,
                segment_id=seg_.sid,
                annotation_rows=rows_,
            )
        )
    quirks.append(
        entry(
            "duplicate_segment_id",
            dup_file,
            copy,
            "keep the first row, skip this copy, report duplicate_segment_id",
            first_row=loc(dup_file, orig),
            first_total_valence=orig.total_v,
            first_total_arousal=orig.total_a,
            copy_total_valence=copy.total_v,
            copy_total_arousal=copy.total_a,
        )
    )
    m_file = "annotation/Session03_M_res.csv"
    quirks.append(
        entry(
            "mismatched_segment_id",
            mis_file,
            mis,
            "skip this row, report mismatched_segment_id (do not guess a repair)",
            true_segment_id="Sess03_impro02_F001",
            detail=(
                "The F file names Sess03_impro02_M001, but turn 001 of Sess03_impro02 is spoken "
                "by F: the wav tree holds Sess03_impro02_F001.wav/.txt and no ..._M001 file, and "
                "Session03_M_res.csv lists Sess03_impro02_F001 (its listener row) at the same "
                "Numb. Turn numbers are unique within a dialogue, so no real M001 exists: the F "
                "file has exactly one row claiming M001 and none for F001 (there is no second "
                "M001 row). By the written id the row counts as a listener row; it is skipped. "
                "Consequence: Sess03_impro02_F001 has no speaker row and is absent from the "
                "speaker-role dialogue; its listener row in Session03_M_res.csv is used."
            ),
            other_file_same_numb=loc(m_file, find(m_file, "Sess03_impro02_F001")),
        )
    )
    for file in ("annotation/Session04_F_res.csv", "annotation/Session04_M_res.csv"):
        r = next(r for r in files[file] if r.sid_written in KNOWN_BROKEN)
        quirks.append(
            entry(
                "known_broken",
                file,
                r,
                "skip this row (known broken id of the real corpus), report known_broken",
                detail=(
                    "Sess04_impro03 has 30 spoken turns; the annotation files continue with a "
                    "turn 31 that the F file calls Sess04_impro03_M031 and the M file "
                    "Sess04_impro03_F031 (same Numb), as in the real KEMDy19. No wav/txt exists "
                    "for turn 31."
                ),
            )
        )
    order = {
        t: i
        for i, t in enumerate(
            [
                "disqust_spelling",
                "cp949_transcript",
                "tie",
                "missing_wav",
                "missing_txt",
                "duplicate_segment_id",
                "mismatched_segment_id",
                "known_broken",
            ]
        )
    }
    quirks.sort(key=lambda q: order[q["type"]])
    return files, quirks


def build_rows20(rng: Random, sessions, segments):
    files: dict[str, list[Row]] = {}
    for session in sessions:
        rows = [
            Row(segment=s, sid_written=s.sid, role="speaker", intended=s.speaker_emotion)
            for s in segments
            if s.session == session
        ]
        for r in rows:
            r.votes = sample_votes(rng, r.intended)
            r.va = sample_va(rng, r.votes)
            finish_row(r)
        files[f"annotation/Sess{session[-2:]}_eval.csv"] = rows
    # one tie, so that the fixture exercises the multi-hot path too
    r = files["annotation/Sess01_eval.csv"][3]
    r.votes = sample_tie_votes(rng, r.intended if r.intended != "neutral" else "happy", False)
    r.va = sample_va(rng, r.votes)
    finish_row(r)
    r.tie = True
    return files


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def fmt(x: float, nd: int) -> str:
    return f"{x:.{nd}f}"


def write_csv(path: Path, header: list[list[str]], body: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(header)
    w.writerows(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def row_cells(r: Row, numb: int, bio: bool) -> list[str]:
    s = r.segment
    if s is None:  # known broken turn: nominal times after the dialogue's last turn
        start, end = r.nominal
    else:
        start, end = s.start, s.end
    cells = [str(numb), fmt(start, 4), fmt(end, 4)]
    if bio:
        cells += [fmt(start + 2.5, 3), fmt(end + 2.5, 3), fmt(start + 1.75, 3), fmt(end + 1.75, 3)]
        cells += [fmt(start + 1.75, 3), fmt(end + 1.75, 3)]
    cells += [r.sid_written, r.total_cell, fmt(r.total_v, 2), fmt(r.total_a, 2)]
    for cell, (v, a) in zip(r.vote_cells, r.va):
        cells += [cell, str(v), str(a)]
    return cells


def write_transcripts(root: Path, segments: list[Segment]) -> None:
    for s in segments:
        if s.write_txt:
            p = root / s.txt_rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes((s.text_raw + "\n").encode(s.txt_encoding))


def synthesize(root: Path, s: Segment, tmp: Path) -> None:
    out = root / s.wav_rel
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = tmp / f"{s.corpus}_{s.sid}.wav"
    ssml = f'<speak><prosody range="{s.pitch_range}">{escape(s.text_clean)}</prosody></speak>'
    subprocess.run(
        ["espeak-ng", "-z", "-m", "-v", s.voice, "-p", str(s.pitch), "-s", str(s.speed)]
        + ["-a", str(s.amplitude), "-w", str(raw), ssml],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["sox", "-V1", str(raw), "-D", "-b", "16", "-e", "signed-integer", "-c", "1", str(out)]
        + ["silence", "1", "0.02", "0.3%", "reverse", "silence", "1", "0.02", "0.3%", "reverse"]
        + ["pad", "0.02", "0.04", "rate", "-h", str(s.sample_rate)],
        check=True,
        capture_output=True,
    )
    raw.unlink()


def wav_info(path: Path) -> tuple[int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnframes() / w.getframerate()


def label_of(r: Row, file: str, idx: int) -> dict:
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


def tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unavailable"
    found = re.search(r"v?\d+(\.\d+)+", first)
    return found.group(0).lstrip("v") if found else first


def expected_counts(files: dict[str, list[Row]], dialogues: dict[str, list[Segment]], roles):
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


def readme(manifest: dict) -> str:
    k19, k20 = manifest["kemdy19"], manifest["kemdy20"]
    n19 = sum(1 for s in k19["segments"].values() if s["wav_written"])
    lines = [
        "# mate-hf demo corpus (synthetic)",
        "",
        "A tiny, fully **synthetic** corpus in the on-disk format of ETRI's KEMDy19 (plus a small",
        "KEMDy20-format fixture), made with the `espeak-ng` Korean voice and `sox`. It exists only",
        "for demos, tests and CI of mate-hf: the voices are robotic, the evaluator votes are sampled",
        "by a script, and no number obtained on it says anything about real emotion recognition.",
        "It contains no data from KEMDy19/KEMDy20 (those are available on request from ETRI).",
        "",
        "## How it was made",
        "",
        "```",
        ".venv/bin/python demo_corpus/make_demo_corpus.py   # needs espeak-ng and sox on PATH",
        "```",
        "",
        f"Seed `{manifest['seed']}` (`random.Random`): re-running reproduces byte-identical CSVs,",
        "transcripts, this README and (with the same espeak-ng/sox versions) the wav files; the",
        f"committed audio was made with espeak-ng {manifest['tools']['espeak-ng']} and SoX",
        f"{manifest['tools']['sox']}. `manifest.json` describes everything that was written and",
        "what a reader must produce; its `schema` key explains the fields. This README is written",
        "by the generator too (edit the generator, not this file).",
        "",
        "## Layout",
        "",
        "```",
        f"KEMDy19/annotation/Session01_F_res.csv, Session01_M_res.csv, ... {k19['sessions'][-1]}_*",
        "KEMDy19/wav/Session01/Sess01_script01/Sess01_script01_F001.wav  (+ .txt beside it)",
        "KEMDy20/annotation/Sess01_eval.csv, Sess02_eval.csv",
        "KEMDy20/wav/Session01/Sess01_script01_User002M_001.wav  (+ .txt beside it)",
        "manifest.json   make_demo_corpus.py   README.md",
        "```",
        "",
        f"- KEMDy19: {len(k19['sessions'])} sessions, {len(k19['dialogues'])} dialogues "
        f"(`script01`, `script02`, `impro01`, `impro02` per session, plus the 30-turn quick "
        f"exchange `Sess04_impro03`), {len(k19['segments'])} segments, {n19} wav files. Turns "
        "alternate between actor F (`ko+f3`) and actor M (`ko+m3`); the number in a segment id "
        "is the turn within the dialogue.",
        "- Audio: mono 16-bit PCM, 8000 Hz, except `Sess03_script01` at 11025 Hz (resample!).",
        "- Annotation CSVs: UTF-8, two header rows (group names, then `start`/`end` and "
        "`Emotion`/`Valence`/`Arousal` sub-names); the exact rows are in "
        "`manifest.json` (`annotation_layout`). Each KEMDy19 session file lists every segment: "
        "the row in the file of the segment's own gender is the speaker's emotion, the row in "
        "the other file the listener's.",
        "- KEMDy20 fixture: 2 sessions x 1 dialogue x 6 turns, speaker labels only, evaluator "
        "groups `Eval01F`, `Eval02M`, ... and no bio-signal columns.",
        "- Emotions (reference order): " + ", ".join(manifest["emotions"]) + ". Neutral is the "
        "most frequent; every session has every class in both roles. About a fifth of the "
        "utterances reveal the emotion only in the audio (neutral words, emotional prosody), "
        "a fifth only in the text (emotional words, neutral prosody).",
        "- Transcripts contain annotation markers (`c/`, `n/`, `l/`, `b/`, `*`, `+`, "
        "parenthesised spans) like the real corpus; espeak-ng spoke the cleaned text.",
        "",
        "## Expected reader counts (KEMDy19)",
        "",
        "| role | rows read | rows used | rows skipped |",
        "|---|---|---|---|",
    ]
    for role, e in k19["expected"].items():
        sk = ", ".join(f"{k} {v}" for k, v in e["rows_skipped"].items() if v)
        lines.append(f"| {role} | {e['rows_read']} | {e['rows_used']} | {e['rows_skipped_total']} ({sk}) |")
    lines += [
        "",
        "## Planted quirks",
        "",
        "Nothing else is irregular, so a reader's report should list exactly these. "
        "Row = 1-based data row of the CSV, line = physical line (two header rows).",
        "",
        "| type | file | row | line | segment id | expected handling |",
        "|---|---|---|---|---|---|",
    ]
    for q in k19["quirks"]:
        row = "" if q["row"] is None else str(q["row"])
        line = "" if q["line"] is None else str(q["line"])
        action = q["action"]
        if q.get("annotation_rows"):
            where = ", ".join(f"{a['file'].split('/')[-1]} row {a['row']}" for a in q["annotation_rows"])
            action += f" (annotation rows: {where})"
        if q["type"] == "tie":
            action += f": `{q['total_evaluation']}`"
        lines.append(f"| {q['type']} | `KEMDy19/{q['file']}` | {row} | {line} | `{q['segment_id']}` | {action} |")
    for q in k20["quirks"]:
        action = f"{q['action']}: `{q['total_evaluation']}`"
        lines.append(
            f"| {q['type']} | `KEMDy20/{q['file']}` | {q['row']} | {q['line']} | `{q['segment_id']}` | {action} |"
        )
    lines += [
        "",
        "Notes:",
        "",
        "- `mismatched_segment_id`: the F file of Session03 names `Sess03_impro02_M001` where "
        "the segment is `Sess03_impro02_F001` (as in the real corpus). Turn numbers are unique "
        "within a dialogue, so the F file has one row claiming `M001` and none for `F001`; the "
        "M file lists `F001` at the same Numb. The row is skipped and reported; `F001` then has "
        "no speaker label (absent from the speaker-role dialogue) but keeps its listener label.",
        "- `known_broken`: `Sess04_impro03` has 30 spoken turns; both annotation files continue "
        "with turn 31, called `Sess04_impro03_M031` in the F file and `Sess04_impro03_F031` in "
        "the M file (as in the real corpus). No audio exists for it; both rows are skipped.",
        "- Missing `.wav`/`.txt`: the utterance is skipped in both roles and reported; the rest "
        "of the dialogue keeps its order.",
        "- The CSV times (Wav/ECG/E4-EDA/E4-TEMP start/end) are nominal, not measured from the audio.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=here, help="output directory (default: demo_corpus/)")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help=f"random.Random seed (default {SEED}, the bundled corpus); another seed gives an independent corpus of "
        "the same design, e.g. to choose training settings without touching the bundled corpus' folds",
    )
    args = ap.parse_args()
    out: Path = args.out.resolve()
    t0 = time.time()

    rng = Random(args.seed)
    sessions19, segs19, dlg19 = plan_kemdy19(rng)
    files19, quirks19 = build_rows19(rng, sessions19, segs19, dlg19)
    sessions20, segs20, dlg20 = plan_kemdy20(rng)
    files20 = build_rows20(rng, sessions20, segs20)
    # nominal times for the known broken rows: right after the dialogue's last turn
    for rows in files19.values():
        for i, r in enumerate(rows):
            if r.segment is None:
                prev = rows[i - 1].segment
                r.nominal = (prev.end + 0.8, prev.end + 1.6)

    for name in ("KEMDy19", "KEMDy20"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    root19, root20 = out / "KEMDy19", out / "KEMDy20"

    for file, rows in files19.items():
        body = [row_cells(r, i, bio=True) for i, r in enumerate(rows, start=1)]
        write_csv(root19 / file, [KEMDY19_ROW1, KEMDY19_ROW2], body)
    for file, rows in files20.items():
        body = [row_cells(r, i, bio=False) for i, r in enumerate(rows, start=1)]
        write_csv(root20 / file, [KEMDY20_ROW1, KEMDY20_ROW2], body)
    write_transcripts(root19, segs19)
    write_transcripts(root20, segs20)

    jobs = [(root19, s) for s in segs19 if s.write_wav] + [(root20, s) for s in segs20]
    with (
        tempfile.TemporaryDirectory(prefix="mate_demo_") as tmp,
        ThreadPoolExecutor(max_workers=args.jobs) as pool,
    ):
        list(pool.map(lambda j: synthesize(j[0], j[1], Path(tmp)), jobs))
    for root, s in jobs:
        rate, s.duration = wav_info(root / s.wav_rel)
        assert rate == s.sample_rate

    exp19 = expected_counts(files19, dlg19, ("speaker", "listener"))
    exp20 = expected_counts(files20, dlg20, ("speaker",))
    stats = check_design(segs19, files19)

    def seg_json(s: Segment, files: dict[str, list[Row]]) -> dict:
        labels = {}
        for file, rows in files.items():
            for i, r in enumerate(rows, start=1):
                if r.segment is s and r.skip is None:
                    labels[r.role] = label_of(r, file, i)
        d = {
            "session": s.session,
            "dialogue": s.dialogue,
            "turn": s.turn,
            "gender": s.gender,
            "wav": s.wav_rel,
            "txt": s.txt_rel,
            "wav_written": s.write_wav,
            "txt_written": s.write_txt,
            "txt_encoding": s.txt_encoding if s.write_txt else None,
            "transcript_raw": s.text_raw,
            "transcript_clean": s.text_clean,
            "speaker_emotion": s.speaker_emotion,
        }
        if s.corpus == "KEMDy19":
            d["listener_emotion"] = s.listener_emotion
        d.update(
            {
                "kind": s.kind,
                "espeak": {
                    "voice": s.voice,
                    "pitch": s.pitch,
                    "speed": s.speed,
                    "amplitude": s.amplitude,
                    "pitch_range": s.pitch_range,
                },
                "sample_rate": s.sample_rate,
                "duration_s": round(s.duration, 4) if s.duration is not None else None,
                "labels": labels,
            }
        )
        if s.corpus == "KEMDy20":
            d["user"] = s.sid.split("_")[2]
        return d

    def corpus_json(name, sessions, segs, dlg, files, exp, layout) -> dict:
        return {
            "root": name,
            "sessions": sessions,
            "annotation_files": list(files),
            "annotation_layout": layout,
            "sample_rates": {s: sorted({x.sample_rate for x in segs if x.session == s}) for s in sessions},
            "dialogues": {d: {"session": v[0].session, "segments": [s.sid for s in v]} for d, v in dlg.items()},
            "segments": {s.sid: seg_json(s, files) for s in segs},
            "expected": exp,
        }

    layout19 = {
        "encoding": "utf-8",
        "delimiter": ",",
        "header_rows": [KEMDY19_ROW1, KEMDY19_ROW2],
        "n_columns": len(KEMDY19_ROW1),
        "segment_id_column": 9,
        "total_evaluation_columns": {"Emotion": 10, "Valence": 11, "Arousal": 12},
        "evaluator_columns": {f"Eval{i:02d}": [10 + 3 * i, 11 + 3 * i, 12 + 3 * i] for i in range(1, 11)},
        "role_rule": "file gender == gender letter of the Segment ID -> speaker row, else listener row",
        "numb": "Numb equals the 1-based data row index; line = row + 2",
    }
    layout20 = {
        "encoding": "utf-8",
        "delimiter": ",",
        "header_rows": [KEMDY20_ROW1, KEMDY20_ROW2],
        "n_columns": len(KEMDY20_ROW1),
        "segment_id_column": 3,
        "total_evaluation_columns": {"Emotion": 4, "Valence": 5, "Arousal": 6},
        "evaluator_columns": {
            f"Eval{i:02d}{KEMDY20_EVAL_GENDERS[i - 1]}": [4 + 3 * i, 5 + 3 * i, 6 + 3 * i] for i in range(1, 11)
        },
        "role_rule": "speaker labels only (every row is the speaker's emotion)",
        "numb": "Numb equals the 1-based data row index; line = row + 2",
        "note": (
            "Two header rows, like KEMDy19 but without the bio-signal columns; chosen from public "
            "code that reads the real files (columns 0-6 = Numb, Wav start, Wav end, Segment ID, "
            "Total Evaluation emotion/valence/arousal; one sub-header line skipped)."
        ),
    }
    ties20 = [
        {
            "type": "tie",
            "session": f"Session{file.split('/')[1][4:6]}",
            "file": file,
            "row": i,
            "line": i + 2,
            "segment_id": r.sid_written,
            "role": "speaker",
            "action": "multi-hot majority label set; row used",
            "total_evaluation": r.total_cell,
        }
        for file, rows in files20.items()
        for i, r in enumerate(rows, start=1)
        if r.tie
    ]

    manifest = {
        "schema": {
            "seed": "random.Random seed of the generator",
            "emotions": "class order (reference order of the MATE code)",
            "transcript_cleaning": "rule mapping transcript_raw to transcript_clean",
            "kemdy19/kemdy20.sessions": "session folder names",
            "kemdy19/kemdy20.annotation_layout": "header rows and 0-based column positions",
            "kemdy19/kemdy20.dialogues": "dialogue -> ordered segment ids (every spoken turn)",
            "kemdy19/kemdy20.segments": (
                "segment id -> gender, paths (relative to the corpus root), whether wav/txt were "
                "written, txt encoding, raw and clean transcript, intended speaker/listener emotion, "
                "kind (both|audio_only|text_only), espeak parameters, sample rate, measured "
                "duration, and labels[role] = the row a reader must use (file, row, line, majority "
                "label set, 7 vote counts in class order with disqust mapped, valence, arousal); a "
                "role is absent when that segment has no usable row in it"
            ),
            "kemdy19/kemdy20.expected": (
                "per role: rows_read (data rows whose written id implies the role), rows_used, "
                "rows_skipped per reason (rows_read = rows_used + rows_skipped_total), "
                "utterances_per_dialogue and the ordered segment ids per dialogue after skipping"
            ),
            "kemdy19/kemdy20.quirks": (
                "planted irregularities: type, session, file (relative to the corpus root), row "
                "(1-based data row index, null for file quirks), line (physical 1-based line), "
                "segment_id, role, action (what a reader should do/report), extra details"
            ),
            "skip_reason_precedence": "when several skip reasons could apply to a row, report the first",
        },
        "generator": "demo_corpus/make_demo_corpus.py",
        "seed": args.seed,
        "tools": {
            "espeak-ng": tool_version(["espeak-ng", "--version"]),
            "sox": tool_version(["sox", "--version"]),
        },
        "synthetic": True,
        "emotions": EMOTIONS,
        "transcript_cleaning": (
            "remove parenthesised spans with their content; remove \\c and \\n escapes; remove the "
            "markers c/ n/ N/ u/ l/ b/; remove * and +; remove any remaining /; collapse runs of "
            "whitespace to one space; strip"
        ),
        "skip_reason_precedence": SKIP_REASONS,
        "known_broken_segment_ids": KNOWN_BROKEN,
        "design_stats": stats,
        "kemdy19": {
            **corpus_json("KEMDy19", sessions19, segs19, dlg19, files19, exp19, layout19),
            "quirks": quirks19,
            "optional_quirk_7_known_broken": "planted (Sess04_impro03, 30 short turns + broken turn 31)",
        },
        "kemdy20": {
            **corpus_json("KEMDy20", sessions20, segs20, dlg20, files20, exp20, layout20),
            "quirks": ties20,
        },
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    # keep flat lists (votes, ids, header rows) on one line
    text = re.sub(r"\[\n\s*([^\[\]{}]*?)\n\s*\]", lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)
    # ... and flat objects (labels, espeak parameters, counts) too
    text = re.sub(r"\{\n\s*([^{}]*?)\n\s*\}", lambda m: "{" + re.sub(r",\n\s*", ", ", m.group(1)) + "}", text)
    (out / "manifest.json").write_text(text + "\n", "utf-8")
    (out / "README.md").write_text(readme(manifest), "utf-8")
    print(f"wrote {len(segs19)} KEMDy19 + {len(segs20)} KEMDy20 segments to {out} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
