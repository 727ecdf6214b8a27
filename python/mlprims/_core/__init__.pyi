"""
mlprims native core (use the mlprims package, not this module)
"""
from __future__ import annotations
import typing
from . import testing
from . import special
from . import vmf
from . import mfac
from . import lowrank
from . import ot
from . import sparse
__all__: list[str] = ['IterationReport', 'blas_library', 'built_with_cuda', 'cuda_device_count', 'cuda_libraries', 'cuda_status', 'get_num_threads', 'lowrank', 'mfac', 'ot', 'set_num_threads', 'sparse', 'special', 'testing', 'version', 'vmf']
class IterationReport:
    @property
    def converged(self) -> bool:
        ...
    @property
    def error(self) -> float:
        ...
    @property
    def iterations(self) -> int:
        ...
def blas_library() -> str:
    ...
def built_with_cuda() -> bool:
    ...
def cuda_device_count() -> int:
    ...
def cuda_libraries() -> str:
    ...
def cuda_status() -> str:
    ...
def get_num_threads() -> int:
    ...
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def version() -> str:
    ...
