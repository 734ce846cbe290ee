"""posbench from Python: the harness (schemes, experiments, validate, run, plugins, Encoder)
and the figures and HTML report of a results file.

    import posbench                       # PYTHONPATH=build/python (the build tree)
    enc = posbench.Encoder("rope", base=500000)
    q_rot = enc.apply(q)                  # q: numpy float32 [seq, heads, head_dim]
    doc = posbench.run("configs/default.json", threads=2)
    posbench.plot(doc, "figures")         # the submodule plot, callable; also posbench.report

The harness is the compiled module ``posbench._core`` (pybind11, harness/python/), built by
CMake beside links to these files in build/python/posbench. The figures are pure Python on
matplotlib (Debian: python3-matplotlib) and work without it:

    python3 -m posbench.plot RESULTS.json [-o DIR] [--format png,pdf,svg]
    python3 -m posbench.report RESULTS.json -o report.html
"""

import os as _os
import sys as _sys

SUPPORTED_SCHEMA_VERSIONS = (4, 5, 6, 7)

_CORE_NAMES = ("Encoder", "schemes", "experiments", "describe", "validate", "run", "load_plugin",
               "non_timing_differences")
_core_missing = None
# RTLD_GLOBAL: a plugin (load_plugin) resolves posbench's symbols against the module's, as it
# does against the posbench executable's.
_flags = _sys.getdlopenflags()
_sys.setdlopenflags(_flags | _os.RTLD_GLOBAL)
try:
    from ._core import (Encoder, describe, experiments, load_plugin, non_timing_differences, run,
                        schemes, validate)
except ModuleNotFoundError as _e:
    if _e.name != __name__ + "._core":
        raise
    _core_missing = str(_e)
finally:
    _sys.setdlopenflags(_flags)


def empty(shape, dtype="float32"):
    """A new uninitialised C-order numpy array whose data start on a 64-byte boundary (a cache
    line; one AVX-512 vector). numpy's own arrays are only 16-byte aligned, and on those every
    64-byte load of posbench's SIMD kernels straddles two cache lines: Encoder.apply on a
    [4096, 32, 128] float32 array ran at 103 GB/s on a numpy array and at 114 GB/s on one from
    here (python/benchmarks/apply_speed.py). PyTorch's CPU tensors are 64-byte aligned as well.
    """
    import numpy as np
    dt = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)
    count = 1
    for n in shape:
        if n < 0:
            raise ValueError(f"shape: got {shape}, expected sizes >= 0")
        count *= n
    buf = np.empty(count * dt.itemsize + 64, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64
    return buf[start:start + count * dt.itemsize].view(dt).reshape(shape)


def __getattr__(name):
    # Only reached for names not defined yet. plot and report are the submodules, imported on
    # first use (not here: `python -m posbench.plot` must find them unimported); each is also
    # callable: posbench.plot(results, out_dir), posbench.report(results, path).
    if name in ("plot", "report", "figures"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    # The module's names when it was not found beside this file (e.g. the source tree's
    # python/, which `posbench plot` uses; figures work there).
    if name in _CORE_NAMES:
        raise ImportError(
            f"posbench.{name} needs the compiled module posbench._core, which is not beside "
            f"{_os.path.dirname(__file__)} ({_core_missing}): build it (cmake --build build "
            f"--target posbench_python, needs Debian pybind11-dev and python3-dev) and use "
            f"PYTHONPATH=build/python, or `cmake --install build`")
    raise AttributeError(f"module 'posbench' has no attribute '{name}'")
