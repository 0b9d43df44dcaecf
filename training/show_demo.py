#!/usr/bin/env python
"""After `make demo`'s training run: print its result tables (SPEC §6 form) and the predictions for one held-out
dialogue, made by loading the saved folder through the pipeline, as a user would.

    python training/show_demo.py outputs/demo [demo_corpus/KEMDy19]
"""

from mate_hf.experiments.demo import main

if __name__ == "__main__":
    main()
