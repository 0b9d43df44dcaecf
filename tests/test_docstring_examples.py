"""The `Example:` sections of the public classes' docstrings run, offline, and print what they show."""

import doctest

import pytest

from mate_hf import MateConfig, MateEmotionPipeline, MateModel, MateProcessor

DOCUMENTED = [MateConfig, MateModel, MateProcessor, MateEmotionPipeline]


@pytest.mark.parametrize("documented", DOCUMENTED, ids=lambda documented: documented.__name__)
def test_class_docstring_example_runs(documented, one_torch_thread):
    # The class docstring only: methods' docstrings are not examples for newcomers.
    tests = [test for test in doctest.DocTestFinder(recurse=False).find(documented) if test.examples]
    assert tests and "Example" in documented.__doc__, f"{documented.__name__} has no docstring example"
    runner = doctest.DocTestRunner()  # no option flags: the examples pass under a plain `python -m doctest`
    for test in tests:
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {documented.__name__} failed"
