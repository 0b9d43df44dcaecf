#!/usr/bin/env python
"""Run one MATE experiment: several settings, each on every session fold (`cv`) or on one validation split
(`sweep`), then write its tables and plots.

    python training/cross_validate.py training/configs/experiments/demo_modalities.yaml
    python training/cross_validate.py training/configs/experiments/kemdy19_speaker_cv.yaml \
        --kemdy19_dir /data/KEMDy19 --output_dir runs/speaker-cv

The experiment file's keys and the command-line options are described in `mate_hf.experiments.cross_validation`.
"""

from mate_hf.experiments.cross_validation import main

if __name__ == "__main__":
    main()
