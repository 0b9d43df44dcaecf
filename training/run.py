#!/usr/bin/env python
"""Train and evaluate MATE on KEMDy19, KEMDy20, both, or the bundled demo corpus.

    accelerate launch training/run.py training/configs/demo.yaml
    accelerate launch training/run.py training/configs/experiments/kemdy19_base.yaml \
        --kemdy19_dir /data/KEMDy19 --role speaker --fold 3 --output_dir runs/speaker-fold3 --model.loss_lambda 0.75

A run config (YAML or JSON) holds the run arguments and, as the mapping `model`, the MateConfig settings; arguments
after it override it (`--name value`, `--model.name value`). The recipe is `mate_hf.experiments.recipe`; the
arguments are listed by `--help` and in `mate_hf.experiments.arguments`.
"""

from mate_hf.experiments.recipe import main

if __name__ == "__main__":
    main()
