"""What `make demo` prints after training: the run's result tables and one held-out dialogue, predicted by the
saved folder through the pipeline (as a user would load it) next to its annotation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..data import load_kemdy19
from ..results import PUBLISHED_HEADER, PUBLISHED_ROWS, markdown_table, run_tables
from ..saving import load_mate_pipeline


def example_dialogue(run_dir: Path, corpus: Path) -> str:
    """The first held-out dialogue of the run: per utterance, the top-2 predicted emotions, arousal and valence
    against the annotated majority emotion, arousal and valence."""
    report = json.loads((run_dir / "data_report.json").read_text(encoding="utf-8"))
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


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    run_dir = Path(argv[0] if argv else "outputs/demo")
    corpus = Path(argv[1] if len(argv) > 1 else "demo_corpus/KEMDy19")
    print(run_tables(run_dir))
    print("\nPublished (KEMDy19, for scale; the demo corpus is synthetic and tiny):\n")
    print(markdown_table(PUBLISHED_HEADER, PUBLISHED_ROWS[:3]))
    print()
    print(example_dialogue(run_dir, corpus))
