"""The generated ``demo_corpus/README.md``: a summary of the corpus and of its planted quirks."""

from __future__ import annotations


def readme(manifest: dict) -> str:
    """The text of ``README.md``, written from the manifest so that the two always agree."""
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
