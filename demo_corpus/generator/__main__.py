"""``python -m demo_corpus.generator [--out DIR] [--seed N] [--jobs N]`` (from the repository root)."""

from .cli import main

main()
