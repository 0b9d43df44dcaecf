#!/usr/bin/env python
"""Tables and plots of a finished experiment, made from its run folders alone (`results.json`, `results.md`, PNGs).

    python training/report.py outputs/experiments/demo_modalities

The report is `mate_hf.experiments.report`.
"""

from mate_hf.experiments.report import main

if __name__ == "__main__":
    main()
