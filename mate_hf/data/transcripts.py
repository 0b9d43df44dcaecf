"""Reading and cleaning the per-utterance transcripts (``<segment_id>.txt``)."""

from __future__ import annotations

import re
from pathlib import Path

# Releases differ: some ship UTF-8 transcripts, others cp949 (a superset of euc-kr).
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp949")

_PARENTHESISED = re.compile(r"\([^)]*\)")
_ESCAPES = re.compile(r"\\[A-Za-z]")
# Annotation markers such as "c/" or "b/"; not inside a latin word or number ("abc/" stays a word).
_LETTER_MARKERS = re.compile(r"(?<![0-9A-Za-z])[cnNulb]/")
_SYMBOLS = re.compile(r"[*+/]")
_WHITESPACE = re.compile(r"\s+")


def read_transcript(path: str | Path) -> tuple[str, str]:
    """Decoded text (outer whitespace stripped) and the encoding that worked.

    Raises `UnicodeDecodeError` when no encoding of `ENCODINGS` decodes the file, or when it holds a NUL
    byte: no text transcript does, while UTF-16 text (every other byte NUL for Latin letters) decodes as UTF-8.
    """
    data = Path(path).read_bytes()
    if b"\0" in data:
        position = data.index(b"\0")
        raise UnicodeDecodeError("utf-8", data, position, position + 1, "a NUL byte: not a UTF-8 or cp949 text file")
    for encoding in ENCODINGS[:-1]:
        try:
            return data.decode(encoding).strip(), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    return data.decode(ENCODINGS[-1]).strip(), ENCODINGS[-1]


def clean_transcript(raw: str) -> str:
    """Remove the transcription markers, keeping only the spoken words.

    Removed: parenthesised spans with their content, backslash escapes (``\\c``, ``\\n``),
    the markers ``c/ n/ N/ u/ l/ b/``, then ``*``, ``+`` and any remaining ``/``;
    whitespace runs collapse to one space.
    """
    text = _PARENTHESISED.sub(" ", raw)
    text = _ESCAPES.sub(" ", text)
    text = _LETTER_MARKERS.sub(" ", text)
    text = _SYMBOLS.sub(lambda match: " " if match.group() == "/" else "", text)
    return _WHITESPACE.sub(" ", text).strip()
