from __future__ import annotations
import mlprims._core
import typing
__all__: list[str] = ['LowRankResult', 'fwsvd', 'truncated_svd', 'weighted_svd']
class LowRankResult(mlprims._core.IterationReport):
    @property
    def left_shift(self) -> float:
        ...
    @property
    def method(self) -> str:
        ...
    @property
    def right_shift(self) -> float:
        ...
def fwsvd(W: typing.Any, fisher: typing.Any, rank: typing.SupportsInt | typing.SupportsIndex, axis: typing.SupportsInt | typing.SupportsIndex, *, left: typing.Any, right: typing.Any, singular_values: typing.Any, method: str = 'auto', oversample: typing.SupportsInt | typing.SupportsIndex = -1, power_iters: typing.SupportsInt | typing.SupportsIndex = -1, seed: typing.SupportsInt | typing.SupportsIndex = 0, placement: str = 'left', stream: typing.SupportsInt | typing.SupportsIndex = 0) -> LowRankResult:
    ...
def truncated_svd(W: typing.Any, rank: typing.SupportsInt | typing.SupportsIndex, *, left: typing.Any, right: typing.Any, singular_values: typing.Any, method: str = 'auto', oversample: typing.SupportsInt | typing.SupportsIndex = -1, power_iters: typing.SupportsInt | typing.SupportsIndex = -1, seed: typing.SupportsInt | typing.SupportsIndex = 0, placement: str = 'left', stream: typing.SupportsInt | typing.SupportsIndex = 0) -> LowRankResult:
    ...
def weighted_svd(W: typing.Any, rank: typing.SupportsInt | typing.SupportsIndex, *, left: typing.Any, right: typing.Any, singular_values: typing.Any, row_weights: typing.Any = None, col_weights: typing.Any = None, left_gram: typing.Any = None, right_gram: typing.Any = None, weights: typing.Any = None, max_iter: typing.SupportsInt | typing.SupportsIndex = -1, tol: typing.SupportsFloat | typing.SupportsIndex = -1.0, callback: typing.Any = None, method: str = 'auto', oversample: typing.SupportsInt | typing.SupportsIndex = -1, power_iters: typing.SupportsInt | typing.SupportsIndex = -1, seed: typing.SupportsInt | typing.SupportsIndex = 0, placement: str = 'left', stream: typing.SupportsInt | typing.SupportsIndex = 0) -> LowRankResult:
    ...
