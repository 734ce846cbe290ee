"""Draw every figure of a posbench results file.

    python3 -m posbench.plot RESULTS.json [-o DIR] [--format png,pdf,svg]

One file per figure, <DIR>/<experiment index>-<type>-<label>-<metric>.<format> (snapshots:
snapshot-snapshot-<label>-<kind>). The files carry no time stamps (and svg ids are salted
with a fixed string), so two runs on the same results give byte-identical files.
Exit codes: 0 ok, 2 a problem with the arguments or the results file, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .figures import ResultsError, figures  # noqa: E402

FORMATS = ("png", "pdf", "svg")
# Everything that would differ between two runs: creation dates (pdf, svg) and the svg
# element ids (random unless salted).
METADATA = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
}


class UsageError(Exception):
    pass


def deterministic_style() -> None:
    matplotlib.rcParams["svg.hashsalt"] = "posbench"
    matplotlib.rcParams["savefig.dpi"] = 100
    matplotlib.rcParams["pdf.compression"] = 6


def parse_formats(text: str):
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"--format: got '{text}', expected a comma-separated list of "
                         f"{', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def load_results(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise UsageError(f"RESULTS: {path}: no such file")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"RESULTS: {path}: cannot read it ({e})")
    except json.JSONDecodeError as e:
        raise UsageError(f"RESULTS: {path}: not JSON ({e})")


def save(fig, path: str, fmt: str) -> None:
    fig.savefig(path, format=fmt, metadata=METADATA[fmt])


def write_figures(results, out_dir: str, formats) -> list[str]:
    deterministic_style()
    os.makedirs(out_dir, exist_ok=True)
    written = []
    # The figures are built anew for each format: a figure saved once keeps layout state
    # (constrained layout starts from the last draw, at that format's dpi), so an svg saved
    # after a png differs from one saved alone. Fresh figures make every file depend only on
    # the results and its format, whatever --format lists with it.
    for fmt in formats:
        for f in figures(results):
            path = os.path.join(out_dir, f"{f.name}.{fmt}")
            save(f.figure, path, fmt)
            written.append(path)
            plt.close(f.figure)
    return sorted(written)


def draw(results, out_dir, formats=("png",)) -> list[str]:
    """posbench.plot(results, out_dir, formats=("png",)): every figure of a results document
    (a dict, e.g. what posbench.run returns, or the path of a results file) into out_dir, one
    file per figure and format, as `posbench plot` draws them; returns the paths written. A
    bad format or a document this module cannot draw raises ValueError."""
    try:
        fmts = parse_formats(formats if isinstance(formats, str) else ",".join(formats))
        doc = results if isinstance(results, dict) else load_results(os.fspath(results))
        return write_figures(doc, os.fspath(out_dir), fmts)
    except UsageError as e:
        raise ValueError(str(e)) from None


class _CallableModule(types.ModuleType):
    """This module is also the function posbench.plot(results, out_dir, formats) (draw): the
    package attribute `plot` is this module once imported, so the two are one object."""

    def __call__(self, results, out_dir, formats=("png",)) -> list[str]:
        return draw(results, out_dir, formats)


sys.modules[__name__].__class__ = _CallableModule


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="posbench plot", description=__doc__.split("\n")[0])
    ap.add_argument("results", metavar="RESULTS.json")
    ap.add_argument("-o", "--output", metavar="DIR",
                    help="directory for the figures (default: <RESULTS without .json>-figures)")
    ap.add_argument("--format", default="png", help="png, pdf, svg or a list: png,svg")
    args = ap.parse_args(argv)
    try:
        formats = parse_formats(args.format)
        results = load_results(args.results)
        out = args.output or os.path.splitext(args.results)[0] + "-figures"
        written = write_figures(results, out, formats)
    except (UsageError, ResultsError) as e:
        print(f"posbench: error: {e}", file=sys.stderr)
        return 2
    print(f"{len(written)} figure files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
