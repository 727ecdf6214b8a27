"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest
import sys
import types

import mlprims
import pytest

# The primitives' modules, from the package's own __all__: a new one is covered without an edit here.
PRIMITIVE_MODULES = [value for value in map(mlprims.__dict__.get, mlprims.__all__) if isinstance(value, types.ModuleType)]


def _documented_modules():
    """The primitives' modules and the private modules their public names are defined in (doctest
    only runs the examples of objects defined in the module it is given)."""
    modules = [*PRIMITIVE_MODULES, mlprims]
    for module in PRIMITIVE_MODULES:
        for name in module.__all__:
            try:
                defined_in = sys.modules[getattr(module, name).__module__]
            except ImportError:  # a torch optimizer, without torch
                continue
            if defined_in not in modules:
                modules.append(defined_in)
    return modules


@pytest.mark.parametrize("module", _documented_modules(), ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def _public_names():
    """Every name each primitive's module exports (its __all__), so a new one cannot go undocumented."""
    names = []
    for module in PRIMITIVE_MODULES:
        for name in module.__all__:
            names.append(pytest.param(module, name, id=f"{module.__name__}.{name}"))
    return names


@pytest.mark.parametrize("module, name", _public_names())
def test_every_public_name_is_documented_with_an_example(module, name):
    if name in ("MFAC", "MaskedAdam", "ZerothOrderSGD"):
        pytest.importorskip("torch")
    doc = getattr(module, name).__doc__ or ""
    assert "Examples" in doc and ">>>" in doc, f"{module.__name__}.{name} has no example in its docstring"


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
