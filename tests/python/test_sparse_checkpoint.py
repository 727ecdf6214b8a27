"""The checkpoint level of mlprims.sparse: the delta file (save/load and its checks), extract /
apply / merge / stats over whole checkpoints (sharded folders, single files, dicts) against the
tensor-level functions, and the ``python -m mlprims sparse`` command line."""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import math
import os
import struct
import subprocess
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors = pytest.importorskip("safetensors")
from mlprims import __main__ as command_line  # noqa: E402
from mlprims import _sparse_checkpoint as ckpt  # noqa: E402  (needs torch and safetensors)
from mlprims import sparse  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _bits(tensor):
    return tensor.detach().contiguous().reshape(-1).view(torch.uint8)


def assert_same_bits(got, expected):
    if isinstance(got, np.ndarray):
        got = torch.from_numpy(got)
    if isinstance(expected, np.ndarray):
        expected = torch.from_numpy(expected)
    assert got.dtype == expected.dtype and tuple(got.shape) == tuple(expected.shape), (got.dtype, got.shape, expected.dtype, expected.shape)
    assert torch.equal(_bits(got), _bits(expected))


def assert_same_delta(got, expected):
    assert (got.shape, got.dtype, got.encoding, got.value_dtype, got.nnz) == (
        expected.shape, expected.dtype, expected.encoding, expected.value_dtype, expected.nnz)
    assert_same_bits(got.values, expected.values)
    support = "indices" if expected.encoding == "indices" else "bitmask"
    assert_same_bits(getattr(got, support), getattr(expected, support))


def _read(path):
    """A checkpoint (file or sharded folder) as a dict of tensors."""
    if os.path.isdir(path):
        with open(os.path.join(path, ckpt.INDEX_FILE)) as file:
            weight_map = json.load(file)["weight_map"]
        tensors = {}
        for name, shard in weight_map.items():
            with safe_open(os.path.join(path, shard), framework="pt") as handle:
                tensors[name] = handle.get_tensor(name)
        return tensors
    return load_file(path)


def _save_sharded(state, folder, shards):
    """`state` as a sharded checkpoint: contiguous runs of names per shard, plus the index."""
    os.makedirs(folder)
    names = list(state)
    size = math.ceil(len(names) / shards)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {name: state[name].contiguous() for name in names[s * size:(s + 1) * size]}
        save_file(part, os.path.join(folder, file), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, file))
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state.values())},
             "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(folder, ckpt.INDEX_FILE), "w") as file:
        json.dump(index, file)
    return folder


def _transformer_state(dtype):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128)
    model = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    state = {name: value.detach().to(dtype).clone() for name, value in model.state_dict().items()}
    state["position_ids"] = torch.arange(16, dtype=torch.int64)  # an integer buffer: skipped
    return state


def _perturbed(state, seed, fraction=0.1, scale=0.01):
    generator = torch.Generator().manual_seed(seed)
    tuned = {}
    for name, value in state.items():
        if value.dtype not in FLOATS:
            tuned[name] = value.clone()
            continue
        mask = torch.rand(value.shape, generator=generator) < fraction
        noise = scale * torch.randn(value.shape, generator=generator)
        tuned[name] = (value.double() + mask * noise.double()).to(value.dtype)
    return tuned


@pytest.fixture(scope="module", params=[torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def model(request, tmp_path_factory):
    """A small transformer as a 3-shard base, two fine-tunes (2 shards and 3 shards) and the dicts."""
    folder = tmp_path_factory.mktemp(f"model_{str(request.param).split('.')[-1]}")
    base = _transformer_state(request.param)
    tuned = [_perturbed(base, 1), _perturbed(base, 2)]
    return {"base": base, "tuned": tuned, "base_path": _save_sharded(base, str(folder / "base"), 3),
            "tuned_paths": [_save_sharded(tuned[0], str(folder / "tuned0"), 2),
                            _save_sharded(tuned[1], str(folder / "tuned1"), 3)]}


def _floating(state):
    return [name for name, value in state.items() if value.dtype in FLOATS]


# ---------------------------------------------------------------------------------------------
# The delta file


@pytest.mark.parametrize("encoding", ["indices", "bitmask"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: str(d).split(".")[-1])
def test_save_load_round_trips_bit_for_bit(tmp_path, dtype, encoding):
    generator = torch.Generator().manual_seed(3)
    base = torch.randn(37, 19, generator=generator).to(dtype)
    tuned = _perturbed({"w": base}, 4, fraction=0.3)["w"]
    scalar = torch.tensor(1.5, dtype=dtype)
    deltas = {
        "layer.w": sparse.extract(base, tuned, encoding=encoding),
        "layer.top": sparse.extract(base, tuned, density=0.05, encoding=encoding),
        "unchanged": sparse.extract(base, base, encoding=encoding),
        "scalar": sparse.extract(scalar, scalar + 1, encoding=encoding),
    }
    assert deltas["unchanged"].nnz == 0 and deltas["layer.top"].nnz == math.floor(0.05 * base.numel())
    path = tmp_path / "delta.safetensors"
    ckpt.save(path, deltas)
    loaded = ckpt.load(path)
    assert list(loaded) == list(deltas)
    for name, delta in deltas.items():
        assert_same_delta(loaded[name], delta)
    applied = loaded["layer.w"].apply_(base.clone())
    assert_same_bits(applied, tuned)

    # Any safetensors reader opens it: the documented keys and metadata.
    with safe_open(path, framework="pt") as handle:
        keys = set(handle.keys())
        document = json.loads(handle.metadata()[ckpt.FORMAT_NAME])
    assert keys == {f"{name}::{role}" for name in deltas for role in ("values", encoding)}
    assert document["format"] == "mlprims.sparse.delta" and document["version"] == 1
    record = document["tensors"]["layer.w"]
    assert record["shape"] == [37, 19] and record["dtype"] == str(dtype).split(".")[-1]
    assert record["nnz"] == deltas["layer.w"].nnz and record["encoding"] == encoding
    assert record["value_dtype"] == deltas["layer.w"].value_dtype


def test_save_converts_numpy_deltas_to_torch(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 8)).astype(np.float32)
    tuned = base.copy()
    tuned[rng.random(base.shape) < 0.2] += 0.5
    delta = sparse.extract(base, tuned)
    assert isinstance(delta.values, np.ndarray)
    ckpt.save(tmp_path / "d.safetensors", {"w": delta})
    loaded = ckpt.load(tmp_path / "d.safetensors")["w"]
    assert isinstance(loaded.values, torch.Tensor)
    assert_same_delta(loaded, delta)
    assert np.array_equal(loaded.apply_(torch.from_numpy(base.copy())).numpy(), tuned)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "delta.safetensors"
    first = {"w": sparse.extract(torch.zeros(8), torch.ones(8))}
    ckpt.save(path, first)
    before = path.read_bytes()

    def half_then_fail(self, chunk):
        self._file.write(chunk[:chunk.nbytes // 2])
        raise OSError("disk full")

    monkeypatch.setattr(ckpt._ShardWriter, "write_raw", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(path, {"w": sparse.extract(torch.zeros(8), torch.full((8,), 2.0))})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["delta.safetensors"]  # no temporary (data or file) left


@pytest.fixture
def delta_file(tmp_path):
    """A delta file of two tensors, the base they apply to, and an output path."""
    generator = torch.Generator().manual_seed(5)
    base = {"a": torch.randn(64, 32, generator=generator), "b": torch.randn(128, generator=generator)}
    tuned = _perturbed(base, 6, fraction=0.5)
    path = tmp_path / "delta.safetensors"
    ckpt.extract_checkpoint(base, tuned, path, progress=False)
    return path, base, tmp_path / "out.safetensors"


def _data_start(raw: bytes) -> int:
    return 8 + struct.unpack("<Q", raw[:8])[0]


def _rewrite_document(path, change):
    tensors = load_file(path)
    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata()
    document = json.loads(metadata[ckpt.FORMAT_NAME])
    change(document)
    metadata[ckpt.FORMAT_NAME] = json.dumps(document)
    save_file(tensors, path, metadata=metadata)


def _assert_bad_file(path, base, out, match):
    with pytest.raises(ValueError, match=match) as caught:
        ckpt.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(ValueError, match=match):
        ckpt.apply_checkpoint(base, path, out, progress=False)
    assert not os.path.exists(out)
    assert sorted(os.listdir(os.path.dirname(out))) == [os.path.basename(path)]
    return str(caught.value)


def test_corrupted_data_is_a_checksum_error_naming_the_tensor(delta_file):
    path, base, out = delta_file
    raw = bytearray(path.read_bytes())
    middle = (_data_start(raw) + len(raw)) // 2
    raw[middle:middle + 4] = bytes(b ^ 0xFF for b in raw[middle:middle + 4])
    path.write_bytes(bytes(raw))
    message = _assert_bad_file(path, base, out, "checksum mismatch of tensor '(a|b)'")
    assert "corrupted" in message


def test_truncated_file_is_an_error_naming_the_file(delta_file):
    path, base, out = delta_file
    path.write_bytes(path.read_bytes()[:-10])
    _assert_bad_file(path, base, out, "truncated or corrupted")


def test_truncated_header_is_an_error_naming_the_file(delta_file):
    path, base, out = delta_file
    path.write_bytes(path.read_bytes()[:40])
    _assert_bad_file(path, base, out, "must be a complete safetensors file")


def test_other_format_version_is_an_error_naming_file_and_version(delta_file):
    path, base, out = delta_file
    _rewrite_document(path, lambda document: document.update(version=2))
    _assert_bad_file(path, base, out, "format version 1, got version 2 in")


def test_recorded_checksum_mismatch_names_the_tensor(delta_file):
    path, base, out = delta_file
    _rewrite_document(path, lambda document: document["tensors"]["b"]["arrays"]["values"].update(blake2b="0" * 32))
    _assert_bad_file(path, base, out, "checksum mismatch of tensor 'b'")


def _array_range(path, key):
    """The byte range of array `key` in the safetensors file `path`."""
    raw = path.read_bytes()
    header = json.loads(raw[8:_data_start(raw)])
    start, stop = header[key]["data_offsets"]
    return _data_start(raw) + start, _data_start(raw) + stop


def test_apply_verifies_the_last_tensor_before_writing_anything(tmp_path, monkeypatch):
    generator = torch.Generator().manual_seed(17)
    base = {f"layer{i}.w": torch.randn(40, 30, generator=generator) for i in range(4)}
    path, out = tmp_path / "delta.safetensors", tmp_path / "out.safetensors"
    ckpt.extract_checkpoint(base, _perturbed(base, 18, fraction=0.3), path, progress=False)
    start, stop = _array_range(path, "layer3.w::values")  # the last tensor: read last by apply
    raw = bytearray(path.read_bytes())
    raw[start:stop] = bytes(b ^ 0xFF for b in raw[start:stop])  # every byte of the array
    path.write_bytes(bytes(raw))
    applied = []
    monkeypatch.setattr(sparse, "apply_", lambda W, delta, alpha=1.0: applied.append(1))
    with pytest.raises(ValueError, match=r"sparse.apply_checkpoint: 'delta_path' must be intact arrays, got a "
                                         r"checksum mismatch of tensor 'layer3.w' \(array 'layer3.w::values'"):
        ckpt.apply_checkpoint(base, path, out, progress=False)
    assert applied == [] and sorted(os.listdir(tmp_path)) == ["delta.safetensors"]


def test_recorded_shape_mismatch_names_the_tensor(delta_file):
    path, base, out = delta_file
    _rewrite_document(path, lambda document: document["tensors"]["a"].update(nnz=document["tensors"]["a"]["nnz"] + 1))
    _assert_bad_file(path, base, out, "recorded shapes and dtypes, got tensor 'a'")


def test_unsorted_indices_with_valid_checksums_are_refused(tmp_path):
    values, indices = torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([5, 3], dtype=torch.int32)
    path = tmp_path / "d.safetensors"
    ckpt.save(path, {"w": sparse.SparseDelta((8,), "float32", values, indices=indices)})
    with pytest.raises(ValueError, match="strictly ascending indices in range, got tensor 'w'"):
        ckpt.load(path)


def test_plain_safetensors_file_is_not_a_delta_file(tmp_path):
    save_file({"w": torch.zeros(3)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="an mlprims sparse delta file"):
        ckpt.load(tmp_path / "model.safetensors")


# ---------------------------------------------------------------------------------------------
# Whole checkpoints


def test_extract_then_apply_reproduces_tuned_bit_for_bit(model, tmp_path):
    base, tuned = model["base"], model["tuned"][0]
    delta_path = tmp_path / "delta.safetensors"
    summary = ckpt.extract_checkpoint(model["base_path"], model["tuned_paths"][0], delta_path, progress=False)
    floating = _floating(base)
    changed = {name: int((_bits_view(base[name]) != _bits_view(tuned[name])).sum()) for name in floating}
    assert summary.tensors == len(floating) and summary.skipped == ("position_ids",)
    assert summary.skipped_changed == ()
    assert summary.nnz == sum(changed.values()) > 0
    assert summary.numel == sum(base[n].numel() for n in floating)
    assert summary.bytes_out == os.path.getsize(delta_path)
    assert all(summary.row(name).nnz == changed[name] for name in floating)
    deltas = ckpt.load(delta_path)
    assert sorted(deltas) == sorted(floating)
    default = "float32" if base[floating[0]].dtype == torch.bfloat16 else "float64"
    assert all(d.value_dtype == default for d in deltas.values())

    out = tmp_path / "out"
    applied = ckpt.apply_checkpoint(model["base_path"], delta_path, out, progress=False)
    assert applied.nnz == summary.nnz and applied.skipped == ("position_ids",)
    assert sorted(os.listdir(out)) == sorted(os.listdir(model["base_path"]))  # the base's shard layout
    with open(out / ckpt.INDEX_FILE) as a, open(os.path.join(model["base_path"], ckpt.INDEX_FILE)) as b:
        assert json.load(a) == json.load(b)
    result = _read(str(out))
    assert sorted(result) == sorted(tuned)
    for name in tuned:
        assert_same_bits(result[name], tuned[name])


def _bits_view(tensor):
    return tensor.view({1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[tensor.element_size()])


def test_extract_at_density_equals_the_tensor_functions(model, tmp_path):
    base, tuned = model["base"], model["tuned"][0]
    delta_path = tmp_path / "delta.safetensors"
    ckpt.extract_checkpoint(model["base_path"], model["tuned_paths"][0], delta_path, density=0.05, progress=False)
    deltas = ckpt.load(delta_path)
    for name in _floating(base):
        expected = sparse.extract(base[name], tuned[name], density=0.05)
        assert deltas[name].nnz == math.floor(0.05 * base[name].numel())
        assert_same_delta(deltas[name], expected)

    out = tmp_path / "out"
    ckpt.apply_checkpoint(model["base_path"], delta_path, out, alpha=0.5, progress=False)
    result = _read(str(out))
    for name, value in base.items():
        expected = value.clone()
        if name in deltas:
            sparse.apply_(expected, sparse.extract(value, tuned[name], density=0.05), alpha=0.5)
        assert_same_bits(result[name], expected)


@pytest.mark.parametrize("options", [{}, {"density": 0.05, "encoding": "bitmask"}], ids=["changed", "bitmask"])
def test_streamed_extract_equals_save_of_the_tensor_deltas(model, tmp_path, options):
    base, tuned = model["base"], model["tuned"][0]
    streamed, saved = tmp_path / "streamed.safetensors", tmp_path / "saved.safetensors"
    summary = ckpt.extract_checkpoint(model["base_path"], model["tuned_paths"][0], streamed, progress=False, **options)
    with open(os.path.join(model["base_path"], ckpt.INDEX_FILE)) as file:
        order = [name for name in json.load(file)["weight_map"] if name in _floating(base)]  # the base's order
    deltas = {name: sparse.extract(base[name], tuned[name], **options) for name in order}
    ckpt.save(saved, deltas)
    assert streamed.read_bytes() == saved.read_bytes()  # one writer: the same bytes
    assert summary.bytes_out == os.path.getsize(streamed)
    loaded = ckpt.load(streamed)
    assert list(loaded) == list(deltas)
    for name, delta in deltas.items():
        assert_same_delta(loaded[name], delta)
    assert sorted(os.listdir(tmp_path)) == ["saved.safetensors", "streamed.safetensors"]  # no temporaries left

    # Any safetensors reader: the documented keys, the arrays, each aligned to its item size.
    with safe_open(streamed, framework="pt") as handle:
        keys = set(handle.keys())
        document = json.loads(handle.metadata()[ckpt.FORMAT_NAME])
        for name, delta in deltas.items():
            assert_same_bits(handle.get_tensor(f"{name}::values"), delta.values)
            assert_same_bits(handle.get_tensor(f"{name}::{delta.encoding}"), getattr(delta, delta.encoding))
    assert keys == {f"{name}::{role}" for name, delta in deltas.items() for role in ("values", delta.encoding)}
    assert list(document["tensors"]) == list(deltas) and document["version"] == 1
    raw = streamed.read_bytes()
    header = json.loads(raw[8:_data_start(raw)])
    assert _data_start(raw) % 8 == 0
    for key in keys:
        itemsize = getattr(torch, document["tensors"][key.split("::")[0]]["arrays"][key.split("::")[1]]["dtype"]).itemsize
        assert header[key]["data_offsets"][0] % itemsize == 0, key


def test_failed_extract_leaves_neither_output_nor_temporaries(tmp_path):
    generator = torch.Generator().manual_seed(19)
    base = {f"w{i}": torch.randn(50, generator=generator) for i in range(3)}
    tuned = {name: value + 1 for name, value in base.items()}
    tuned["w1"][7] = float("nan")  # a magnitude selection cannot rank it: a ValueError in the middle
    out = tmp_path / "delta.safetensors"
    with pytest.raises(ValueError, match="sparse.extract_checkpoint: tensor 'w1': .*NaN"):
        ckpt.extract_checkpoint(base, tuned, out, density=0.5, progress=False)
    assert os.listdir(tmp_path) == []

    out.write_bytes(b"an older file")  # an existing file stays as it was
    with pytest.raises(ValueError, match="tensor 'w1'"):
        ckpt.extract_checkpoint(base, tuned, out, density=0.5, progress=False)
    assert os.listdir(tmp_path) == ["delta.safetensors"] and out.read_bytes() == b"an older file"


def test_merge_ties_equals_the_tensor_function(model, tmp_path):
    base, tuned = model["base"], model["tuned"]
    out = tmp_path / "merged"
    summary = ckpt.merge_checkpoints(model["base_path"], model["tuned_paths"], out, method="ties", density=0.3,
                                     weights=[0.7, 0.3], progress=False)
    result = _read(str(out))
    changed = 0
    for name, value in base.items():
        if value.dtype in FLOATS:
            expected = sparse.merge(value, [t[name] for t in tuned], method="ties", density=0.3, weights=[0.7, 0.3])
            changed += sparse.update_stats(value, expected).changed
        else:
            expected = value
        assert_same_bits(result[name], expected)
    assert summary.nnz == changed > 0 and summary.skipped == ("position_ids",)


def test_dare_ties_seeds_follow_the_tensor_names_not_their_order(tmp_path):
    generator = torch.Generator().manual_seed(8)
    base = {f"w{i}": torch.randn(40, 30, generator=generator) for i in range(3)}
    tuned = [_perturbed(base, 9, fraction=0.5), _perturbed(base, 10, fraction=0.5)]
    options = {"method": "dare_ties", "density": 0.5, "seed": 11, "progress": False}
    ckpt.merge_checkpoints(base, tuned, tmp_path / "a.safetensors", **options)
    reversed_base = dict(reversed(base.items()))
    ckpt.merge_checkpoints(reversed_base, tuned, tmp_path / "b.safetensors", **options)
    a, b = load_file(tmp_path / "a.safetensors"), load_file(tmp_path / "b.safetensors")
    for name, value in base.items():
        expected = sparse.merge(value, [t[name] for t in tuned], method="dare_ties", density=0.5,
                                seed=ckpt.tensor_seed(11, name))
        assert_same_bits(a[name], expected)
        assert_same_bits(b[name], expected)
    assert not torch.equal(a["w0"] - base["w0"], a["w1"] - base["w1"])


def test_random_extract_seeds_follow_the_tensor_names(tmp_path):
    generator = torch.Generator().manual_seed(12)
    base = {"x": torch.randn(100, generator=generator), "y": torch.randn(100, generator=generator)}
    tuned = {name: value + 1 for name, value in base.items()}
    ckpt.extract_checkpoint(base, tuned, tmp_path / "d.safetensors", select="random", density=0.5, seed=3, progress=False)
    deltas = ckpt.load(tmp_path / "d.safetensors")
    for name in base:
        assert_same_delta(deltas[name], sparse.extract(base[name], tuned[name], select="random", density=0.5,
                                                        seed=ckpt.tensor_seed(3, name)))
    assert not torch.equal(deltas["x"].positions(), deltas["y"].positions())


def test_checkpoint_stats_equals_update_stats(model):
    base, tuned = model["base"], model["tuned"][1]
    summary = ckpt.checkpoint_stats(model["base_path"], model["tuned_paths"][1], atol=1e-3, progress=False)
    per_tensor = [sparse.update_stats(base[n], tuned[n], atol=1e-3) for n in _floating(base)]
    for name, expected in zip(_floating(base), per_tensor):
        assert summary.row(name).stats == expected
    total = summary.stats
    assert total.numel == sum(s.numel for s in per_tensor) == summary.numel
    assert total.changed == sum(s.changed for s in per_tensor) == summary.nnz > 0
    assert total.fraction == total.changed / total.numel
    assert total.max_abs == max(s.max_abs for s in per_tensor)
    assert total.mean_abs == pytest.approx(sum(s.mean_abs * s.numel for s in per_tensor) / total.numel, rel=1e-12)
    assert summary.skipped == ("position_ids",) and summary.bytes_out == 0


def test_single_file_folder_and_dict_sources(tmp_path):
    generator = torch.Generator().manual_seed(13)
    base = {"w": torch.randn(10, 10, generator=generator), "steps": torch.tensor([4])}
    tuned = {"w": base["w"] + (torch.rand(10, 10, generator=generator) < 0.2), "steps": torch.tensor([5])}
    (tmp_path / "folder").mkdir()
    save_file(base, tmp_path / "folder" / "model.safetensors")
    save_file(tuned, tmp_path / "tuned.safetensors")
    numpy_tuned = {name: value.numpy() for name, value in tuned.items()}
    summary = ckpt.extract_checkpoint(tmp_path / "folder", numpy_tuned, tmp_path / "d.safetensors", progress=False)
    assert summary.skipped_changed == ("steps",)  # an integer buffer the delta does not carry
    ckpt.apply_checkpoint(tmp_path / "folder", tmp_path / "d.safetensors", tmp_path / "out.safetensors", progress=False)
    result = load_file(tmp_path / "out.safetensors")
    assert_same_bits(result["w"], tuned["w"])
    assert_same_bits(result["steps"], base["steps"])
    stats = ckpt.checkpoint_stats(base, tmp_path / "tuned.safetensors", progress=False)
    assert stats.nnz == int((base["w"] != tuned["w"]).sum()) and "steps" in stats.table()


def test_failed_apply_leaves_no_output(delta_file, monkeypatch):
    path, base, out = delta_file
    calls = []

    def fail_second(W, delta, alpha=1.0):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated failure")
        return W

    monkeypatch.setattr(sparse, "apply_", fail_second)
    with pytest.raises(RuntimeError, match="simulated failure"):
        ckpt.apply_checkpoint(base, path, out, progress=False)
    assert sorted(os.listdir(out.parent)) == ["delta.safetensors"]


def test_mismatched_checkpoints_are_one_error_listing_every_difference(tmp_path):
    base = {"same": torch.zeros(4), "gone": torch.zeros(2), "shape": torch.zeros(3, 2), "dtype": torch.zeros(5)}
    tuned = {"same": torch.ones(4), "new": torch.zeros(2), "shape": torch.zeros(2, 3),
             "dtype": torch.zeros(5, dtype=torch.float64)}
    expected = ["missing from 'tuned': gone", "in 'tuned' but not in 'base': new",
                "'shape': (3, 2) float32 in 'base', (2, 3) float32 in 'tuned'",
                "'dtype': (5) float32 in 'base', (5) float64 in 'tuned'"]
    out = tmp_path / "out.safetensors"
    for call in (lambda: ckpt.extract_checkpoint(base, tuned, out, progress=False),
                 lambda: ckpt.checkpoint_stats(base, tuned, progress=False)):
        with pytest.raises(ValueError, match="got 4 difference") as caught:
            call()
        assert all(line in str(caught.value) for line in expected), str(caught.value)
    with pytest.raises(ValueError, match="got 4 difference") as caught:
        ckpt.merge_checkpoints(base, [base, tuned], out, method="task_arithmetic", progress=False)
    assert "tuned_list[1]" in str(caught.value) and "missing from 'tuned_list[1]': gone" in str(caught.value)
    assert os.listdir(tmp_path) == []

    delta = tmp_path / "delta.safetensors"
    ckpt.save(delta, {"same": sparse.extract(base["same"], tuned["same"]),
                      "new": sparse.extract(torch.zeros(2), torch.ones(2)),
                      "shape": sparse.extract(tuned["shape"], tuned["shape"] + 1)})
    with pytest.raises(ValueError, match="got 2 that are not") as caught:
        ckpt.apply_checkpoint(base, delta, out, progress=False)
    assert "'new' is not in 'base'" in str(caught.value) and "'shape': (2, 3) float32 in the delta" in str(caught.value)
    assert not out.exists()


def test_bad_options_fail_before_reading(tmp_path):
    base = {"w": torch.zeros(10)}
    with pytest.raises(ValueError, match=r"sparse.extract: 'density' must be in \(0, 1\], got 2"):
        ckpt.extract_checkpoint(base, base, tmp_path / "d.safetensors", density=2, progress=False)
    with pytest.raises(TypeError, match="unknown option"):
        ckpt.extract_checkpoint(base, base, tmp_path / "d.safetensors", densty=0.5)
    with pytest.raises(ValueError, match="sparse.extract_checkpoint: tensor 'w': sparse.extract: 'k'"):
        ckpt.extract_checkpoint(base, base, tmp_path / "d.safetensors", k=11, progress=False)
    with pytest.raises(ValueError, match="'weights' must have one entry per tuned tensor"):
        ckpt.merge_checkpoints(base, [base], tmp_path / "m.safetensors", method="ties", density=0.5, weights=[1, 2])
    with pytest.raises(FileNotFoundError, match="'base' must be a safetensors file or a checkpoint folder"):
        ckpt.checkpoint_stats(tmp_path / "missing", base)
    assert os.listdir(tmp_path) == []


def test_index_listing_a_shard_outside_its_folder_is_refused(tmp_path):
    save_file({"w": torch.zeros(2)}, tmp_path / "outside.safetensors")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / ckpt.INDEX_FILE).write_text(json.dumps({"weight_map": {"w": "../outside.safetensors"}}))
    with pytest.raises(ValueError, match="must list shards inside its folder"):
        ckpt.checkpoint_stats(tmp_path / "model", tmp_path / "outside.safetensors")


def test_progress_true_reports_on_stderr_false_is_silent(capsys, tmp_path):
    base = {"a": torch.zeros(4), "b": torch.zeros(4)}
    ckpt.checkpoint_stats(base, base, progress=False)
    assert capsys.readouterr().err == ""
    ckpt.checkpoint_stats(base, base, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_docstring_examples_run():
    result = doctest.testmod(ckpt, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 20


# ---------------------------------------------------------------------------------------------
# The command line


def _cli_process(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mlprims", "sparse", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def _cli(*args, cwd):
    """`python -m mlprims sparse ARGS` run by its main() in this process, with what a process would
    see: its exit status, stdout and stderr (not terminals). A process per call would spend 2 s
    importing torch; test_command_line_runs_as_a_process runs real ones."""
    stdout, stderr, previous_cwd = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)  # contextlib.chdir needs Python 3.11
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = command_line.main(["sparse", *map(str, args)])
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    finally:
        os.chdir(previous_cwd)
    return types.SimpleNamespace(returncode=status, stdout=stdout.getvalue(), stderr=stderr.getvalue())


def test_command_line_runs_as_a_process(tmp_path):
    save_file({"w": torch.zeros(4)}, tmp_path / "base.safetensors")
    save_file({"w": torch.ones(4)}, tmp_path / "tuned.safetensors")
    run = _cli_process("stats", "base.safetensors", "tuned.safetensors", cwd=tmp_path)
    assert run.returncode == 0 and "changed 4," in run.stdout and run.stderr == ""
    run = _cli_process("extract", "base.safetensors", "tuned.safetensors", "d.safetensors", "--density", "2",
                       cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.startswith("error: sparse.extract: 'density' must be in (0, 1]")
    assert "Traceback" not in run.stderr


def test_command_line_equals_the_library(tmp_path):
    generator = torch.Generator().manual_seed(14)
    base = {"w": torch.randn(16, 8, generator=generator), "b": torch.randn(8, generator=generator),
            "ids": torch.arange(3)}
    tuned = [_perturbed(base, 15, fraction=0.3), _perturbed(base, 16, fraction=0.3)]
    for name, state in (("base", base), ("t0", tuned[0]), ("t1", tuned[1])):
        save_file(state, tmp_path / f"{name}.safetensors")
    base_file, t0, t1 = (tmp_path / f"{n}.safetensors" for n in ("base", "t0", "t1"))

    run = _cli("extract", base_file, t0, "cli_delta.safetensors", "--density", "0.25", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "tensor" in run.stdout and "density" in run.stdout and "extract: 2 tensors (1 skipped)" in run.stdout
    ckpt.extract_checkpoint(base_file, t0, tmp_path / "lib_delta.safetensors", density=0.25, progress=False)
    cli_deltas, lib_deltas = ckpt.load(tmp_path / "cli_delta.safetensors"), ckpt.load(tmp_path / "lib_delta.safetensors")
    assert list(cli_deltas) == list(lib_deltas) == ["b", "w"]
    for name in lib_deltas:
        assert_same_delta(cli_deltas[name], lib_deltas[name])

    run = _cli("apply", base_file, "cli_delta.safetensors", "cli_out.safetensors", "--alpha", "2", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "apply: 2 tensors" in run.stdout and "applied" in run.stdout
    assert run.stderr == ""  # no bar by default when stderr is not a terminal
    ckpt.apply_checkpoint(base_file, tmp_path / "lib_delta.safetensors", tmp_path / "lib_out.safetensors", alpha=2,
                          progress=False)
    _assert_same_checkpoint(tmp_path / "cli_out.safetensors", tmp_path / "lib_out.safetensors")

    run = _cli("merge", base_file, t0, t1, "--out", "cli_merged.safetensors", "--method", "ties", "--density", "0.3",
               "--weights", "1", "0.5", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "merge: 2 tensors (1 skipped)" in run.stdout
    ckpt.merge_checkpoints(base_file, [t0, t1], tmp_path / "lib_merged.safetensors", method="ties", density=0.3,
                           weights=[1, 0.5], progress=False)
    _assert_same_checkpoint(tmp_path / "cli_merged.safetensors", tmp_path / "lib_merged.safetensors")

    run = _cli("stats", base_file, t0, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = ckpt.checkpoint_stats(base_file, t0, progress=False)
    assert "changed" in run.stdout and f"changed {summary.stats.changed}," in run.stdout
    assert f"  {summary.row('w').stats.changed}  " in run.stdout


def _assert_same_checkpoint(a, b):
    first, second = load_file(a), load_file(b)
    assert sorted(first) == sorted(second)
    for name in first:
        assert_same_bits(first[name], second[name])


def test_command_line_errors_exit_2_without_traceback(tmp_path):
    save_file({"w": torch.zeros(4)}, tmp_path / "base.safetensors")
    save_file({"w": torch.ones(4)}, tmp_path / "tuned.safetensors")
    run = _cli("extract", "base.safetensors", "tuned.safetensors", "d.safetensors", "--density", "2", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("error: sparse.extract: 'density' must be in (0, 1], got 2")
    assert "Traceback" not in run.stderr and not (tmp_path / "d.safetensors").exists()
    save_file({"w": torch.ones(5)}, tmp_path / "other.safetensors")
    run = _cli("stats", "base.safetensors", "other.safetensors", cwd=tmp_path)
    assert run.returncode == 2 and "'w': (4) float32 in 'base', (5) float32 in 'tuned'" in run.stderr
    run = _cli("apply", "base.safetensors", "missing.safetensors", "out.safetensors", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    run = _cli("merge", "base.safetensors", "tuned.safetensors", "--out", "m.safetensors", "--method", "nope", cwd=tmp_path)
    assert run.returncode == 2 and "invalid choice" in run.stderr
