"""Arrays in and out: numpy, torch (CPU and CUDA), scalars, lists, other DLPack objects; dtypes,
shapes, strides, devices and bad input.

The matrix at the end runs every public function (tests/python/_interop_cases.py) over every
array type, device, dtype and layout; the tests before it go deeper into the path all elementwise
functions share, with special.log_iv and its siblings."""

from __future__ import annotations

import numpy as np
import pytest
from _interop_cases import CASES, POLICY, SAME_AS_INPUT
from mlprims import _core, special

torch = pytest.importorskip("torch")


def test_numpy_in_numpy_out_broadcasting():
    v = np.array([[0.0], [1.0], [2.5]])
    x = np.array([0.5, 1.0, 2.0, 4.0])
    out = special.log_iv(v, x)
    assert isinstance(out, np.ndarray) and out.shape == (3, 4) and out.dtype == np.float64
    for i in range(3):
        for j in range(4):
            assert out[i, j] == special.log_iv(float(v[i, 0]), float(x[j]))


def test_scalars_return_numpy_scalars():
    out = special.log_iv(1.0, 2.0)
    assert isinstance(out, np.float64)
    assert isinstance(special.log_iv(np.float32(1.0), np.float32(2.0)), np.float32)


def test_python_scalars_are_weak():
    x = np.linspace(1, 2, 5, dtype=np.float32)
    assert special.log_iv(3, x).dtype == np.float32
    assert special.log_iv(3.0, x).dtype == np.float32


def test_lists_and_integers_promote_to_float64():
    out = special.log_iv([0, 1, 2], [1, 2, 3])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, special.log_iv(np.array([0.0, 1, 2]), np.array([1.0, 2, 3])))
    assert special.log_iv(np.arange(3, dtype=np.int32), np.float32(2.0)).dtype == np.float64


def test_float32_stays_float32_and_float16_computes_in_float32():
    x = np.linspace(0.1, 9, 7)
    got32 = special.log_kv(np.float32(2.0), x.astype(np.float32))
    assert got32.dtype == np.float32
    got16 = special.log_kv(np.float16(2.0), x.astype(np.float16))
    assert got16.dtype == np.float32
    ref = special.log_kv(2.0, x.astype(np.float16).astype(np.float64))
    np.testing.assert_allclose(got16, ref, rtol=2e-6)


def test_non_contiguous_and_negative_strides():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.1, 50, (40, 30))
    v = rng.uniform(0, 20, (30, 40)).T  # transposed view
    x = base[::-2, ::3]  # negative and non-unit strides
    vv = v[::-2, ::3]
    got = special.log_iv(vv, x)
    np.testing.assert_array_equal(got, special.log_iv(np.ascontiguousarray(vv), np.ascontiguousarray(x)))


def test_read_only_and_broadcast_views():
    x = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (4, 3))
    assert not x.flags.writeable
    got = special.log_iv(2.0, x)
    assert got.shape == (4, 3)
    np.testing.assert_array_equal(got[3], special.log_iv(2.0, np.array([1.0, 2.0, 3.0])))


def test_empty_arrays():
    out = special.log_iv(np.zeros((0, 3)), 1.0)
    assert out.shape == (0, 3)
    assert special.log_kv(torch.zeros(0), 1.0).shape == (0,)


def test_torch_cpu_in_torch_out():
    x = torch.linspace(0.5, 10, 6, dtype=torch.float32)
    out = special.log_kv(1.5, x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.device == x.device
    np.testing.assert_array_equal(out.numpy(), special.log_kv(np.float32(1.5), x.numpy()))
    t = torch.arange(12, dtype=torch.float64).reshape(3, 4).t() + 0.5  # non-contiguous
    np.testing.assert_array_equal(special.log_iv(2.0, t).numpy(), special.log_iv(2.0, t.contiguous().numpy()))


def test_torch_mixed_with_numpy_on_cpu():
    out = special.log_iv(np.array([1.0, 2.0]), torch.tensor([3.0, 4.0], dtype=torch.float64))
    assert isinstance(out, torch.Tensor)


class DLPackOnly:
    """An array from some other library: it only speaks DLPack."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_any_dlpack_object():
    x = np.linspace(1, 5, 5)
    out = special.log_iv(2.0, DLPackOnly(x))
    np.testing.assert_array_equal(out, special.log_iv(2.0, x))


def test_import_is_zero_copy():
    x = np.arange(12.0).reshape(3, 4)[:, ::2]
    info = _core.testing.import_info(x)
    assert info["data"] == x.ctypes.data
    assert info["shape"] == (3, 2) and info["strides"] == (4, 2)
    assert info["dtype"] == "float64" and info["device"] == "cpu"
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    info = _core.testing.import_info(t)
    assert info["data"] == t.data_ptr() and info["strides"] == (1, 3) and info["dtype"] == "float32"
    assert _core.testing.import_info(np.broadcast_to(1.0, (3,)))["read_only"]


def test_out_argument():
    x = np.linspace(1, 2, 6).reshape(2, 3)
    out = np.empty((2, 3))
    assert special.log_kv(1.5, x, out=out) is out
    np.testing.assert_array_equal(out, special.log_kv(1.5, x))
    with pytest.raises(TypeError, match=r"log_kv: 'out' must have dtype float64, got float32"):
        special.log_kv(1.5, x, out=np.empty((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"log_kv: 'out' must have shape \(2, 3\), got \(3, 2\)"):
        special.log_kv(1.5, x, out=np.empty((3, 2)))
    with pytest.raises(TypeError, match=r"'out' must be a numpy.ndarray like the inputs"):
        special.log_kv(1.5, x, out=torch.empty((2, 3), dtype=torch.float64))
    t = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"'out' cannot be used when x requires grad"):
        special.log_iv(1.0, t, out=torch.empty(3, dtype=torch.float64))
    out_t = torch.empty(3, dtype=torch.float64)
    assert special.iv_ratio(2.0, t.detach(), out=out_t) is out_t


def test_results_written_in_place_into_caller_memory():
    x = np.linspace(1, 2, 4)
    out = np.zeros(4)
    _core.special.log_iv(np.float64(1.0), x, out, 0)
    np.testing.assert_array_equal(out, special.log_iv(1.0, x))


# --- bad input -----------------------------------------------------------------------------


def test_complex_is_type_error():
    with pytest.raises(TypeError, match=r"log_iv: 'x' must be real"):
        special.log_iv(1.0, np.array([1 + 1j]))
    with pytest.raises(TypeError, match=r"'v' must be real"):
        special.log_iv(1j, 1.0)
    with pytest.raises(TypeError, match=r"'x' must be real"):
        special.log_kv(1.0, torch.tensor([1 + 1j]))


def test_non_numeric_is_type_error():
    with pytest.raises(TypeError, match=r"log_iv: 'x' must"):
        special.log_iv(1.0, "abc")
    with pytest.raises(TypeError, match=r"'x' must hold numbers"):
        special.log_iv(1.0, np.array(["a"]))
    with pytest.raises(TypeError, match=r"'v' must be a number or an array"):
        special.log_iv(object(), 1.0)


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"log_iv: shapes of 'v' \(3,\) and 'x' \(4,\) cannot be broadcast"):
        special.log_iv(np.ones(3), np.ones(4))


def test_ragged_list_is_value_error():
    with pytest.raises(ValueError, match=r"'x' is not a rectangular list"):
        special.log_iv(1.0, [[1.0, 2.0], [3.0]])


def test_different_devices_value_error():
    with pytest.raises(ValueError, match=r"all inputs must be on one device"):
        special.log_iv(torch.ones(2), torch.ones(2, device="meta"))


def test_native_layer_checks_its_arguments():
    """The C++ entry points validate too (for C++ callers and the binding)."""
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"log_iv: 'x' must have dtype float64, got float32"):
        _core.special.log_iv(x, x.astype(np.float32), np.empty(3), 0)
    with pytest.raises(ValueError, match=r"log_iv: 'out' must have shape \(3,\), got \(4,\)"):
        _core.special.log_iv(x, x, np.empty(4), 0)
    with pytest.raises(ValueError, match=r"'out' must be writable"):
        _core.special.log_iv(x, x, np.broadcast_to(0.0, (3,)), 0)
    with pytest.raises(ValueError, match=r"must not overlap"):
        buffer = np.ones(4)
        _core.special.log_iv(buffer[:3], x, buffer[1:], 0)
    with pytest.raises(TypeError, match=r"must have dtype float32 or float64, got int64"):
        _core.special.log_iv(np.ones(3, dtype=np.int64), x, np.empty(3), 0)
    with pytest.raises(TypeError, match=r"'v' must be an array"):
        _core.special.log_iv(object(), x, np.empty(3), 0)


def test_in_place_exact_alias_is_allowed():
    x = np.linspace(1, 3, 5)
    expected = special.log_iv(1.0, x)
    _core.special.log_iv(np.float64(1.0), x, x, 0)
    np.testing.assert_array_equal(x, expected)


def test_no_crash_on_random_garbage():
    rng = np.random.default_rng(3)
    magnitudes = 10.0 ** rng.uniform(-320, 308, 500)
    values = np.concatenate([rng.standard_normal(500) * magnitudes,
                             [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, 1.7976931348623157e308]])
    v, x = np.meshgrid(values, values)
    for function in (special.log_iv, special.log_kv, special.iv_ratio):
        out = function(v, x)
        assert out.shape == v.shape
        assert not np.isnan(out[(x >= 0) & (v >= 0.5) & np.isfinite(x) & np.isfinite(v)]).any()


def test_out_whose_elements_overlap_each_other_is_refused():
    """Regression: an expanded (zero-stride) out used to be accepted and every result written to
    one element ([2.8625] * 5 instead of the five values)."""
    x = torch.arange(1.0, 6.0, dtype=torch.float64)
    overlapping = [torch.zeros(1, dtype=torch.float64).expand(5),             # stride 0
                   torch.zeros(6, dtype=torch.float64).as_strided((5,), (0,))]
    for out in overlapping:
        with pytest.raises(ValueError, match=r"log_iv: 'out' must have elements at distinct memory locations"):
            special.log_iv(2.0, x, out=out)
    rows_overlap = np.lib.stride_tricks.as_strided(np.zeros(8), (2, 5), (8, 8))  # row 1 = row 0 shifted
    with pytest.raises(ValueError, match=r"log_kv: 'out' must have elements at distinct memory locations"):
        special.log_kv(1.0, np.ones((2, 5)), out=rows_overlap)
    import mpmath

    expected = [float(mpmath.log(mpmath.besseli(2, t))) for t in range(1, 6)]
    out = torch.empty(5, dtype=torch.float64)
    special.log_iv(2.0, x, out=out)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14)


def test_out_with_distinct_elements_in_any_layout_is_accepted():
    x = np.linspace(1.0, 4.0, 12).reshape(3, 4)
    out = np.zeros((4, 3)).T  # transposed: distinct, not C-contiguous
    special.log_iv(1.5, x, out=out)
    np.testing.assert_allclose(out, special.log_iv(1.5, x), rtol=1e-15)
    wide = np.zeros((3, 8))[:, ::2]  # strided every other column
    special.log_kv(0.5, x, out=wide)
    np.testing.assert_allclose(wide, special.log_kv(0.5, x), rtol=1e-15)


# --- every public function over every array type, device, dtype and layout --------------------


def _strided(array):
    """The same values in a non-contiguous view (every other element of a wider buffer)."""
    if array.ndim == 0:
        return array
    wide = array.new_zeros(array.shape[:-1] + (2 * array.shape[-1],)) if isinstance(array, torch.Tensor) \
        else np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not (view.is_contiguous() if isinstance(view, torch.Tensor) else view.flags.c_contiguous)
    return view


def _transposed(array):
    """The same values in column-major (Fortran) layout."""
    if array.ndim < 2:
        return _strided(array)
    return array.mT.contiguous().mT if isinstance(array, torch.Tensor) else np.asfortranarray(array)


def _torch(dtype, device="cpu"):
    return lambda a: torch.from_numpy(a).to(device=device, dtype=getattr(torch, dtype))


# id -> (convert a float64 numpy array, result framework, result device, input dtype)
VARIANTS = {
    **{f"numpy-{d}": (lambda a, d=d: a.astype(d), "numpy", "cpu", d) for d in ("float64", "float32", "float16", "int64")},
    **{f"torch-{d}": (_torch(d), "torch", "cpu", d) for d in ("float64", "float32", "float16", "bfloat16", "int64")},
    **{f"cuda-{d}": (_torch(d, "cuda"), "torch", "cuda:0", d) for d in ("float64", "float32", "float16", "bfloat16")},
    "list": (lambda a: a.tolist(), "numpy", "cpu", "float64"),
    "dlpack-cpu": (lambda a: DLPackOnly(a), "numpy", "cpu", "float64"),
    "dlpack-cuda": (lambda a: DLPackOnly(torch.from_numpy(a).cuda()), "torch", "cuda:0", "float64"),
    "numpy-strided": (_strided, "numpy", "cpu", "float64"),
    "numpy-transposed": (_transposed, "numpy", "cpu", "float64"),
    "torch-strided": (lambda a: _strided(torch.from_numpy(a)), "torch", "cpu", "float64"),
    "torch-transposed": (lambda a: _transposed(torch.from_numpy(a)), "torch", "cpu", "float64"),
    "cuda-strided": (lambda a: _strided(torch.from_numpy(a).cuda()), "torch", "cuda:0", "float64"),
}

# Relative tolerance by the dtype a result is returned in (the data are exact in every dtype).
_RTOL = {"float64": 1e-12, "float32": 2e-5, "float16": 2e-3, "bfloat16": 1.6e-2, "bool": 0}


def _applies(case, variant: str) -> bool:
    _, framework, device, dtype = VARIANTS[variant]
    if case.torch_only and framework != "torch":
        return False
    if case.cpu_only and device != "cpu":
        return False
    if case.wide_floats_only and dtype in ("float16", "bfloat16"):
        return False
    if case.scalar_only and variant.startswith("dlpack"):
        return False  # a 0-d value, not an array object
    return case.integers or not dtype.startswith("int")


def _matrix():
    for case in CASES:
        for variant in VARIANTS:
            if _applies(case, variant):
                marks = [pytest.mark.cuda] if "cuda" in variant else []
                yield pytest.param(case, variant, id=f"{case.name}-{variant}", marks=marks)


def _to_float64(array):
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().double().numpy()
    return np.asarray(array, dtype=np.float64)


def _expected_dtype(spec: str, input_dtype: str) -> str:
    if spec == SAME_AS_INPUT:
        return input_dtype
    if spec == POLICY:
        return "float32" if input_dtype in ("float32", "float16", "bfloat16") else "float64"
    return spec


@pytest.mark.parametrize("case, variant", list(_matrix()))
def test_every_public_function_over_every_array_type(case, variant):
    convert, framework, device, input_dtype = VARIANTS[variant]
    result = case.call(**{name: convert(array) for name, array in case.data.items()})
    if case.always_numpy:
        framework, device = "numpy", "cpu"
    outputs = case.outputs(result)
    specs = case.output_dtypes or (POLICY,) * len(outputs)
    for output, spec in zip(outputs, specs):
        expected_dtype = _expected_dtype(spec, input_dtype)
        if framework == "numpy":
            assert isinstance(output, np.ndarray), type(output)
            assert output.dtype == np.dtype(expected_dtype)
        else:
            assert isinstance(output, torch.Tensor), type(output)
            assert str(output.device) == device and output.dtype == getattr(torch, expected_dtype)

    if case.torch_only:
        reference = case.reference(**case.data)
        expected = (reference,)
    else:
        expected = case.values(case.call(**case.data), _to_float64)
    got = case.values(result, _to_float64)
    returned_in = _expected_dtype(specs[0], input_dtype) if outputs else "float64"
    rtol = _RTOL[returned_in]
    for got_value, expected_value in zip(got, expected, strict=True):
        scale = max(1.0, float(np.max(np.abs(expected_value), initial=0.0)))
        np.testing.assert_allclose(got_value, expected_value, rtol=rtol, atol=rtol * scale)


# Public names that take files, folders or dicts of tensors rather than arrays (tested in
# test_sparse_checkpoint.py, over the array functions the matrix covers).
# Functions of files, names and models, not arrays (sparse.importance takes a torch model and a loader).
_NOT_ARRAY_FUNCTIONS = {f"sparse.{name}" for name in ("save", "load", "extract_checkpoint", "apply_checkpoint",
                                                       "merge_checkpoints", "checkpoint_stats", "tensor_seed",
                                                       "importance")}


def test_the_matrix_covers_every_public_name():
    """A public function without a Case would be untested for interop."""
    import types

    import mlprims
    from mlprims._result import Result

    covered = {case.name.split("(")[0] for case in CASES}
    covered |= {name.rsplit(".", 1)[0] for name in covered}  # methods cover their class
    modules = [value for value in map(mlprims.__dict__.get, mlprims.__all__) if isinstance(value, types.ModuleType)]
    assert {module.__name__ for module in modules} >= {"mlprims.special", "mlprims.vmf", "mlprims.mfac", "mlprims.lowrank"}
    for module in modules:
        short = module.__name__.split(".")[-1]
        # Result classes are outputs, not functions taking arrays.
        results = {n for n in module.__all__ if isinstance(getattr(module, n), type) and issubclass(getattr(module, n), Result)}
        missing = [n for n in module.__all__ if n not in results and f"{short}.{n}" not in covered
                   and f"{short}.{n}" not in _NOT_ARRAY_FUNCTIONS]
        assert not missing, f"no interop case for {short}: {missing}"
