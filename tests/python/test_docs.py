"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest

import pytest

import mlprims
from mlprims import lowrank, mfac, special, vmf


@pytest.mark.parametrize("module", [special, vmf, mfac, lowrank, mlprims], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize(
    "function",
    [special.log_iv, special.log_kv, special.iv_ratio, vmf.log_normalizer, vmf.mean_resultant_length, vmf.log_prob,
     vmf.kappa_mle, vmf.fit, vmf.sample, lowrank.truncated_svd, lowrank.weighted_svd],
    ids=lambda f: f.__name__,
)
def test_public_functions_are_documented_with_examples(function):
    doc = function.__doc__ or ""
    assert "Examples" in doc and ">>>" in doc
