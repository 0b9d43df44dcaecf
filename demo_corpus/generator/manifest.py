"""``manifest.json``: everything that was written and what a reader of the corpus must report."""

from __future__ import annotations

import json
import re

from .audio import tool_version
from .expected import check_design, expected_counts, label_of
from .model import EMOTIONS, KNOWN_BROKEN, SKIP_REASONS, Corpus, Planted, Row, RowAt, Segment
from .writing import KEMDY19_ROW1, KEMDY19_ROW2, KEMDY20_ROW1, KEMDY20_ROW2

# The generator's path as the manifest names it (the shim that runs this package).
GENERATOR = "demo_corpus/make_demo_corpus.py"

SCHEMA = {
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
}
TRANSCRIPT_CLEANING = (
    "remove parenthesised spans with their content; remove \\c and \\n escapes; remove the "
    "markers c/ n/ N/ u/ l/ b/; remove * and +; remove any remaining /; collapse runs of "
    "whitespace to one space; strip"
)


def annotation_layout(header_rows: list[list[str]], role_rule: str, **extra) -> dict:
    """The column positions of an annotation CSV, read off its first header row."""
    names = header_rows[0]
    total = names.index("Total Evaluation")
    evaluators = [name for name in names[total + 3 :] if name]
    return {
        "encoding": "utf-8",
        "delimiter": ",",
        "header_rows": header_rows,
        "n_columns": len(names),
        "segment_id_column": names.index("Segment ID"),
        "total_evaluation_columns": {"Emotion": total, "Valence": total + 1, "Arousal": total + 2},
        "evaluator_columns": {name: [names.index(name) + k for k in range(3)] for name in evaluators},
        "role_rule": role_rule,
        "numb": "Numb equals the 1-based data row index; line = row + 2",
        **extra,
    }


LAYOUT19 = annotation_layout(
    [KEMDY19_ROW1, KEMDY19_ROW2],
    "file gender == gender letter of the Segment ID -> speaker row, else listener row",
)
LAYOUT20 = annotation_layout(
    [KEMDY20_ROW1, KEMDY20_ROW2],
    "speaker labels only (every row is the speaker's emotion)",
    note=(
        "Two header rows, like KEMDy19 but without the bio-signal columns; chosen from public "
        "code that reads the real files (columns 0-6 = Numb, Wav start, Wav end, Segment ID, "
        "Total Evaluation emotion/valence/arousal; one sub-header line skipped)."
    ),
)


def locate(files: dict[str, list[Row]], file: str, row: Row) -> dict:
    """File, 1-based data row and physical line (after the two header rows) of ``row``."""
    idx = next(i for i, r in enumerate(files[file], start=1) if r is row)
    return {"file": file, "row": idx, "line": idx + 2}


def resolve(files: dict[str, list[Row]], value):
    """``value`` with every ``RowAt`` replaced by its location (and role where asked)."""
    if isinstance(value, list):
        return [resolve(files, v) for v in value]
    if not isinstance(value, RowAt):
        return value
    where = locate(files, value.file, value.row)
    if value.with_role:
        where["role"] = value.row.role
    return where


def quirk_json(files: dict[str, list[Row]], q: Planted) -> dict:
    entry = {"type": q.type, "session": q.session}
    if q.row is None:
        entry.update({"file": q.file, "row": None, "line": None})
    else:
        entry.update(locate(files, q.file, q.row))
        entry["segment_id"] = q.row.sid_written
        entry["role"] = q.row.role
    entry["action"] = q.action
    entry.update({key: resolve(files, value) for key, value in q.details.items()})
    return entry


def segment_json(s: Segment, files: dict[str, list[Row]]) -> dict:
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
    d["kind"] = s.kind
    d["espeak"] = {
        "voice": s.voice,
        "pitch": s.pitch,
        "speed": s.speed,
        "amplitude": s.amplitude,
        "pitch_range": s.pitch_range,
    }
    d["sample_rate"] = s.sample_rate
    d["duration_s"] = round(s.duration, 4) if s.duration is not None else None
    d["labels"] = labels
    if s.corpus == "KEMDy20":
        d["user"] = s.sid.split("_")[2]
    return d


def corpus_json(c: Corpus, layout: dict, roles: tuple[str, ...]) -> dict:
    return {
        "root": c.name,
        "sessions": c.sessions,
        "annotation_files": list(c.files),
        "annotation_layout": layout,
        "sample_rates": {s: sorted({x.sample_rate for x in c.segments if x.session == s}) for s in c.sessions},
        "dialogues": {d: {"session": v[0].session, "segments": [s.sid for s in v]} for d, v in c.dialogues.items()},
        "segments": {s.sid: segment_json(s, c.files) for s in c.segments},
        "expected": expected_counts(c.files, c.dialogues, roles),
        "quirks": [quirk_json(c.files, q) for q in c.planted],
    }


def build_manifest(k19: Corpus, k20: Corpus, seed: int) -> dict:
    return {
        "schema": SCHEMA,
        "generator": GENERATOR,
        "seed": seed,
        "tools": {
            "espeak-ng": tool_version(["espeak-ng", "--version"]),
            "sox": tool_version(["sox", "--version"]),
        },
        "synthetic": True,
        "emotions": EMOTIONS,
        "transcript_cleaning": TRANSCRIPT_CLEANING,
        "skip_reason_precedence": SKIP_REASONS,
        "known_broken_segment_ids": KNOWN_BROKEN,
        "design_stats": check_design(k19.segments, k19.files),
        "kemdy19": {
            **corpus_json(k19, LAYOUT19, ("speaker", "listener")),
            "optional_quirk_7_known_broken": "planted (Sess04_impro03, 30 short turns + broken turn 31)",
        },
        "kemdy20": corpus_json(k20, LAYOUT20, ("speaker",)),
    }


def manifest_text(manifest: dict) -> str:
    """Indented JSON, with flat lists and objects kept on one line."""
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    # keep flat lists (votes, ids, header rows) on one line
    text = re.sub(r"\[\n\s*([^\[\]{}]*?)\n\s*\]", lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)
    # ... and flat objects (labels, espeak parameters, counts) too
    text = re.sub(r"\{\n\s*([^{}]*?)\n\s*\}", lambda m: "{" + re.sub(r",\n\s*", ", ", m.group(1)) + "}", text)
    return text + "\n"
