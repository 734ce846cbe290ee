"""posbench's Python side: figures and the HTML report of a results file.

    python3 -m posbench.plot RESULTS.json [-o DIR] [--format png,pdf,svg]
    python3 -m posbench.report RESULTS.json -o report.html

Pure Python on matplotlib (Debian: python3-matplotlib), drawn from the results file alone.
A compiled extension (the pybind11 module, e.g. ``posbench._core``) may be added beside these
modules; nothing here imports it.
"""

SUPPORTED_SCHEMA_VERSIONS = (4, 5, 6)
