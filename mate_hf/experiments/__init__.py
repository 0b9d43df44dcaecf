"""Training experiments on KEMDy19/KEMDy20 and the demo corpus: run arguments and configs (`arguments`), the
training recipe (`recipe`), session cross-validation and sweeps (`cross_validation`), and their reports (`report`,
`plots`). The scripts in `training/` are entry points over these modules.

Needs the training extras (`pip install mate-hf[training]`); `import mate_hf` does not import this package.
"""
