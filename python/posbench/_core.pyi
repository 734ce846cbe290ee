"""Type stubs of posbench._core (harness/python), the compiled half of the posbench package."""

import os
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Config = Union[dict, str, "os.PathLike[str]"]
Positions = Union[int, Sequence[int], npt.NDArray[np.integer]]
FloatArray = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

def schemes() -> list[dict[str, Any]]:
    """Every registered scheme as `posbench list --json` gives it."""

def experiments() -> list[dict[str, Any]]:
    """Every registered experiment type as `posbench list --json` gives it."""

def describe(name: str) -> dict[str, Any]:
    """One scheme or experiment as `posbench describe NAME --json`; ValueError if unknown."""

def validate(config: Config, *, max_memory: Optional[int] = None) -> list[str]:
    """Every problem of a config as the lines `posbench validate` prints; [] when valid."""

def run(config: Config, threads: Optional[int] = None, *,
        max_memory: Optional[int] = None) -> dict[str, Any]:
    """Runs a config; returns the results document `posbench run` writes."""

def load_plugin(path: str) -> None:
    """Loads a scheme / experiment plugin, as `posbench --plugin PATH`."""

class Encoder:
    """One registered scheme with its params: Encoder("rope", base=500000)."""

    def __init__(self, name: str, **params: Any) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def family(self) -> str:
        """'additive', 'rotary' or 'bias'."""
    @property
    def params(self) -> dict[str, Any]:
        """The params as resolved (every default filled in)."""
    def apply(self, x: FloatArray, offset: int = 0, role: str = "query",
              out: Optional[FloatArray] = None, threads: Optional[int] = None) -> FloatArray:
        """additive x [n, d]; rotary x [n, heads, head_dim] or [n, head_dim]; bias x [heads,
        n_q, n_k]. float32/float64 C order, never copied; returns a new array or `out`."""
    def table(self, positions: Positions, dim: int) -> npt.NDArray[np.float64]:
        """Additive: PE(p), [len(positions), dim]."""
    def rotary_coefficients(self, positions: Positions, head_dim: int, *, role: str = "query",
                            seq_len: int = 0
                            ) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Rotary: (cos, sin), each [len(positions), rotary_dims(head_dim) / 2]."""
    def rotary_dims(self, head_dim: int) -> int:
        """Rotary: channels of a head of width head_dim that rotate."""
    def bias(self, q_positions: Positions, k_positions: Positions,
             heads: int) -> npt.NDArray[np.float64]:
        """Bias: b_h(i, j), [heads, len(q_positions), len(k_positions)]."""

def non_timing_differences(a: dict[str, Any], b: dict[str, Any], max: int = 20) -> list[str]:
    """Where two results documents differ outside their timing and provenance fields, as
    'path: A vs B' lines (at most `max`); [] when every other value is equal."""
