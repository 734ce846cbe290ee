"""Type stubs of the posbench package: the compiled harness (_core) and the figures."""

import os

import numpy
from typing import Any, Sequence, Union

from ._core import (Encoder as Encoder, describe as describe, experiments as experiments,
                    load_plugin as load_plugin, non_timing_differences as non_timing_differences,
                    run as run, schemes as schemes, validate as validate)

SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...]

Results = Union[dict[str, Any], str, "os.PathLike[str]"]

def empty(shape: Union[int, Sequence[int]], dtype: Any = "float32") -> "numpy.ndarray":
    """A new uninitialised C-order array whose data start on a 64-byte boundary (numpy's own:
    16 bytes); posbench's SIMD kernels are ~10% faster on such arrays."""

# plot and report are the submodules posbench.plot / posbench.report, each callable as below.
def plot(results: Results, out_dir: Union[str, "os.PathLike[str]"],
         formats: Union[str, Sequence[str]] = ...) -> list[str]:
    """Every figure of a results document into out_dir, as `posbench plot`; the paths."""

def report(results: Results, path: Union[str, "os.PathLike[str]"]) -> Union[str, "os.PathLike[str]"]:
    """The self-contained HTML report of a results document, as `posbench report`."""
