"""Sparse deltas of whole checkpoints: extract a fine-tune's delta from two checkpoints into one
delta file, apply it to a base checkpoint, merge several fine-tunes, and measure what changed,
reading every checkpoint one tensor at a time (the tensor-level functions are in
:mod:`mlprims.sparse`). Needs torch and safetensors, imported on first use.

**Checkpoints** (``base``, ``tuned``): a ``.safetensors`` file; a folder with a sharded checkpoint,
``model.safetensors.index.json`` mapping each tensor name to its shard in ``"weight_map"``; a folder
holding one ``model.safetensors``; or a dict of tensor name -> torch tensor or numpy array. Files
are memory-mapped and read one tensor at a time, so the peak memory is a few tensors, never a
model. Every function first compares the names, shapes and dtypes of all its inputs and raises one
ValueError listing every difference, before it writes anything.

**Outputs** of :func:`apply_checkpoint` and :func:`merge_checkpoints` have the layout of ``base``:
a sharded folder (the same shard files and an index) when base is a sharded folder, else one
safetensors file. They are streamed, tensor by tensor, into temporary files next to their targets,
which are moved into place (``os.replace``) only once all are complete: a failed run leaves no
partial file. Other files of a checkpoint folder (config.json, the tokenizer) are not copied.

**The delta file** (:func:`save`, :func:`load`, format version 1) is a safetensors file, so any
safetensors reader opens it. For each tensor ``N`` it holds ``N::values`` and either
``N::indices`` or ``N::bitmask`` (the arrays of :class:`mlprims.sparse.SparseDelta`); its metadata
holds ``{"format": "pt", "mlprims.sparse.delta": JSON}`` where the JSON document is::

    {"format": "mlprims.sparse.delta", "version": 1,
     "tensors": {N: {"shape": [...], "dtype": "bfloat16", "value_dtype": "float32",
                     "encoding": "indices", "nnz": 123,
                     "arrays": {"values": {"dtype": "float32", "shape": [123], "blake2b": "<hex>"},
                                "indices": {"dtype": "int32", "shape": [123], "blake2b": "<hex>"}}}}}

``blake2b`` is the 16-byte BLAKE2b digest of the array's raw little-endian bytes. :func:`load`
checks all of it (and that each support is valid) before it returns.

**Seeds**: with ``select="random"`` (extract) or ``method="dare_ties"`` (merge) and an integer
``seed``, tensor ``N`` uses ``tensor_seed(seed, N)``, a hash of both: the result does not depend on
the order of the tensors, and same-shaped tensors do not share one random pattern.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import struct
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import sparse
from ._arrays import dtype_name, is_tensor
from ._result import Result
from ._validation import UINT64_MAX, check_integer, check_real

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CheckpointSummary",
    "TensorRow",
    "apply_checkpoint",
    "checkpoint_stats",
    "extract_checkpoint",
    "load",
    "merge_checkpoints",
    "save",
    "tensor_seed",
]

FORMAT_NAME = "mlprims.sparse.delta"
FORMAT_VERSION = 1
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
_FLOATING = ("float16", "bfloat16", "float32", "float64")
_ROLES = ("values", "indices", "bitmask")
_EXTRACT_OPTIONS = ("k", "density", "atol", "select", "seed", "scope", "drop_top", "keep", "value_dtype", "encoding")
# safetensors' dtype codes and the torch dtype names they hold.
_CODES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16", "I32": "int32",
          "U32": "uint32", "I64": "int64", "U64": "uint64", "F16": "float16", "BF16": "bfloat16",
          "F32": "float32", "F64": "float64", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
          "C64": "complex64"}
_CODE_OF = {name: code for code, name in _CODES.items()}
_POPCOUNT = [bin(byte).count("1") for byte in range(256)]
# Bytes of a bitmask counted at a time: the lookup widens each byte to 8 twice, and temporaries
# of megabytes come from glibc's heap, whose freed pages can stay in the RSS (measured on the
# benchmark's checkpoint: apply's peak RSS 4.2-4.7x the largest tensor with 4 MiB chunks, 3.6x
# with these).
_CHUNK = 1 << 16
_COPY_CHUNK = 1 << 24  # bytes the delta writer copies at a time


def _libraries():
    """torch and safetensors, imported when first needed (``import mlprims`` never imports torch)."""
    try:
        import safetensors
        import safetensors.torch
        import torch
    except ImportError as error:
        raise ImportError(f"mlprims.sparse checkpoints need torch and safetensors ({error}); "
                          "install them with: pip install torch safetensors") from None
    return torch, safetensors


def tensor_seed(seed: int, name: str) -> int:
    """The seed that the checkpoint functions give tensor ``name`` for the caller's ``seed``: the
    first 8 bytes of BLAKE2b(seed, name) as an integer in [0, 2**63). It depends on the name only,
    not on where the tensor is in the checkpoint. O(len(name)).

    Examples
    --------
    >>> from mlprims import sparse
    >>> sparse.tensor_seed(7, "layer.0.weight") == sparse.tensor_seed(7, "layer.0.weight")
    True
    >>> sparse.tensor_seed(7, "layer.0.weight") == sparse.tensor_seed(7, "layer.1.weight")
    False
    """
    seed = check_integer("sparse.tensor_seed", "seed", seed, minimum=0, maximum=UINT64_MAX)
    digest = hashlib.blake2b(f"{seed}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)  # 63 bits: merge adds the task number


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class TensorRow(Result):
    """One tensor of a checkpoint run: ``status`` is what was done to it ('extracted', 'applied',
    'merged', 'compared', 'copied' or 'skipped'), ``nnz`` the entries stored, applied or changed,
    ``bytes_in``/``bytes_out`` the bytes read and written for it, ``stats`` its
    :class:`mlprims.sparse.UpdateStats` (:func:`checkpoint_stats` only).

    Examples
    --------
    >>> from mlprims import sparse
    >>> sparse.TensorRow("w", (2, 3), "float32", "extracted", 6, 3, 48, 36).numel
    6
    """

    name: str
    shape: tuple
    dtype: str
    status: str
    numel: int
    nnz: int
    bytes_in: int
    bytes_out: int
    stats: Any = None


@dataclass(frozen=True)
class CheckpointSummary(Result):
    """What a checkpoint function did. ``operation``: 'extract', 'apply', 'merge' or 'stats'.
    ``tensors``: tensors processed; ``skipped``: the others (not floating, or for apply without a
    delta), copied unchanged where there is an output; ``skipped_changed``: skipped tensors whose
    tuned values differ from base (the delta cannot carry them). ``numel``, ``nnz`` and ``density``
    (nnz / numel) over the processed tensors: nnz is the entries stored (extract), applied (apply) or
    changed from base (merge, stats). ``bytes_in``/``bytes_out``: bytes read and written (tensors and
    delta files). ``seconds``: wall time. ``rows``: one :class:`TensorRow` per tensor. ``stats``: the
    totals as an UpdateStats (stats only). ``table()`` renders it for the command line.

    Examples
    --------
    >>> from mlprims import sparse
    >>> row = sparse.TensorRow("w", (2, 3), "float32", "extracted", 6, 3, 48, 36)
    >>> summary = sparse.CheckpointSummary("extract", 1, (), 6, 3, 0.5, 48, 36, 0.01, (row,))
    >>> summary.row("w").nnz, summary.density
    (3, 0.5)
    """

    operation: str
    tensors: int
    skipped: tuple
    numel: int
    nnz: int
    density: float
    bytes_in: int
    bytes_out: int
    seconds: float
    rows: tuple
    stats: Any = None
    skipped_changed: tuple = ()

    def row(self, name: str) -> TensorRow:
        """The row of tensor ``name`` (KeyError if there is none)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def table(self) -> str:
        """The rows and the totals as a plain-text table."""
        if self.operation == "stats":
            header = ("tensor", "shape", "dtype", "status", "changed", "fraction", "nan", "max|v|", "mean|v|")
            lines = [(r.name, _shape_text(r.shape), r.dtype, r.status,
                      *((str(r.stats.changed), f"{r.stats.fraction:.4g}", str(r.stats.nan), f"{r.stats.max_abs:.4g}",
                         f"{r.stats.mean_abs:.4g}") if r.stats is not None else ("-",) * 5)) for r in self.rows]
        else:
            header = ("tensor", "shape", "dtype", "status", "nnz", "density", "in", "out")
            lines = [(r.name, _shape_text(r.shape), r.dtype, r.status, str(r.nnz),
                      f"{r.nnz / r.numel:.4g}" if r.numel else "0", _bytes_text(r.bytes_in), _bytes_text(r.bytes_out))
                     for r in self.rows]
        widths = [max(len(row[c]) for row in [header, *lines]) for c in range(len(header))]
        text = ["  ".join(cell.ljust(w) if c < 4 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
                for row in [header, *lines]]
        totals = (f"{self.operation}: {self.tensors} tensors ({len(self.skipped)} skipped), {self.numel} elements, "
                  f"nnz {self.nnz} (density {self.density:.4g}), in {_bytes_text(self.bytes_in)}, "
                  f"out {_bytes_text(self.bytes_out)}, {self.seconds:.3g} s")
        if self.stats is not None:
            totals += (f"; changed {self.stats.changed}, nan {self.stats.nan}, max|v| {self.stats.max_abs:.4g}, "
                       f"mean|v| {self.stats.mean_abs:.4g}")
        if self.skipped_changed:
            totals += f"\nwarning: skipped tensors that differ between base and tuned: {', '.join(self.skipped_changed)}"
        return "\n".join([*text, totals])


def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _bytes_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def _summary(operation, rows, skipped, seconds, *, bytes_in=None, bytes_out=None, stats=None, skipped_changed=()):
    done = [r for r in rows if r.status != "skipped" and r.name not in skipped]
    numel = sum(r.numel for r in done)
    nnz = sum(r.nnz for r in done)
    return CheckpointSummary(operation, len(done), tuple(skipped), numel, nnz, nnz / numel if numel else 0.0,
                             sum(r.bytes_in for r in rows) if bytes_in is None else bytes_in,
                             sum(r.bytes_out for r in rows) if bytes_out is None else bytes_out,
                             seconds, tuple(rows), stats, tuple(skipped_changed))


# ---------------------------------------------------------------------------------------------
# The delta file


def _raw(tensor):
    """The tensor's bytes as a flat uint8 numpy view (bfloat16 and every other dtype alike), no copy
    when it is contiguous."""
    torch, _ = _libraries()
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy()


def _checksum(tensor) -> str:
    """BLAKE2b-128 of the raw bytes."""
    return hashlib.blake2b(_raw(tensor), digest_size=16).hexdigest()


def _as_cpu_tensor(function: str, name: str, array):
    """A contiguous CPU torch tensor of `array` (numpy arrays are wrapped without a copy where they can be)."""
    torch, _ = _libraries()
    if is_tensor(array):
        return array.detach().cpu().contiguous()
    if isinstance(array, np.ndarray):
        array = np.ascontiguousarray(array)
        return torch.from_numpy(array if array.flags.writeable else array.copy())
    raise TypeError(f"{function}: '{name}' must be a torch tensor or a numpy array, got {type(array).__name__}")


def _mapped_copy(tensor):
    """A copy of `tensor` in an anonymous memory mapping of its own, unmapped when the copy is
    dropped. A tensor-sized heap block (torch's clone) is served by glibc from its heap once its
    mmap threshold has grown past it, and its pages can stay in the RSS after it is freed (measured:
    apply's peak RSS 3.6x the largest tensor with clone, 2.6x with this)."""
    torch, _ = _libraries()
    if not tensor.numel():
        return tensor.clone()
    copy = torch.frombuffer(mmap.mmap(-1, tensor.numel() * tensor.element_size()), dtype=tensor.dtype)
    return copy.reshape(tensor.shape).copy_(tensor)  # the tensor keeps the mapping alive


def _temporary_name(path: str) -> str:
    """A fresh file name next to `path` (same folder, so os.replace is an atomic rename)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")


def _check_out_path(function: str, out_path, *, folder: bool) -> str:
    if not isinstance(out_path, (str, os.PathLike)):
        raise TypeError(f"{function}: 'out_path' must be a path, got {type(out_path).__name__}")
    out_path = os.fspath(out_path)
    parent = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{function}: 'out_path' must be in an existing folder, got {out_path} ({parent} does not exist)")
    if folder and os.path.exists(out_path) and not os.path.isdir(out_path):
        raise ValueError(f"{function}: 'out_path' must be a folder for a sharded output, got the file {out_path}")
    if not folder and os.path.isdir(out_path):
        raise ValueError(f"{function}: 'out_path' must be a file path, got the folder {out_path}")
    return out_path


class _DeltaWriter:
    """A delta file written delta by delta (by save and extract_checkpoint). The safetensors header
    comes first but needs every array's size, so add() appends a delta's arrays to a temporary data
    file next to the target at once (the caller can drop the delta), and finish() writes the file:
    the header, then the data copied behind it in _COPY_CHUNK pieces, then fsync and os.replace.
    Memory: the records and one chunk, never the deltas. Use it in a with block: leaving it removes
    the temporary files, in all cases (after finish() there is nothing left to remove), so a failed
    run leaves no partial file and an existing file at the target stays as it was."""

    def __init__(self, function: str, path: str):
        self.function, self.path = function, path
        self._records: dict = {}
        self._arrays: list = []  # (key, shape, dtype, start in the data file), in the order added
        self._size = 0
        self._temporary = None
        self._data_path = _temporary_name(path)
        self._data = open(self._data_path, "wb+")  # closed by discard()

    def add(self, name: str, delta) -> None:
        entry = {}
        for role in _ROLES:
            array = getattr(delta, role)
            if array is None:
                continue
            tensor = _as_cpu_tensor(self.function, f"deltas[{name!r}].{role}", array)
            raw = _raw(tensor)
            self._data.write(memoryview(raw))
            self._arrays.append((f"{name}::{role}", tuple(tensor.shape), dtype_name(tensor), self._size))
            self._size += raw.nbytes
            entry[role] = {"dtype": dtype_name(tensor), "shape": list(tensor.shape),
                           "blake2b": hashlib.blake2b(raw, digest_size=16).hexdigest()}
        self._records[name] = {"shape": list(delta.shape), "dtype": delta.dtype, "value_dtype": delta.value_dtype,
                               "encoding": delta.encoding, "nnz": delta.nnz, "arrays": entry}

    def finish(self) -> int:
        """Writes the file and moves it into place; returns its size in bytes."""
        document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "tensors": self._records}
        # The widest items first, as safetensors orders its own files: every array then starts
        # aligned to its item size (sorted() is stable: the tensors' order within one width).
        order = sorted(self._arrays, key=lambda array: -_itemsize(array[2]))
        self._temporary = _temporary_name(self.path)
        writer = _ShardWriter(self._temporary, [(key, (shape, dtype)) for key, shape, dtype, _ in order],
                              {"format": "pt", FORMAT_NAME: json.dumps(document)})
        try:
            chunk = memoryview(bytearray(min(_COPY_CHUNK, max(self._size, 1))))
            for key, shape, dtype, start in order:
                self._data.seek(start)
                left = math.prod(shape) * _itemsize(dtype)
                while left:
                    count = self._data.readinto(chunk[:min(left, len(chunk))])
                    if not count:
                        raise RuntimeError(f"sparse: internal error, the data of {key!r} ends early in {self._data_path}")
                    writer.write_raw(chunk[:count])
                    left -= count
            writer.close()
        except BaseException:
            writer.abort()
            raise
        os.replace(self._temporary, self.path)
        self._temporary = None
        self.discard()
        return os.path.getsize(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        self.discard()

    def discard(self) -> None:
        self._data.close()
        for path in (self._data_path, self._temporary):
            if path is not None and os.path.exists(path):
                os.remove(path)
        self._temporary = None


def save(path, deltas: Mapping) -> None:
    """Write ``deltas`` (tensor name -> :class:`mlprims.sparse.SparseDelta`) to the delta file
    ``path`` (format in the module docstring), atomically: the file is written under a temporary
    name in the same folder and renamed into place, so a failed save leaves no partial file and an
    existing file stays intact. numpy-backed deltas are stored like torch ones (:func:`load` gives
    torch tensors back).

    Cost: one pass over the arrays (checksums), written twice (to a temporary data file, then
    behind the header; :func:`extract_checkpoint` streams its deltas through the same writer).
    Memory: the file's header and a 16 MiB copy buffer.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from mlprims import sparse
    >>> base = torch.zeros(4, 4); tuned = base.clone(); tuned[1, 2] = 0.5
    >>> path = os.path.join(tempfile.mkdtemp(), "delta.safetensors")
    >>> sparse.save(path, {"w": sparse.extract(base, tuned)})
    >>> delta = sparse.load(path)["w"]
    >>> delta.nnz, delta.positions().tolist(), delta.values.tolist()
    (1, [6], [0.5])
    """
    function = "sparse.save"
    _libraries()
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{function}: 'path' must be a path, got {type(path).__name__}")
    if not isinstance(deltas, Mapping):
        raise TypeError(f"{function}: 'deltas' must be a dict of tensor name -> SparseDelta, got {type(deltas).__name__}")
    path = _check_out_path(function, path, folder=False)
    for name, delta in deltas.items():  # all checked before any file is made
        if not isinstance(name, str):
            raise TypeError(f"{function}: 'deltas' keys must be tensor names (str), got {type(name).__name__}")
        if not isinstance(delta, sparse.SparseDelta):
            raise TypeError(f"{function}: 'deltas[{name!r}]' must be a SparseDelta, got {type(delta).__name__}")
    with _DeltaWriter(function, path) as writer:
        for name, delta in deltas.items():
            writer.add(name, delta)
        writer.finish()


class _DeltaReader:
    """A delta file read one tensor at a time. Opening it checks the header: the format name and
    version, that every record is complete, and that the file holds every recorded array and
    nothing else. read(name) gives one tensor's delta, checked in full (the arrays' shapes, dtypes
    and checksums, its support), through a safetensors mapping of its own that goes with the delta:
    pages read through a mapping count in the RSS for as long as it lives. verify() reads and drops
    every delta: the whole file checked, with a delta's worth of memory."""

    def __init__(self, function: str, argument: str, path):
        _, safetensors = _libraries()
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"{function}: '{argument}' must be a path, got {type(path).__name__}")
        self.function, self.argument, self.path = function, argument, os.fspath(path)
        try:
            with safetensors.safe_open(self.path, framework="pt") as handle:
                metadata = handle.metadata() or {}
                keys = set(handle.keys())
        except safetensors.SafetensorError as error:
            raise ValueError(f"{function}: '{argument}' must be a complete safetensors file, got {self.path}, which "
                             f"is not (truncated or corrupted?): {error}") from None
        if FORMAT_NAME not in metadata:
            self._fail(f"an mlprims sparse delta file (with '{FORMAT_NAME}' metadata)", "none")
        try:
            document = json.loads(metadata[FORMAT_NAME])
        except json.JSONDecodeError as error:
            self._fail("a delta file with readable metadata", f"invalid JSON ({error})")
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            self._fail(f"a file of format {FORMAT_NAME!r}",
                       repr(document.get("format") if isinstance(document, dict) else document))
        if document.get("version") != FORMAT_VERSION:
            self._fail(f"a delta file of format version {FORMAT_VERSION}", f"version {document.get('version')!r}")
        records = document.get("tensors")
        if not isinstance(records, dict):
            self._fail("a delta file with a 'tensors' table", repr(type(records).__name__))
        self._records: dict = {}  # name -> (shape, dtype, nnz, the record's arrays)
        expected_keys = set()
        for name, record in records.items():
            try:
                shape = tuple(int(s) for s in record["shape"])
                dtype, value_dtype, encoding = record["dtype"], record["value_dtype"], record["encoding"]
                nnz, entries = int(record["nnz"]), record["arrays"]
                if (encoding not in ("indices", "bitmask") or not isinstance(entries, dict)
                        or set(entries) != {"values", encoding} or dtype not in _FLOATING
                        or value_dtype not in _FLOATING or not all(isinstance(e, dict) for e in entries.values())):
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                self._fail("a delta file with complete records", f"a malformed record of tensor {name!r}")
            for role in entries:
                key = f"{name}::{role}"
                expected_keys.add(key)
                if key not in keys:
                    self._fail("intact arrays", f"tensor {name!r} without its array {key!r}")
            self._records[name] = (shape, dtype, nnz, {role: (entries[role], value_dtype) for role in entries})
        extra = sorted(keys - expected_keys)
        if extra:
            self._fail("a delta file holding only recorded arrays", f"unrecorded arrays {', '.join(map(repr, extra))}")

    def _fail(self, what: str, got: str):
        raise ValueError(f"{self.function}: '{self.argument}' must be {what}, got {got} in {self.path}") from None

    @property
    def layout(self) -> dict:
        """Tensor name -> (shape, dtype) of every delta, in the file's order."""
        return {name: (shape, dtype) for name, (shape, dtype, _, _) in self._records.items()}

    def read(self, name: str):
        _, safetensors = _libraries()
        shape, dtype, nnz, entries = self._records[name]
        numel = math.prod(shape)
        arrays = {}
        try:
            with safetensors.safe_open(self.path, framework="pt") as handle:
                for role in entries:
                    arrays[role] = handle.get_tensor(f"{name}::{role}")
        except safetensors.SafetensorError as error:
            self._fail("a readable file", f"tensor {name!r}: {error}")
        for role, tensor in arrays.items():
            entry, value_dtype = entries[role]
            # (shape, dtype) the array must have; None: the recorded dtype (int32 or int64 indices)
            shape_wanted, dtype_wanted = {"values": ((nnz,), value_dtype), "indices": ((nnz,), None),
                                          "bitmask": (((numel + 7) // 8,), "uint8")}[role]
            if (list(tensor.shape) != entry.get("shape") or dtype_name(tensor) != entry.get("dtype")
                    or tuple(tensor.shape) != shape_wanted or dtype_name(tensor) != (dtype_wanted or entry.get("dtype"))):
                self._fail("arrays of the recorded shapes and dtypes", f"tensor {name!r} array {name + '::' + role!r} "
                           f"of shape {tuple(tensor.shape)} and dtype {dtype_name(tensor)}")
            if _checksum(tensor) != entry.get("blake2b"):
                self._fail("intact arrays", f"a checksum mismatch of tensor {name!r} (array {name + '::' + role!r}, "
                           "corrupted)")
        _check_support(self._fail, name, numel, nnz, arrays)
        return sparse.SparseDelta(shape, dtype, arrays["values"], indices=arrays.get("indices"),
                                  bitmask=arrays.get("bitmask"))

    def verify(self) -> None:
        for name in self._records:
            self.read(name)  # and dropped, with its mapping


def load(path) -> dict:
    """Read a delta file written by :func:`save`: tensor name -> :class:`mlprims.sparse.SparseDelta`
    with torch CPU tensors, in the order saved.

    Everything is verified before it returns: the format name and version, that each tensor's
    arrays exist with their recorded shapes, dtypes and checksums, that nothing else is in the
    file, and that each support is valid (indices strictly ascending and in range, or a bitmask with
    one bit per value and no stray padding bits). A file that is truncated, corrupted or of another
    version is a ValueError naming the file (and the tensor, where one is at fault).
    :func:`apply_checkpoint` makes the same checks without holding every delta at once.

    Cost: one pass over the file (checksums); memory: the arrays (memory-mapped).

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from mlprims import sparse
    >>> base = torch.arange(8.0); tuned = base.clone(); tuned[3] += 1
    >>> path = os.path.join(tempfile.mkdtemp(), "delta.safetensors")
    >>> sparse.save(path, {"bias": sparse.extract(base, tuned, encoding="bitmask")})
    >>> delta = sparse.load(path)["bias"]
    >>> delta.encoding, delta.bitmask.tolist(), torch.equal(delta.apply_(base.clone()), tuned)
    ('bitmask', [8], True)
    """
    reader = _DeltaReader("sparse.load", "path", path)
    # Each read checks its delta in full and nothing is returned until all are read: the
    # verification pass of apply_checkpoint, keeping the deltas.
    return {name: reader.read(name) for name in reader.layout}


def _check_support(fail, name: str, numel: int, nnz: int, arrays: dict) -> None:
    """A support the apply functions accept: checked here so that a bad file fails at load time."""
    torch, _ = _libraries()
    if "indices" in arrays:
        indices = arrays["indices"]
        if indices.dtype not in (torch.int32, torch.int64):
            fail("int32 or int64 indices", f"tensor {name!r} indices of dtype {dtype_name(indices)}")
        if nnz and (int(indices[0]) < 0 or int(indices[-1]) >= numel or not bool((indices[1:] > indices[:-1]).all())):
            fail("strictly ascending indices in range", f"tensor {name!r} with indices that are not")
        return
    bitmask, table = arrays["bitmask"], torch.tensor(_POPCOUNT, dtype=torch.int64)
    # in chunks: the lookup widens each byte to 8
    ones = sum(int(table[bitmask[i:i + _CHUNK].long()].sum()) for i in range(0, bitmask.numel(), _CHUNK))
    if ones != nnz:
        fail("a bitmask with one bit per value", f"tensor {name!r} with {ones} bits for {nnz} values")
    if numel % 8 and int(bitmask[-1]) >> (numel % 8):
        fail("a bitmask without bits past the tensor's end", f"tensor {name!r} with such bits")


# ---------------------------------------------------------------------------------------------
# Reading checkpoints


class _Source:
    """One checkpoint (file, sharded folder, folder with model.safetensors, or dict), read one
    tensor at a time. ``layout``: name -> (shape, dtype name), in the checkpoint's order."""

    def __init__(self, function: str, argument: str, spec: Any):
        self.function, self.argument = function, argument
        self.layout: dict = {}
        self.file_of: dict = {}
        self.metadata_of: dict = {}
        self.index = None  # the index json of a sharded folder
        self.path = None
        self._tensors = None
        self._handles: dict = {}
        if isinstance(spec, Mapping):
            self._from_dict(spec)
            return
        if not isinstance(spec, (str, os.PathLike)):
            raise TypeError(f"{function}: '{argument}' must be a path (safetensors file or checkpoint folder) or a "
                            f"dict of tensors, got {type(spec).__name__}")
        path = os.fspath(spec)
        self.path = path
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, INDEX_FILE)):
                self._from_index(path)
            elif os.path.isfile(os.path.join(path, SINGLE_FILE)):
                self._from_file(os.path.join(path, SINGLE_FILE))
            else:
                raise ValueError(f"{function}: '{argument}' must be a checkpoint folder (with {INDEX_FILE} or "
                                 f"{SINGLE_FILE}), got {path}, which has neither")
        elif os.path.isfile(path):
            self._from_file(path)
        else:
            raise FileNotFoundError(f"{function}: '{argument}' must be a safetensors file or a checkpoint folder, "
                                    f"got {path}, which does not exist")

    def _from_dict(self, tensors: Mapping) -> None:
        self._tensors = tensors
        for name, value in tensors.items():
            if not isinstance(name, str):
                raise TypeError(f"{self.function}: '{self.argument}' keys must be tensor names (str), got {type(name).__name__}")
            if not (is_tensor(value) or isinstance(value, np.ndarray)):
                raise TypeError(f"{self.function}: '{self.argument}[{name!r}]' must be a torch tensor or a numpy array, "
                                f"got {type(value).__name__}")
            self.layout[name] = (tuple(int(s) for s in value.shape), dtype_name(value))

    def _open(self, file: str):
        _, safetensors = _libraries()
        if file not in self._handles:
            try:
                self._handles[file] = safetensors.safe_open(file, framework="pt")
            except safetensors.SafetensorError as error:
                raise ValueError(f"{self.function}: '{self.argument}' must be a complete safetensors checkpoint, got "
                                 f"{file}, which is not (truncated or corrupted?): {error}") from None
        return self._handles[file]

    def _header(self, file: str) -> dict:
        handle = self._open(file)
        self.metadata_of[file] = handle.metadata() or {}
        header = {}
        for name in handle.keys():
            piece = handle.get_slice(name)
            code = piece.get_dtype()
            header[name] = (tuple(int(s) for s in piece.get_shape()), _CODES.get(code, code.lower()))
        return header

    def _from_file(self, file: str) -> None:
        for name, entry in self._header(file).items():
            self.layout[name] = entry
            self.file_of[name] = file
        self._handles.clear()

    def _from_index(self, folder: str) -> None:
        index_path = os.path.join(folder, INDEX_FILE)
        try:
            with open(index_path, encoding="utf-8") as file:
                self.index = json.load(file)
            weight_map = self.index["weight_map"]
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
                raise TypeError
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise ValueError(f"{self.function}: '{self.argument}' must have an index with a 'weight_map' of tensor "
                             f"name -> shard file, got {index_path}, which has none") from None
        headers = {}
        for name, shard in weight_map.items():
            file = os.path.join(folder, shard)
            if os.path.isabs(shard) or os.path.normpath(shard).startswith(".."):  # outputs mirror these paths
                raise ValueError(f"{self.function}: '{self.argument}' must list shards inside its folder, got "
                                 f"{index_path}, which lists {shard!r}")
            if file not in headers:
                if not os.path.isfile(file):
                    raise ValueError(f"{self.function}: '{self.argument}' must have every shard its index lists, got "
                                     f"{index_path}, which lists {shard!r}, a file that does not exist")
                headers[file] = self._header(file)
            if name not in headers[file]:
                raise ValueError(f"{self.function}: '{self.argument}' must hold every tensor its index lists, got "
                                 f"{shard!r} without {name!r}")
            self.layout[name] = headers[file][name]
            self.file_of[name] = file
        self._handles.clear()  # headers read; tensors are read through mappings of their own (get)

    @property
    def sharded(self) -> bool:
        return self.index is not None

    def nbytes(self, name: str) -> int:
        shape, dtype = self.layout[name]
        return math.prod(shape) * _itemsize(dtype)

    def get(self, name: str):
        """Tensor `name` as a contiguous CPU torch tensor; it may share memory with the source
        (a dict's tensor, or the file's mapping): clone it before writing into it."""
        if self._tensors is not None:
            return _as_cpu_tensor(self.function, f"{self.argument}[{name!r}]", self._tensors[name])
        _, safetensors = _libraries()
        try:
            # A mapping of its own for each tensor, released with it: pages read through a mapping
            # count in the process's RSS for as long as it lives, so one kept per shard grew a run's
            # peak RSS to the whole checkpoint (measured: 2x the checkpoint for stats).
            with safetensors.safe_open(self.file_of[name], framework="pt") as handle:
                return handle.get_tensor(name)
        except safetensors.SafetensorError as error:
            raise ValueError(f"{self.function}: '{self.argument}' must be a readable checkpoint, got "
                             f"{self.file_of[name]}, whose tensor {name!r} is not: {error}") from None

    def close(self) -> None:
        self._handles.clear()  # the mappings go with the handles


def _itemsize(dtype: str) -> int:
    torch, _ = _libraries()
    kind = getattr(torch, dtype, None)
    if not isinstance(kind, torch.dtype):
        raise ValueError(f"sparse: tensors of dtype {dtype!r} cannot be read or written by torch")
    return kind.itemsize


def _compare(function: str, reference: _Source, others: list) -> None:
    """One ValueError listing every name, shape and dtype difference between `reference` and each
    of `others`, or nothing."""
    problems = []
    for other in others:
        missing = [n for n in reference.layout if n not in other.layout]
        extra = [n for n in other.layout if n not in reference.layout]
        if missing:
            problems.append(f"missing from '{other.argument}': {', '.join(missing)}")
        if extra:
            problems.append(f"in '{other.argument}' but not in '{reference.argument}': {', '.join(extra)}")
        for name, (shape, dtype) in reference.layout.items():
            if name in other.layout and other.layout[name] != (shape, dtype):
                other_shape, other_dtype = other.layout[name]
                problems.append(f"{name!r}: {_shape_text(shape)} {dtype} in '{reference.argument}', "
                                f"{_shape_text(other_shape)} {other_dtype} in '{other.argument}'")
    if problems:
        names = ", ".join(f"'{o.argument}'" for o in others)
        raise ValueError(f"{function}: {names} must have the tensor names, shapes and dtypes of "
                         f"'{reference.argument}', got {len(problems)} difference(s):\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# Writing checkpoints


class _ShardWriter:
    """One safetensors file written in order: the header (shapes, dtypes, offsets) is known from the
    planned entries, so it goes first and the data follows as it comes, tensor by tensor (write) or
    as raw bytes already in the planned order (write_raw: the delta file copies its data so); no
    output is ever held in memory whole."""

    def __init__(self, path: str, entries: list, metadata: dict):
        header: dict = {"__metadata__": dict(metadata)} if metadata else {}
        offset = 0
        for name, (shape, dtype) in entries:
            if dtype not in _CODE_OF:
                raise ValueError(f"sparse: tensor {name!r} has dtype {dtype}, which the output writer does not know")
            size = math.prod(shape) * _itemsize(dtype)
            header[name] = {"dtype": _CODE_OF[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
            offset += size
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
        self.path, self.bytes = path, offset
        self._pending = iter(entries)  # what write() expects next
        self._written = 0
        self._file = open(path, "wb")  # closed by close() or abort()
        self._file.write(struct.pack("<Q", len(text)) + text)

    def write(self, name: str, tensor) -> int:
        expected, (shape, dtype) = next(self._pending, (None, (None, None)))
        if name != expected or tuple(tensor.shape) != shape or dtype_name(tensor) != dtype:
            raise RuntimeError(f"sparse: internal error, writing {name!r} {tuple(tensor.shape)} {dtype_name(tensor)} "
                               f"where {expected!r} {shape} {dtype} was planned")
        return self.write_raw(memoryview(_raw(tensor)))

    def write_raw(self, chunk: memoryview) -> int:
        if self._written + chunk.nbytes > self.bytes:
            raise RuntimeError(f"sparse: internal error, more than the planned {self.bytes} bytes of data for {self.path}")
        self._file.write(chunk)
        self._written += chunk.nbytes
        return chunk.nbytes

    def close(self) -> None:
        if self._written != self.bytes:
            raise RuntimeError(f"sparse: internal error, {self.bytes - self._written} bytes of {self.path} not written")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self) -> None:
        self._file.close()


class _Output:
    """The output of apply/merge in the base's layout: every file is written under a temporary name
    and all are moved into place once all are complete, so a failure leaves nothing behind."""

    def __init__(self, function: str, base: _Source, out_path):
        self.sharded = base.sharded
        self.out_path = _check_out_path(function, out_path, folder=self.sharded)
        groups: dict = {}
        for name in base.layout:
            groups.setdefault(base.file_of.get(name), []).append(name)
        self.plan = []  # (final path, names, metadata)
        for file, names in groups.items():
            final = os.path.join(self.out_path, os.path.relpath(file, base.path)) if self.sharded else self.out_path
            self.plan.append((final, names, base.metadata_of.get(file) or {"format": "pt"}))
        self.layout = base.layout
        self.index = base.index
        for _, names, _ in self.plan:  # dtypes the writer cannot write fail here, before any output
            for name in names:
                if self.layout[name][1] not in _CODE_OF:
                    raise ValueError(f"{function}: tensor {name!r} of 'base' has dtype {self.layout[name][1]}, "
                                     "which cannot be written")
        self._created_folder = False
        self._temporaries: list = []

    def write_all(self, produce, progress) -> int:
        """Calls produce(name) for every tensor in file order and writes what it returns; returns
        the bytes written."""
        written = 0
        try:
            if self.sharded and not os.path.isdir(self.out_path):
                os.makedirs(self.out_path)
                self._created_folder = True
            for final, names, metadata in self.plan:
                if self.sharded:  # shards may sit in subfolders of the checkpoint
                    os.makedirs(os.path.dirname(final), exist_ok=True)
                temporary = _temporary_name(final)
                self._temporaries.append((temporary, final))
                writer = _ShardWriter(temporary, [(n, self.layout[n]) for n in names], metadata)
                try:
                    for name in names:
                        written += writer.write(name, produce(name))
                        progress.step(name)
                except BaseException:
                    writer.abort()
                    raise
                writer.close()
            if self.sharded:
                index = dict(self.index)
                index["metadata"] = {**(index.get("metadata") or {}), "total_size": sum(
                    math.prod(s) * _itemsize(d) for s, d in self.layout.values())}
                final = os.path.join(self.out_path, INDEX_FILE)
                temporary = _temporary_name(final)
                self._temporaries.append((temporary, final))
                with open(temporary, "w", encoding="utf-8") as file:
                    json.dump(index, file, indent=2)
                    file.write("\n")
                written += os.path.getsize(temporary)
            for temporary, final in self._temporaries:  # the index goes last
                os.replace(temporary, final)
            self._temporaries = []
        except BaseException:
            self._discard()
            raise
        return written

    def _discard(self) -> None:
        for temporary, _ in self._temporaries:
            if os.path.exists(temporary):
                os.remove(temporary)
        self._temporaries = []
        if self._created_folder:
            try:
                os.rmdir(self.out_path)  # only when empty, and never its parents
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# Progress


class _Progress:
    """None: a tqdm bar on stderr when stderr is a terminal and tqdm is installed; True: a bar, or
    one line per tensor without tqdm; False: nothing."""

    def __init__(self, function: str, progress, total: int, label: str):
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"{function}: 'progress' must be None, True or False, got {type(progress).__name__}")
        self._bar, self._lines, self._done, self._total, self._label = None, False, 0, total, label
        isatty = getattr(sys.stderr, "isatty", None)
        wanted = progress if progress is not None else bool(isatty and isatty())
        if not wanted:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self._lines = progress is True  # auto mode stays silent without tqdm
            return
        self._bar = tqdm(total=total, desc=label, unit="tensor", file=sys.stderr, dynamic_ncols=True)

    def step(self, name: str) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.set_postfix_str(name, refresh=False)
            self._bar.update(1)
        elif self._lines:
            print(f"{self._label}: {self._done}/{self._total} {name}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _differs(a, b) -> bool:
    """Whether two tensors of one shape and dtype differ in any bit (any dtype, float8 included)."""
    torch, _ = _libraries()
    return not torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def _reraise(function: str, name: str, error: Exception):
    """The tensor-level error, with the checkpoint function and the tensor named in front."""
    raise type(error)(f"{function}: tensor {name!r}: {error}") from None


# ---------------------------------------------------------------------------------------------
# The checkpoint functions


def extract_checkpoint(base, tuned, out_path, *, progress=None, **extract_options) -> CheckpointSummary:
    """The sparse delta of a whole fine-tune: for every floating tensor (float16, bfloat16, float32,
    float64) of ``base``, ``sparse.extract(base[name], tuned[name], **extract_options)``, all written
    to the delta file ``out_path`` (:func:`save`). Other tensors (integer buffers) are skipped and
    listed in the summary (``skipped_changed`` names those whose values differ).

    base, tuned : checkpoints (module docstring) with the same names, shapes and dtypes.
    extract_options : those of :func:`mlprims.sparse.extract` (k, density, atol, select, seed,
        scope, drop_top, keep, value_dtype, encoding); checked before any tensor is read. An integer
        seed gives tensor N ``tensor_seed(seed, N)``.
    progress : None (a bar when stderr is a terminal), True or False.

    Cost: one extraction per tensor (two or three passes over base and tuned). Memory: two input
    tensors and one delta at a time: each delta goes to a temporary data file next to ``out_path``
    as soon as it is extracted, and the file is assembled from it at the end (disk: twice the delta
    file until then).

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from mlprims import sparse
    >>> base = {"w": torch.zeros(10, 10), "steps": torch.tensor(3)}
    >>> tuned = {"w": base["w"].clone(), "steps": torch.tensor(3)}
    >>> tuned["w"][0, :4] = 1.0
    >>> path = os.path.join(tempfile.mkdtemp(), "delta.safetensors")
    >>> summary = sparse.extract_checkpoint(base, tuned, path, progress=False)
    >>> summary.tensors, summary.skipped, summary.nnz, sparse.load(path)["w"].nnz
    (1, ('steps',), 4, 4)
    """
    function = "sparse.extract_checkpoint"
    torch, _ = _libraries()
    unknown = sorted(set(extract_options) - set(_EXTRACT_OPTIONS))
    if unknown:
        raise TypeError(f"{function}: unknown option(s) {', '.join(map(repr, unknown))}; the options are those of "
                        f"sparse.extract: {', '.join(_EXTRACT_OPTIONS)}")
    seed = extract_options.get("seed")
    if seed is not None:
        seed = check_integer(function, "seed", seed, minimum=0, maximum=UINT64_MAX)
    trial = dict(extract_options)
    if trial.get("k") is not None:
        check_integer(function, "k", trial["k"], minimum=0)
        trial["k"] = 0  # k may exceed one element; each tensor checks its own bound
    # The options on a one-element tensor: bad ones fail now, not after half the model was read.
    sparse.extract(torch.zeros(1), torch.zeros(1), **trial)
    out_path = _check_out_path(function, out_path, folder=False)
    start = time.perf_counter()
    base_source = _Source(function, "base", base)
    tuned_source = _Source(function, "tuned", tuned)
    _compare(function, base_source, [tuned_source])
    bar = _Progress(function, progress, len(base_source.layout), "extract")
    rows, skipped, skipped_changed = [], [], []
    try:
        with _DeltaWriter(function, out_path) as writer:
            for name, shape, dtype, b, t, bytes_in in _floating_pairs(base_source, tuned_source, rows, skipped,
                                                                      skipped_changed, bar):
                options = dict(extract_options)
                if seed is not None:
                    options["seed"] = tensor_seed(seed, name)
                try:
                    delta = sparse.extract(b, t, **options)
                except (ValueError, TypeError) as error:
                    _reraise(function, name, error)
                del b, t
                writer.add(name, delta)  # to the data file now: the deltas of a model are not kept
                rows.append(TensorRow(name, shape, dtype, "extracted", delta.numel, delta.nnz, bytes_in, delta.nbytes))
                del delta
            bytes_out = writer.finish()
    finally:
        bar.close()
        base_source.close()
        tuned_source.close()
    return _summary("extract", rows, skipped, time.perf_counter() - start, bytes_out=bytes_out,
                    skipped_changed=skipped_changed)


def _floating_pairs(base_source: _Source, tuned_source: _Source, rows: list, skipped: list, skipped_changed: list,
                    bar):
    """(name, shape, dtype, base tensor, tuned tensor, bytes read) for each floating tensor, one at a
    time; the others are recorded as skipped (and as changed where they differ, which no delta
    can carry)."""
    for name, (shape, dtype) in base_source.layout.items():
        b, t = base_source.get(name), tuned_source.get(name)
        bytes_in = 2 * base_source.nbytes(name)
        if dtype in _FLOATING:
            yield name, shape, dtype, b, t, bytes_in
        else:
            skipped.append(name)
            if _differs(b, t):
                skipped_changed.append(name)
            rows.append(TensorRow(name, shape, dtype, "skipped", b.numel(), 0, bytes_in, 0))
        del b, t
        bar.step(name)


def apply_checkpoint(base, delta_path, out_path, *, alpha: float = 1.0, progress=None) -> CheckpointSummary:
    """``base + alpha * delta`` for a whole checkpoint: check that each tensor of the delta file
    ``delta_path`` is in ``base`` with its shape and dtype (one ValueError listing every one that is
    not), verify the whole file (the checks of :func:`load`, one delta at a time), then for each base
    tensor copy it, apply its delta if it has one (:func:`mlprims.sparse.apply_`, rounded once to
    the tensor's dtype; the delta read again on its own) and write it to ``out_path``. Nothing is
    written before all checks pass.

    The output has base's layout: a sharded folder (same shard files, an index) when base is a
    sharded folder, else one safetensors file; files appear only once complete. Tensors without a
    delta are copied and listed as skipped.

    Cost: one pass over base, two over the delta file. Memory: two tensors and one delta at a time.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from mlprims import sparse
    >>> from safetensors.torch import load_file
    >>> folder = tempfile.mkdtemp()
    >>> base = {"w": torch.zeros(3, 3), "b": torch.ones(3)}
    >>> tuned = {"w": torch.eye(3), "b": torch.ones(3)}
    >>> delta = os.path.join(folder, "delta.safetensors")
    >>> _ = sparse.extract_checkpoint(base, tuned, delta, progress=False)
    >>> out = os.path.join(folder, "out.safetensors")
    >>> summary = sparse.apply_checkpoint(base, delta, out, progress=False)
    >>> torch.equal(load_file(out)["w"], tuned["w"]), summary.tensors, summary.nnz
    (True, 2, 3)
    """
    function = "sparse.apply_checkpoint"
    _libraries()  # imported before the clock starts
    alpha = check_real(function, "alpha", alpha, finite=True)
    if not isinstance(delta_path, (str, os.PathLike)):
        raise TypeError(f"{function}: 'delta_path' must be a path, got {type(delta_path).__name__}")
    start = time.perf_counter()
    base_source = _Source(function, "base", base)
    try:
        reader = _DeltaReader(function, "delta_path", delta_path)  # checks the header
        layout = reader.layout
        problems = [f"{name!r} is not in 'base'" for name in layout if name not in base_source.layout]
        problems += [f"{name!r}: {_shape_text(shape)} {dtype} in the delta, "
                     f"{_shape_text(base_source.layout[name][0])} {base_source.layout[name][1]} in 'base'"
                     for name, (shape, dtype) in layout.items()
                     if name in base_source.layout and base_source.layout[name] != (shape, dtype)]
        if problems:
            raise ValueError(f"{function}: 'delta_path' must hold deltas of tensors of 'base' with their shapes "
                             f"and dtypes, got {len(problems)} that are not:\n  " + "\n  ".join(problems))
        reader.verify()  # the whole file, a delta at a time, before any output is written
        output = _Output(function, base_source, out_path)
        rows = []

        def produce(name):
            tensor = base_source.get(name)
            shape, dtype = base_source.layout[name]
            # Read (and checked) again, one at a time: the deltas of a model are not kept.
            delta = reader.read(name) if name in layout else None
            if delta is None:
                rows.append(TensorRow(name, shape, dtype, "copied", tensor.numel(), 0, base_source.nbytes(name),
                                      base_source.nbytes(name)))
                return tensor
            updated = _mapped_copy(tensor)  # the source's tensor may be the caller's or the file mapping
            sparse.apply_(updated, delta, alpha=alpha)
            rows.append(TensorRow(name, shape, dtype, "applied", delta.numel, delta.nnz,
                                  base_source.nbytes(name) + delta.nbytes, base_source.nbytes(name)))
            return updated

        bar = _Progress(function, progress, len(base_source.layout), "apply")
        try:
            written = output.write_all(produce, bar)
        finally:
            bar.close()
    finally:
        base_source.close()
    skipped = [r.name for r in rows if r.status == "copied"]
    bytes_in = sum(base_source.nbytes(n) for n in base_source.layout) + os.path.getsize(delta_path)
    return _summary("apply", rows, skipped, time.perf_counter() - start, bytes_in=bytes_in, bytes_out=written)


def merge_checkpoints(base, tuned_list, out_path, *, method: str = "ties", weights=None, density: float | None = None,
                      divisor: str = "weights", seed: int | None = None, drop_top: float | None = None,
                      keep: float | None = None, progress=None) -> CheckpointSummary:
    """Merge fine-tunes of one base checkpoint: every floating tensor of ``base`` is
    ``sparse.merge(base[name], [t[name] for t in tuned_list], method=..., ...)`` (see
    :func:`mlprims.sparse.merge` for the methods and options); other tensors are copied from base
    and listed as skipped. The output has base's layout (see :func:`apply_checkpoint`) and appears
    only once complete. With ``method="dare_ties"`` and an integer seed, tensor N uses
    ``tensor_seed(seed, N)`` (task t then seed + t, as sparse.merge does); ``seed=None`` draws fresh
    entropy per tensor. The summary's nnz counts entries that differ from base.

    Cost: one sparse.merge per tensor (a selection per task for TIES, then one pass over all inputs).
    Memory: 2 + len(tuned_list) tensors at a time.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from mlprims import sparse
    >>> from safetensors.torch import load_file
    >>> base = {"w": torch.zeros(4)}
    >>> tuned = [{"w": torch.tensor([1.0, 0, 0, 2])}, {"w": torch.tensor([3.0, 0, 0, -2])}]
    >>> out = os.path.join(tempfile.mkdtemp(), "merged.safetensors")
    >>> _ = sparse.merge_checkpoints(base, tuned, out, method="task_arithmetic", progress=False)
    >>> load_file(out)["w"].tolist()
    [4.0, 0.0, 0.0, 0.0]
    """
    function = "sparse.merge_checkpoints"
    torch, _ = _libraries()
    if not isinstance(tuned_list, (list, tuple)) or not tuned_list:
        raise ValueError(f"{function}: 'tuned_list' must be a non-empty list of checkpoints, got {type(tuned_list).__name__}")
    if seed is not None:
        seed = check_integer(function, "seed", seed, minimum=0, maximum=UINT64_MAX)
    if weights is not None:  # a list once, so that an iterator is not used up by the check below
        try:
            weights = list(weights)
        except TypeError:
            raise TypeError(f"{function}: 'weights' must be a list of numbers, got {type(weights).__name__}") from None
    options = {"method": method, "weights": weights, "density": density, "divisor": divisor, "drop_top": drop_top,
               "keep": keep}
    # The options on one-element tensors: bad ones fail now, before any tensor is read.
    zero = torch.zeros(1)
    sparse.merge(zero, [zero] * len(tuned_list), seed=0 if seed is None else seed, **options)
    start = time.perf_counter()
    base_source = _Source(function, "base", base)
    tuned_sources = []
    try:
        tuned_sources = [_Source(function, f"tuned_list[{t}]", spec) for t, spec in enumerate(tuned_list)]
        _compare(function, base_source, tuned_sources)
        output = _Output(function, base_source, out_path)
        rows = []

        def produce(name):
            b = base_source.get(name)
            shape, dtype = base_source.layout[name]
            reads = base_source.nbytes(name) * (1 + len(tuned_sources))
            if dtype not in _FLOATING:
                rows.append(TensorRow(name, shape, dtype, "skipped", b.numel(), 0, base_source.nbytes(name),
                                      base_source.nbytes(name)))
                return b
            tuned = [source.get(name) for source in tuned_sources]
            try:
                merged = sparse.merge(b, tuned, seed=None if seed is None else tensor_seed(seed, name), **options)
            except (ValueError, TypeError) as error:
                _reraise(function, name, error)
            changed = sparse.update_stats(b, merged).changed
            rows.append(TensorRow(name, shape, dtype, "merged", b.numel(), changed, reads, base_source.nbytes(name)))
            return merged

        bar = _Progress(function, progress, len(base_source.layout), "merge")
        try:
            written = output.write_all(produce, bar)
        finally:
            bar.close()
    finally:
        base_source.close()
        for source in tuned_sources:
            source.close()
    skipped = [r.name for r in rows if r.status == "skipped"]
    return _summary("merge", rows, skipped, time.perf_counter() - start, bytes_out=written)


def checkpoint_stats(base, tuned, *, atol: float = 0.0, progress=None) -> CheckpointSummary:
    """How much a fine-tune changed its base: :func:`mlprims.sparse.update_stats` of every floating
    tensor (in ``rows[i].stats``) and the totals (``summary.stats``: changed and NaN counts summed,
    max |v| the largest, mean |v| over all non-NaN entries). Other tensors are skipped
    (``skipped_changed`` lists those that differ). Writes nothing.

    Cost: one pass over base and tuned. Memory: two tensors at a time.

    Examples
    --------
    >>> import torch
    >>> from mlprims import sparse
    >>> base = {"a": torch.zeros(4), "b": torch.zeros(6)}
    >>> tuned = {"a": torch.tensor([0.0, 1, 0, 0]), "b": torch.tensor([0.0, 0, 3, 0, 0, 0])}
    >>> summary = sparse.checkpoint_stats(base, tuned, progress=False)
    >>> summary.stats.changed, summary.stats.max_abs, summary.stats.mean_abs, summary.row("a").stats.changed
    (2, 3.0, 0.4, 1)
    """
    function = "sparse.checkpoint_stats"
    _libraries()  # imported before the clock starts
    atol = check_real(function, "atol", atol, minimum=0.0, finite=True)
    start = time.perf_counter()
    base_source = _Source(function, "base", base)
    tuned_source = _Source(function, "tuned", tuned)
    _compare(function, base_source, [tuned_source])
    bar = _Progress(function, progress, len(base_source.layout), "stats")
    rows, skipped, skipped_changed = [], [], []
    try:
        for name, shape, dtype, b, t, bytes_in in _floating_pairs(base_source, tuned_source, rows, skipped,
                                                                  skipped_changed, bar):
            stats = sparse.update_stats(b, t, atol=atol)
            del b, t
            rows.append(TensorRow(name, shape, dtype, "compared", stats.numel, stats.changed, bytes_in, 0, stats))
    finally:
        bar.close()
        base_source.close()
        tuned_source.close()
    counted = [r.stats for r in rows if r.stats is not None]
    numel = sum(s.numel for s in counted)
    finite = sum(s.numel - s.nan for s in counted)
    changed = sum(s.changed for s in counted)
    maxima = [s.max_abs for s in counted if not math.isnan(s.max_abs)]
    total = sparse.UpdateStats(numel, changed, changed / numel if numel else 0.0, sum(s.nan for s in counted),
                               max(maxima, default=0.0),
                               sum(s.mean_abs * (s.numel - s.nan) for s in counted) / finite if finite else 0.0)
    return _summary("stats", rows, skipped, time.perf_counter() - start, stats=total, skipped_changed=skipped_changed)
