"""The whole generation: draw both corpora from one seeded RNG, then write CSVs, transcripts, audio, manifest."""

from __future__ import annotations

import shutil
from pathlib import Path
from random import Random

from .audio import synthesize_all
from .manifest import build_manifest, manifest_text
from .model import Corpus
from .plan import plan_kemdy19, plan_kemdy20
from .quirks import in_manifest_order, plant_kemdy19_quirks, plant_kemdy20_tie, plant_known_broken_turn
from .readme import readme
from .votes import kemdy19_rows, kemdy20_rows, vote_all
from .writing import KEMDY19_ROW1, KEMDY19_ROW2, KEMDY20_ROW1, KEMDY20_ROW2, write_annotations, write_transcripts


def draw_kemdy19(rng: Random) -> Corpus:
    sessions, segments, dialogues = plan_kemdy19(rng)
    files = kemdy19_rows(sessions, segments)
    broken = plant_known_broken_turn(files)  # before the votes: its rows are voted on like the others
    vote_all(rng, files)
    planted = broken + plant_kemdy19_quirks(rng, sessions, files, dialogues)
    return Corpus("KEMDy19", sessions, segments, dialogues, files, in_manifest_order(planted))


def draw_kemdy20(rng: Random) -> Corpus:
    sessions, segments, dialogues = plan_kemdy20(rng)
    files = kemdy20_rows(rng, sessions, segments)
    planted = plant_kemdy20_tie(rng, files)
    return Corpus("KEMDy20", sessions, segments, dialogues, files, planted)


def generate(out: Path, seed: int, workers: int) -> tuple[Corpus, Corpus]:
    """Write the demo corpus below ``out`` (replacing its KEMDy19/ and KEMDy20/); returns what was drawn."""
    rng = Random(seed)
    k19 = draw_kemdy19(rng)  # KEMDy19 first: the order of the draws fixes the corpus
    k20 = draw_kemdy20(rng)

    for name in ("KEMDy19", "KEMDy20"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    root19, root20 = out / "KEMDy19", out / "KEMDy20"
    write_annotations(root19, k19.files, [KEMDY19_ROW1, KEMDY19_ROW2], bio=True)
    write_annotations(root20, k20.files, [KEMDY20_ROW1, KEMDY20_ROW2], bio=False)
    write_transcripts(root19, k19.segments)
    write_transcripts(root20, k20.segments)
    jobs = [(root19, s) for s in k19.segments if s.write_wav] + [(root20, s) for s in k20.segments]
    synthesize_all(jobs, workers)

    manifest = build_manifest(k19, k20, seed)
    (out / "manifest.json").write_text(manifest_text(manifest), "utf-8")
    (out / "README.md").write_text(readme(manifest), "utf-8")
    return k19, k20
