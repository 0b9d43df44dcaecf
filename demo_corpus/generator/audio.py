"""Audio synthesis: espeak-ng speaks each segment with its prosody, sox trims, pads and resamples it."""

from __future__ import annotations

import re
import subprocess
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape

from .model import Segment


def synthesize(root: Path, s: Segment, tmp: Path) -> None:
    """Write ``root / s.wav_rel``: mono 16-bit PCM at the segment's sample rate, silence trimmed."""
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
    # -D: no dither, so that the same sox version gives the same bytes.
    subprocess.run(
        ["sox", "-V1", str(raw), "-D", "-b", "16", "-e", "signed-integer", "-c", "1", str(out)]
        + ["silence", "1", "0.02", "0.3%", "reverse", "silence", "1", "0.02", "0.3%", "reverse"]
        + ["pad", "0.02", "0.04", "rate", "-h", str(s.sample_rate)],
        check=True,
        capture_output=True,
    )
    raw.unlink()


def wav_info(path: Path) -> tuple[int, float]:
    """(sample rate, duration in seconds) of a wav file."""
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnframes() / w.getframerate()


def synthesize_all(jobs: list[tuple[Path, Segment]], workers: int) -> None:
    """Synthesize every (corpus root, segment) in parallel, then record each segment's measured duration."""
    with (
        tempfile.TemporaryDirectory(prefix="mate_demo_") as tmp,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        list(pool.map(lambda j: synthesize(j[0], j[1], Path(tmp)), jobs))
    for root, s in jobs:
        rate, s.duration = wav_info(root / s.wav_rel)
        assert rate == s.sample_rate


def tool_version(cmd: list[str]) -> str:
    """The version number that ``cmd`` (e.g. ``espeak-ng --version``) prints, or ``unavailable``."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unavailable"
    found = re.search(r"v?\d+(\.\d+)+", first)
    return found.group(0).lstrip("v") if found else first
