"""Load a staged MATE folder as a Hub user without mate-hf would, and run its pipeline on the widget examples.

    python path/to/mate_hf/hub/verify_remote_code.py STAGED_FOLDER '[["a.wav", "transcript"], ["b.wav", null]]'

The last line of stdout is `MATE-RESULTS {"results": [...], "classes": {...}}`: one pipeline result per example and
the module of every class that loaded. `verify_staged` (verification.py) runs this file in a fresh Python and
compares the results with the outputs the card records.

Why a file path and not `python -m mate_hf.hub.verify_remote_code`: `-m` imports the packages `mate_hf` and
`mate_hf.hub` before this module runs, and importing `mate_hf` registers MATE with transformers' Auto classes and
its pipeline registry. Deleting the modules from `sys.modules` afterwards does not undo those registrations: the
registries keep the package's classes, and `AutoModel.from_pretrained(folder, trust_remote_code=True)` then returns
the installed `mate_hf.modeling_mate.MateModel`, not the folder's (tried with transformers 5.24), so the check would
pass on the package's code. Run as a file, nothing of mate_hf is imported: this file needs only the standard
library and transformers, its own folder (mate_hf/hub/, first on `sys.path` for a script) is taken off `sys.path`,
and `import mate_hf` is made to fail. It refuses to run when any `mate_hf` module is loaded already (run with `-m`,
or imported by a `sitecustomize`), and checks that the model, processor and pipeline classes come from
transformers' dynamic modules, i.e. from the folder's own `.py` files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PACKAGE = "mate_hf"
RESULTS_PREFIX = "MATE-RESULTS "
# transformers imports a folder's code (`trust_remote_code=True`) as modules of this package.
REMOTE_CODE_PACKAGE = "transformers_modules"


def isolate_from_package() -> None:
    """Make `import mate_hf` fail, as for a user who never installed it.

    Raises:
        SystemExit: some `mate_hf` module was imported already, so MATE may be registered with transformers.
    """
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    loaded = sorted(name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + "."))
    if loaded:
        raise SystemExit(
            f"verify_remote_code: {loaded[0]} and {len(loaded) - 1} more mate_hf modules are imported already, so "
            f"MATE may be registered with transformers: run this file as a script (python {Path(__file__).name} "
            "FOLDER EXAMPLES), not with python -m"
        )
    sys.modules[PACKAGE] = None  # `import mate_hf` (and `mate_hf.*`) now raises ImportError


def load_and_run(folder: str, examples: list[tuple[str, str | None]]) -> dict:
    """The pipeline results on `examples` ((file name in the folder, transcript)) and the loaded classes' modules.

    Raises:
        SystemExit: a class came from elsewhere than the folder's code.
    """
    from transformers import AutoModel, AutoProcessor, pipeline

    model = AutoModel.from_pretrained(folder, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    pipe = pipeline(model=folder, trust_remote_code=True)
    classes = {
        "model": type(model).__module__,
        "processor": type(processor).__module__,
        "pipeline": type(pipe).__module__,
        "pipeline model": type(pipe.model).__module__,
    }
    foreign = {role: module for role, module in classes.items() if not module.startswith(REMOTE_CODE_PACKAGE + ".")}
    if foreign:
        raise SystemExit(f"verify_remote_code: these classes did not come from the folder's code: {foreign}")
    results = [pipe(str(Path(folder) / name), transcript=text) for name, text in examples]
    return {"results": results, "classes": classes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the staged folder")
    parser.add_argument("examples", help='JSON list of [file name, transcript or null], e.g. [["a.wav", null]]')
    args = parser.parse_args(argv)
    isolate_from_package()
    report = load_and_run(args.folder, [tuple(example) for example in json.loads(args.examples)])
    print(RESULTS_PREFIX + json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
