"""Script form of ``python -m demo_corpus.generator`` (same options); see demo_corpus/generator/__init__.py."""

from generator.cli import main  # run as a script, this file's folder is on sys.path: its generator package imports

if __name__ == "__main__":
    main()
