#!/usr/bin/env python
"""After `make demo`'s training run: print its result table (SPEC §6 form) and predictions for one held-out
dialogue, made by loading the saved folder through the pipeline, as a user would.

    python training/show_demo.py outputs/demo
"""

import json
import sys
from pathlib import Path

from report import (
    PAPER_COLUMNS,
    PUBLISHED_HEADER,
    PUBLISHED_ROWS,
    STANDARD_COLUMNS,
    WHOLE_SET_COLUMNS,
    format_value,
    markdown_table,
)

from mate_hf import load_mate_pipeline
from mate_hf.data import load_kemdy19


def result_tables(run_dir: Path) -> str:
    metrics = json.loads((run_dir / "eval_results.json").read_text())
    report = json.loads((run_dir / "data_report.json").read_text())
    setting = f"demo corpus, speaker, audio+text, held out: {', '.join(report['eval_sessions'])}"

    def table(columns: tuple) -> str:
        row = [setting, *(format_value(metrics[key]) for _, key in columns)]
        return markdown_table(["setting", *(title for title, _ in columns)], [row])

    return "\n\n".join(
        [
            "As published (precision@1, recall@1, F1@1 per batch of 64 utterances, averaged over the batches):",
            table(PAPER_COLUMNS),
            "Whole evaluation set, k = 1 and 2:",
            table(WHOLE_SET_COLUMNS),
            table(STANDARD_COLUMNS),
            "Published (KEMDy19, for scale; the demo corpus is synthetic and tiny):",
            markdown_table(PUBLISHED_HEADER, PUBLISHED_ROWS[:3]),
        ]
    )


def example_dialogue(run_dir: Path, corpus: Path) -> str:
    report = json.loads((run_dir / "data_report.json").read_text())
    dialogues, _ = load_kemdy19(corpus, role="speaker")
    held_out = dialogues.filter(lambda row: row["session"] in report["eval_sessions"])[0]
    pipe = load_mate_pipeline(run_dir)
    turns = [{"path": path, "text": text} for path, text in zip(held_out["audio_path"], held_out["text"])]
    results = pipe({"dialogue": turns}, top_k=2)
    lines = [f"Dialogue {held_out['dialogue_id']} (held out), predicted vs annotated:"]
    for segment_id, text, votes, arousal, valence, result in zip(
        held_out["segment_id"],
        held_out["text"],
        held_out["emotion_votes"],
        held_out["arousal"],
        held_out["valence"],
        results,
    ):
        gold = pipe.model.config.id2label[max(range(len(votes)), key=votes.__getitem__)]
        top = ", ".join(f"{e['label']} {e['score']:.2f}" for e in result["emotions"])
        lines.append(
            f"  {segment_id}  {text!r}\n      predicted {top} | A {result['arousal']:.2f} V {result['valence']:.2f}"
            f"   annotated {gold} | A {arousal:.2f} V {valence:.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    run_dir = Path(argv[0] if argv else "outputs/demo")
    corpus = Path(argv[1] if len(argv) > 1 else "demo_corpus/KEMDy19")
    print(result_tables(run_dir))
    print()
    print(example_dialogue(run_dir, corpus))


if __name__ == "__main__":
    main(sys.argv[1:])
