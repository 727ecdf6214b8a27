"""
test hooks of mlprims' own tests
"""
from __future__ import annotations
import mlprims._core.lowrank
import typing
__all__: list[str] = ['import_info', 'lowrank_truncated_svd_device_algorithm', 'lowrank_weighted_svd_device_algorithm']
def import_info(obj: typing.Any) -> dict:
    ...
def lowrank_truncated_svd_device_algorithm(W: typing.Any, rank: typing.SupportsInt | typing.SupportsIndex, *, left: typing.Any, right: typing.Any, singular_values: typing.Any, row_weights: typing.Any = None, col_weights: typing.Any = None, left_gram: typing.Any = None, right_gram: typing.Any = None, weights: typing.Any = None, max_iter: typing.SupportsInt | typing.SupportsIndex = -1, tol: typing.SupportsFloat | typing.SupportsIndex = -1.0, callback: typing.Any = None, method: str = 'auto', oversample: typing.SupportsInt | typing.SupportsIndex = -1, power_iters: typing.SupportsInt | typing.SupportsIndex = -1, seed: typing.SupportsInt | typing.SupportsIndex = 0, placement: str = 'left', stream: typing.SupportsInt | typing.SupportsIndex = 0) -> mlprims._core.lowrank.LowRankResult:
    ...
def lowrank_weighted_svd_device_algorithm(W: typing.Any, rank: typing.SupportsInt | typing.SupportsIndex, *, left: typing.Any, right: typing.Any, singular_values: typing.Any, row_weights: typing.Any = None, col_weights: typing.Any = None, left_gram: typing.Any = None, right_gram: typing.Any = None, weights: typing.Any = None, max_iter: typing.SupportsInt | typing.SupportsIndex = -1, tol: typing.SupportsFloat | typing.SupportsIndex = -1.0, callback: typing.Any = None, method: str = 'auto', oversample: typing.SupportsInt | typing.SupportsIndex = -1, power_iters: typing.SupportsInt | typing.SupportsIndex = -1, seed: typing.SupportsInt | typing.SupportsIndex = 0, placement: str = 'left', stream: typing.SupportsInt | typing.SupportsIndex = 0) -> mlprims._core.lowrank.LowRankResult:
    ...
