"""Holds the `evaluate` module file; a package only so that setuptools ships the file with mate_hf."""
