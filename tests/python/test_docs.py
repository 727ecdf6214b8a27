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


def _cli(*args: str) -> str:
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "mlprims", *args], capture_output=True, text=True, check=True)
    return completed.stdout


@pytest.mark.parametrize("args, expected", [(("--help",), ("tour", "info", "cmake-dir", "--version")),
                                            (("tour", "--help"), ("--quick",))], ids=["main", "tour"])
def test_command_line_help_is_plain_text_with_measured_times(args, expected):
    from mlprims.__main__ import QUICK_TOUR_TIME, TOUR_TIME

    text = _cli(*args)
    assert all(word in text for word in expected), text
    assert "``" not in text and "::" not in text and ":mod:" not in text and ":func:" not in text, text
    assert "a few seconds" not in text and TOUR_TIME in text, text
    if args[0] == "tour":
        assert QUICK_TOUR_TIME in text


def test_command_line_version():
    assert _cli("--version").strip() == f"mlprims {mlprims.__version__}"


def test_command_line_info_says_why_cuda_is_off():
    import json

    info = json.loads(_cli("info"))
    assert info["version"] == mlprims.__version__
    status = info["cuda_status"]
    if info["cuda"]:
        assert status.startswith("on: built for CUDA architectures")
    else:
        # the configure-time reason: MLPRIMS_CUDA=OFF or what was not found
        assert status.startswith("off: ") and ("MLPRIMS_CUDA=OFF" in status or "not found" in status), status
    assert mlprims.build_info()["cuda_status"] == status
