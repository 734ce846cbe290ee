"""`posbench plot` / `posbench report` (harness/cli/plot_command.cpp): a round trip
run -> plot -> report on a tiny config, exit codes and messages (missing python3, missing
matplotlib, bad arguments), and the snapshots a run writes (schema 5) against closed forms."""

import filecmp
import json
import math
import os
import sys

import numpy as np

from conftest import run


def test_round_trip_run_plot_report(tiny_run, binary, tmp_path):
    _, results, doc = tiny_run
    assert doc["schema_version"] == 7
    out = tmp_path / "figs"
    r = run([binary, "plot", str(results), "-o", str(out), "--format", "png,svg"])
    assert r.returncode == 0, r.stderr
    names = sorted(os.listdir(out))
    for expected in ["00-long_term_decay-all-mean_abs_logit.png",
                     "00-long_term_decay-rope-decay_vs_bound.svg",
                     "01-length_extrapolation-all-normalized_entropy.png",
                     "snapshot-snapshot-sinusoidal-pe_heatmap.png",
                     "snapshot-snapshot-sinusoidal-seed_picture.png",
                     "snapshot-snapshot-rope-angle_heatmap.png",
                     "snapshot-snapshot-b_alibi_co_b-attention_map.png"]:
        assert expected in names
    assert len(names) % 2 == 0 and all(n.endswith((".png", ".svg")) for n in names)
    page = tmp_path / "report.html"
    r = run([binary, "report", str(results), "-o", str(page)])
    assert r.returncode == 0, r.stderr
    text = page.read_text()
    assert "<b>alibi" not in text  # the label is user text: escaped
    assert "&lt;b&gt;alibi &amp; &quot;co&quot;&lt;/b&gt;" in text
    assert "http://" not in text and "https://" not in text  # self-contained
    assert text.count("<img ") >= len([n for n in names if n.endswith(".png")])


def test_plot_default_directory_and_python_module_agree_byte_for_byte(tiny_run, binary, tmp_path):
    _, results, _ = tiny_run
    copy = tmp_path / "r.json"
    copy.write_text(results.read_text())
    r = run([binary, "plot", str(copy), "--format", "svg,pdf,png"])
    assert r.returncode == 0, r.stderr
    by_cli = sorted(os.listdir(tmp_path / "r-figures"))
    r = run([sys.executable, "-m", "posbench.plot", str(copy), "-o", str(tmp_path / "m"),
             "--format", "png,pdf,svg"])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "m")) == by_cli
    # two processes, same bytes (no time stamps in the files)
    for name in by_cli:
        assert filecmp.cmp(tmp_path / "m" / name, tmp_path / "r-figures" / name, shallow=False)


def test_argument_and_file_errors_exit_2(binary, tmp_path, tiny_run):
    _, results, _ = tiny_run
    r = run([binary, "plot", str(tmp_path / "none.json")])
    assert r.returncode == 2 and "none.json: no such file" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = run([binary, "report", str(bad), "-o", str(tmp_path / "x.html")])
    assert r.returncode == 2 and "bad.json: not JSON" in r.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema_version": 99, "experiments": []}))
    r = run([binary, "plot", str(other)])
    assert r.returncode == 2 and "schema_version 99" in r.stderr
    r = run([binary, "plot", str(results), "--format", "gif"])
    assert r.returncode == 2 and "--format: got 'gif'" in r.stderr
    r = run([binary, "report", str(results)])  # -o is required
    assert r.returncode == 2 and "--output is required" in r.stderr


def test_missing_python_says_what_to_install(binary, tiny_run):
    _, results, _ = tiny_run
    r = run([binary, "plot", str(results)], env={"POSBENCH_PYTHON": "/nonexistent/python3"})
    assert r.returncode == 2
    assert "python3 not found (tried /nonexistent/python3)" in r.stderr
    assert "apt-get install python3-matplotlib" in r.stderr


def test_missing_matplotlib_says_what_to_install(binary, tiny_run, tmp_path):
    # A matplotlib package that cannot be imported, first on PYTHONPATH, hides the real one.
    fake = tmp_path / "hide" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    _, results, _ = tiny_run
    for cmd in (["plot", str(results)], ["report", str(results), "-o", str(tmp_path / "r.html")]):
        r = run([binary] + cmd, env={"PYTHONPATH": str(tmp_path / "hide")})
        assert r.returncode == 2, r.stderr
        assert "matplotlib cannot be imported by python3, /usr/bin/python3" in r.stderr
        assert "install it with `apt-get install python3-matplotlib`" in r.stderr
    assert not (tmp_path / "r.html").exists()


def wrap(a):
    """Angle wrapped to (-pi, pi]."""
    return math.atan2(math.sin(a), math.cos(a))


def test_snapshots_match_closed_forms(tiny_run):
    _, _, doc = tiny_run
    snaps = {s["name"]: s for s in doc["snapshots"]}
    # one per distinct (scheme, params); rope is in both experiments with the same params
    assert [u["experiment"] for u in snaps["rope"]["used_by"]] == [0, 1]
    assert snaps["learned"]["used_by"] == [{"experiment": 1, "label": "learned"}]

    s = snaps["sinusoidal"]  # long_term_decay: dim 16, positions 16, interleaved sin/cos
    t = s["table"]
    assert (s["dim"], t["positions"], t["channels"]) == (16, list(range(16)), list(range(16)))
    for p in t["positions"]:
        for c in t["channels"]:
            w = 10000.0 ** (-(c // 2) * 2 / 16)
            ref = math.sin(p * w) if c % 2 == 0 else math.cos(p * w)
            assert abs(t["values"][p][c] - ref) <= 5e-4 * max(abs(ref), 1e-3), (p, c)
    sp = s["seed_picture"]
    pts = np.array(sp["points"])
    assert pts.shape == (4 * 16, 2) and sp["position"][:16] == list(range(16))
    # principal components: centred coordinates, uncorrelated, variance falling
    assert np.allclose(pts.mean(axis=0), 0, atol=1e-3)
    cov = np.cov(pts.T)
    assert abs(cov[0, 1]) <= 1e-3 * cov[0, 0] and cov[0, 0] >= cov[1, 1]
    assert 1 > sp["explained_variance_ratio"][0] >= sp["explained_variance_ratio"][1] > 0

    a = snaps["rope"]["angles"]  # p * base^(-2i/d), d = 16 -> 8 pairs
    assert a["pairs"] == list(range(8))
    for p in a["positions"]:
        for i in a["pairs"]:
            ref = wrap(p * 10000.0 ** (-2 * i / 16))
            assert abs(a["values"][p][i] - ref) <= 5e-4 * max(abs(ref), 1e-3), (p, i)

    b = snaps["alibi"]["bias"]  # heads 2: slopes 2^(-8(h+1)/H) = 1/16, 1/256
    assert b["heads"] == [0, 1] and b["positions"] == list(range(16))
    for k, h in enumerate(b["heads"]):
        m = 2.0 ** (-8 * (h + 1) / 2)
        for i in b["positions"]:
            for j in b["positions"]:
                ref = -m * abs(i - j)
                assert abs(b["values"][k][i][j] - ref) <= 5e-4 * abs(ref), (h, i, j)
