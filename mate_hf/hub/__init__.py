"""Publishing a MATE folder to the Hugging Face Hub: stage one clean folder, check it, upload it in one commit.

    from mate_hf.hub import stage, upload, verify_staged

    staged = stage("outputs/demo", "staging/mate-demo", "user/mate-demo")   # weights, code, examples, README.md
    verify_staged(staged)                                                    # loads as remote code, without mate_hf
    upload(staged, "user/mate-demo")                                         # create_repo + one create_commit

What is staged is chosen file by file (never "everything but ..."): safetensors weights, `config.json`, the
processor files, the remote-code `.py` files that the JSON files name (and their relative imports), up to three
example recordings (with their transcript beside them as `.txt`) and `README.md`, generated from the card template
`model_card.md` of this package with the Hub metadata (model-index from `eval_results.json`, widget outputs recorded
by running the pipeline). A training folder's `data_report.json` and `eval_predictions.jsonl` hold absolute paths of
the machine: they are read for the card, never staged. Before anything leaves the machine, `scan_staged_folder`
refuses caches, pickles, training state, anything shaped like a Hub token and the machine's absolute paths.

One job per module: `model_folder` (what a MATE folder holds, its remote code), `examples` (widget examples and
their recorded outputs), `model_card`, `safety` (the scan), `staging` (`stage`), `verification` (`verify_staged`,
which runs `verify_remote_code.py` in a fresh Python) and `uploading` (`upload`).
"""

from .examples import MAX_EXAMPLES, Example, choose_examples, outputs_agree, widget_output
from .model_card import DEFAULT_TEMPLATE, TrainingFacts, build_model_card, default_template, training_facts
from .model_folder import AUDIO_SUFFIXES, check_model_dir, remote_code_files
from .safety import FORBIDDEN_NAMES, FORBIDDEN_PATTERNS, scan_staged_folder
from .staging import check_repo_id, stage
from .uploading import upload
from .verification import verify_staged

__all__ = [
    "AUDIO_SUFFIXES",
    "DEFAULT_TEMPLATE",
    "FORBIDDEN_NAMES",
    "FORBIDDEN_PATTERNS",
    "MAX_EXAMPLES",
    "Example",
    "TrainingFacts",
    "build_model_card",
    "check_model_dir",
    "check_repo_id",
    "choose_examples",
    "default_template",
    "outputs_agree",
    "remote_code_files",
    "scan_staged_folder",
    "stage",
    "training_facts",
    "upload",
    "verify_staged",
    "widget_output",
]
