"""The transcripts: sentence pools per emotion, the annotation markers of the real corpus and their cleaning."""

from __future__ import annotations

import re
from random import Random

from .model import Segment

# Short, so that utterances stay around 0.8-2 s.
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

MARKERS = ["c/", "n/", "l/", "b/", "*", "+", "paren"]
PAREN_FILLERS = ["(음)", "(어)", "(웃음)", "(그)"]


def clean_transcript(raw: str) -> str:
    """The cleaning rule the manifest's ``transcript_clean`` follows."""
    text = re.sub(r"\([^)]*\)", " ", raw)
    text = re.sub(r"\\[cn]", " ", text)
    text = re.sub(r"(?<![0-9A-Za-z])[cnNulb]/", " ", text)
    text = text.replace("*", "").replace("+", "").replace("/", " ")
    return re.sub(r"\s+", " ", text).strip()


def add_marker(rng: Random, clean: str, marker: str) -> str:
    """``clean`` with one annotation marker put where the real transcripts have it."""
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


def add_markers(rng: Random, segments: list[Segment]) -> None:
    """Mark about a third of the transcripts (cycling through every marker), a few of them twice."""
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


def choose_text(rng: Random, emotion: str, kind: str, short: bool) -> tuple[str, str]:
    """(sentence, emotion its prosody carries): ``audio_only`` says neutral words, ``text_only`` sounds neutral."""
    pool = SHORT_SENTENCES if short else SENTENCES
    text_emotion = "neutral" if kind == "audio_only" else emotion
    audio_emotion = "neutral" if kind == "text_only" else emotion
    return rng.choice(pool[text_emotion]), audio_emotion
