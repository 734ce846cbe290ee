"""posbench's functions (harness/python/module.cpp): schemes / experiments / describe equal the
CLI's `list --json` / `describe --json`, validate() returns the lines `posbench validate`
prints, run() returns the document `posbench run` writes (same config, seed and threads: every
non-timing value equal), a round trip run -> plot -> report with the figures' data read back
from the figure objects, and load_plugin with the example plugin the C++ tests build."""

import copy
import json
import os

import numpy as np
import pytest

import posbench
from posbench.figures import figures

from conftest import TINY_CONFIG, run

BUILD_DIR = os.environ.get("POSBENCH_BUILD_DIR", "")

BAD_CONFIG = {
    "name": "bad", "seed": 0,
    "experiments": [
        {"type": "offset_linearity", "dim": 16, "positions": 64, "offsets": [1, 2],
         "encoders": [{"name": "rope", "params": {"bsae": 3}},
                      {"name": "alibi", "params": {"slopes": [0.5]}},
                      {"name": "sinusodial"}]},
        {"type": "long_term_decay", "dim": -4, "encoders": [{"name": "rope"}]},
    ],
}


def cli_json(binary, *args):
    r = run([binary, *args])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_schemes_experiments_describe_equal_the_cli(binary):
    listed = cli_json(binary, "list", "--json")
    assert posbench.schemes() == listed["encoders"]
    assert posbench.experiments() == listed["experiments"]
    assert {"rope", "alibi", "sinusoidal"} <= {s["name"] for s in posbench.schemes()}
    assert posbench.describe("rope") == cli_json(binary, "describe", "rope", "--json")
    assert posbench.describe("speed") == cli_json(binary, "describe", "speed", "--json")
    with pytest.raises(ValueError, match=r"unknown scheme or experiment 'rop'; did you mean "
                                         r"'rope'\?"):
        posbench.describe("rop")


def test_validate_returns_the_cli_lines(binary, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD_CONFIG))
    r = run([binary, "validate", str(path)])
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].endswith("problems")
    cli_problems = [line[2:] for line in lines[1:]]
    problems = posbench.validate(BAD_CONFIG)
    assert problems == cli_problems
    assert posbench.validate(str(path)) == cli_problems
    assert posbench.validate(path) == cli_problems  # os.PathLike
    assert any(p.startswith("experiments[0].encoders[0].params.bsae: unknown parameter 'bsae'; "
                            "did you mean 'base'?") for p in problems)
    assert any(p.startswith("experiments[0].encoders[2].name: ") and "did you mean 'sinusoidal'"
               in p for p in problems)
    assert any(p.startswith("experiments[1].dim: ") for p in problems)
    assert posbench.validate(TINY_CONFIG) == []
    with pytest.raises(ValueError, match=r"^experiments\[0\]\.seed_bad: got a set"):
        posbench.validate({"experiments": [{"seed_bad": {1}}]})
    with pytest.raises(ValueError, match=r"nothing\.json"):
        posbench.validate(str(tmp_path / "nothing.json"))
    with pytest.raises(ValueError, match=r"^config: got a int, expected a dict or the path"):
        posbench.validate(3)


def strip_timing(doc):
    """The document without what differs between two runs: the machine's state and times."""
    doc = copy.deepcopy(doc)
    doc.pop("context")
    doc.pop("total_wall_seconds")
    doc.pop("unit_provenance")
    for e in doc["experiments"]:
        e.pop("wall_seconds")
        e.pop("hosts", None)
    return doc


def test_run_returns_the_document_the_cli_writes(binary, tmp_path, tiny_run):
    _, results, cli_doc = tiny_run  # conftest: `posbench run --threads 1`
    doc = posbench.run(TINY_CONFIG, threads=1)
    assert doc["schema_version"] == cli_doc["schema_version"] == max(posbench.SUPPORTED_SCHEMA_VERSIONS)
    assert set(doc) == set(cli_doc)
    assert set(doc["context"]) == set(cli_doc["context"])
    assert doc["threads"] == 1
    # every value but the timing and provenance fields (results/README.md), by the one rule
    # merge and `compare --exact` use, and compared again here as plain dicts without them
    assert posbench.non_timing_differences(doc, cli_doc) == []
    changed = copy.deepcopy(doc)
    changed["experiments"][0]["encoders"][0]["curves"][0]["y"][1] += 1e-12
    changed["total_wall_seconds"] += 5.0  # timing: not a difference
    assert [d.split(":")[0] for d in posbench.non_timing_differences(changed, cli_doc)] == [
        "experiments[0].encoders[0].curves[0].y[1]"]
    assert strip_timing(doc) == strip_timing(cli_doc)
    # the same numbers as floats, not only as equal dicts: one curve checked element by element
    y = doc["experiments"][0]["encoders"][0]["curves"][0]["y"]
    assert y == cli_doc["experiments"][0]["encoders"][0]["curves"][0]["y"] and len(y) > 1


def test_run_errors(tmp_path):
    with pytest.raises(ValueError) as e:
        posbench.run(BAD_CONFIG, threads=1)
    assert "experiments[0].encoders[0].params.bsae: unknown parameter 'bsae'" in str(e.value)
    assert "experiments[1].dim: " in str(e.value)
    with pytest.raises(ValueError, match=r"^threads: got 0, expected a whole number"):
        posbench.run(TINY_CONFIG, threads=0)


def test_round_trip_run_plot_report(tmp_path):
    # TINY_CONFIG's first experiment only: every figure is drawn twice below (files, report)
    config = dict(TINY_CONFIG, experiments=TINY_CONFIG["experiments"][:1])
    doc = posbench.run(config, threads=1)
    written = posbench.plot(doc, tmp_path / "figs")
    names = sorted(os.listdir(tmp_path / "figs"))
    assert names == sorted(os.path.basename(p) for p in written)
    assert "00-long_term_decay-all-mean_abs_logit.png" in names
    assert "snapshot-snapshot-rope-angle_heatmap.png" in names
    assert posbench.plot.write_figures  # the same name is the module too
    # the plotted series are the results' curves, read back from the figure objects
    by_name = {f.name: f for f in figures(doc)}
    checked = 0
    for index, exp in enumerate(doc["experiments"]):
        for enc in exp["encoders"]:
            for curve in enc["curves"]:
                fig = by_name.get(f"{index:02d}-{exp['type']}-all-{curve['name']}")
                if fig is None:
                    continue
                lines = {ln.get_label(): ln for ln in fig.figure.axes[0].get_lines()}
                line = lines[enc["label"]]
                np.testing.assert_array_equal(line.get_xdata(), np.array(curve["x"], float))
                np.testing.assert_array_equal(
                    line.get_ydata(), np.array([np.nan if v is None else v for v in curve["y"]],
                                               float))
                checked += 1
    assert checked >= 3
    # a results file path works as well as the dict
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    page = posbench.report(str(path), tmp_path / "report.html")
    text = open(page, encoding="utf-8").read()
    assert "&lt;b&gt;alibi &amp; &quot;co&quot;&lt;/b&gt;" in text
    assert text.count("<img ") >= len(names)
    with pytest.raises(ValueError):
        posbench.plot({"schema_version": 1}, tmp_path / "none")
    with pytest.raises(ValueError, match=r"--format"):
        posbench.plot(doc, tmp_path / "none", formats=("gif",))


def test_load_plugin_registers_its_scheme(tmp_path):
    plugin = os.path.join(BUILD_DIR, "tests", "plugin", "liblinear_decay.so")
    assert os.path.isfile(plugin), f"{plugin} not built (cmake --build build --target linear_decay)"
    with pytest.raises(ValueError, match=r"^plugin .*missing\.so"):
        posbench.load_plugin(str(tmp_path / "missing.so"))
    posbench.load_plugin(plugin)
    posbench.load_plugin(plugin)  # again: nothing happens
    assert "linear_decay" in [s["name"] for s in posbench.schemes()]
    enc = posbench.Encoder("linear_decay", slope=0.5, ratio=0.25, power=1.5)
    q, k = np.array([0, 3, 8]), np.arange(5)
    h = np.arange(3)[:, None, None]
    ref = -0.5 * 0.25 ** h * np.abs(q[None, :, None] - k[None, None, :]) ** 1.5
    np.testing.assert_allclose(enc.bias(q, k, 3), ref, rtol=1e-14, atol=0)
    cfg = {"name": "p", "seed": 0, "experiments": [
        {"type": "long_term_decay", "dim": 8, "heads": 2, "positions": 8, "samples": 2,
         "distances": [0, 1, 4], "encoders": [{"name": "linear_decay"}]}]}
    assert posbench.validate(cfg) == []
    doc = posbench.run(cfg, threads=1)
    assert doc["experiments"][0]["encoders"][0]["name"] == "linear_decay"


def test_cmake_install_puts_an_importable_package_in_site_packages(tmp_path):
    """`cmake --install` (component python) into a fresh prefix: the package with the module
    lands in <prefix>/<the interpreter's site-packages below its prefix> and imports from there
    alone (python -I ignores PYTHONPATH; the directory is added by hand)."""
    import re
    import subprocess
    import sys
    cache = open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8").read()
    site = re.search(r"^POSBENCH_PYTHON_INSTALL_DIR:STRING=(.*)$", cache, re.M).group(1)
    assert re.fullmatch(r"lib/python3(\.\d+)?/(site|dist)-packages", site), site
    r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(tmp_path),
                        "--component", "python"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pkg = tmp_path / site / "posbench"
    assert (pkg / "_core.pyi").is_file() and (pkg / "figures.py").is_file()
    code = (f"import sys; sys.path.insert(0, {str(tmp_path / site)!r}); import posbench; "
            "assert posbench.__file__.startswith(sys.path[0]), posbench.__file__; "
            "print(posbench.Encoder('rope').family)")
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "rotary"


def test_source_tree_package_without_the_module_still_draws(tmp_path):
    """python/ (what `posbench plot` runs) has no _core: the figures work, and the module's
    names raise ImportError saying how to build it."""
    import subprocess
    import sys
    src = os.path.join(os.environ.get("POSBENCH_SOURCE_DIR", ""), "python")
    code = ("import posbench\n"
            "assert callable(posbench.plot) and posbench.plot.write_figures\n"
            "try:\n    posbench.Encoder\nexcept ImportError as e:\n    print(e)\n")
    env = dict(os.environ, PYTHONPATH=src)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "posbench.Encoder needs the compiled module posbench._core" in r.stdout
    assert "--target posbench_python" in r.stdout
