"""python/posbench/figures.py on hand-written results: the drawn data are read back from the
matplotlib objects (Line2D, bars, images, scatter) and compared with the document, never
pixels. Also the plot module's determinism and its argument errors."""

import copy
import filecmp
import math
import os

import numpy as np
import pytest

from posbench import figures as F
from posbench import plot as P


def curve(name, x, y, x_name="distance", x_unit="positions", y_unit="1"):
    return {"name": name, "x_name": x_name, "x_unit": x_unit, "y_unit": y_unit, "x": x, "y": y}


def encoder(label, curves, family="rotary", metrics=None, status="ok", note="", extra=None):
    return {"name": label, "label": label, "family": family, "status": status, "note": note,
            "metrics": metrics or {}, "curves": curves, "extra": extra or {}}


def document(experiments, snapshots=()):
    return {"schema_version": 5, "experiments": experiments, "snapshots": list(snapshots),
            "config": {"name": "t"}, "context": {}}


DECAY = {
    "type": "long_term_decay", "params": {},
    "encoders": [
        encoder("rope", [curve("bound", [0, 1, 10, 100], [8.0, 7.0, 3.0, 1.0]),
                         curve("mean_abs_logit", [0, 1, 10, 100], [4.0, 3.5, None, 0.5],
                               y_unit="logit")]),
        encoder("alibi", [curve("mean_abs_logit_head0", [0, 1, 10, 100], [0, 1, 2, 3]),
                          curve("mean_abs_logit_head1", [0, 1, 10, 100], [0, 2, 4, 6])],
                family="bias"),
    ]}


def by_name(figs):
    return {f.name: f for f in figs}


def lines(fig):
    return {ln.get_label(): ln for ln in fig.axes[0].get_lines()}


def test_every_curve_overlaid_with_its_label_and_data():
    figs = by_name(F.figures(document([DECAY])))
    fig = figs["00-long_term_decay-all-mean_abs_logit"].figure
    got = lines(fig)
    assert set(got) == {"rope", "alibi head 0", "alibi head 1"}
    np.testing.assert_array_equal(got["rope"].get_xdata(), [0, 1, 10, 100])
    # null is drawn as a gap (NaN), every other value exactly as in the results
    np.testing.assert_array_equal(got["rope"].get_ydata(), [4.0, 3.5, math.nan, 0.5])
    np.testing.assert_array_equal(got["alibi head 1"].get_ydata(), [0, 2, 4, 6])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "distance [positions]"
    assert ax.get_ylabel() == "mean_abs_logit [logit, 1]"  # every unit among the schemes
    assert ax.get_xscale() == "symlog"  # x spans 2 decades and holds 0
    assert "00-long_term_decay-all-bound" in figs


def test_decay_figure_has_roformer_bound():
    figs = by_name(F.figures(document([DECAY])))
    fig = figs["00-long_term_decay-rope-decay_vs_bound"].figure
    # the bound (unit 1) is on its own y axis, the logit on the first
    got = {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()}
    np.testing.assert_array_equal(got["RoFormer bound B(r)"].get_ydata(), [8.0, 7.0, 3.0, 1.0])
    np.testing.assert_array_equal(got["rope mean |logit|"].get_ydata(), [4.0, 3.5, math.nan, 0.5])
    assert fig.axes[0].get_ylabel() == "mean |logit| [logit]"
    assert fig.axes[1].get_ylabel() == "B(r) [1]"
    assert "00-long_term_decay-alibi-decay_vs_bound" not in figs  # no bound for alibi


def test_scales_follow_the_span_of_x_and_y():
    exp = {"type": "precision", "params": {}, "encoders": [
        encoder("a", [curve("err", [1, 10, 1000, 1e6], [1e-9, 1e-8, 1e-6, 1e-3], "position")]),
        encoder("b", [curve("lin", [1, 2, 3], [1, 2, 3], "position")])]}
    figs = by_name(F.figures(document([exp])))
    ax = figs["00-precision-all-err"].figure.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    ax = figs["00-precision-all-lin"].figure.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")


def test_length_extrapolation_marks_the_training_length():
    exp = {"type": "length_extrapolation", "params": {"train_length": 512}, "encoders": [
        encoder("rope", [curve("normalized_entropy", [512, 1024, 2048], [0.9, 0.8, 0.7],
                               "length")], extra={"reference": {"length": 512}}),
        encoder("yarn", [curve("normalized_entropy", [512, 1024, 2048], [0.9, 0.85, 0.8],
                               "length")], extra={"reference": {"length": 4096}})]}
    got = lines(F.figures(document([exp]))[0].figure)
    np.testing.assert_array_equal(got["training length 512"].get_xdata(), [512, 512])
    np.testing.assert_array_equal(got["reference length 4096 (yarn)"].get_xdata(), [4096, 4096])
    np.testing.assert_array_equal(got["yarn"].get_ydata(), [0.9, 0.85, 0.8])


def test_unknown_experiment_type_gets_generic_curves():
    exp = {"type": "my_plugin_experiment", "params": {}, "encoders": [
        encoder("x", [curve("score", [1, 2], [5, 6], "step", "1", "points")])]}
    (fig,) = F.figures(document([exp]))
    assert fig.name == "00-my_plugin_experiment-all-score"
    np.testing.assert_array_equal(lines(fig.figure)["x"].get_ydata(), [5, 6])
    assert fig.figure.axes[0].get_ylabel() == "score [points]"


def bench(op, impl, threads, gbs, probe, **extra):
    return dict({"name": f"rope/{op}/4x8/threads:{threads}/{impl}",
                 "operation": op, "implementation": impl, "threads": threads,
                 "shape": {"dim": 8, "seq": 4}, "gb_per_s": {"median": gbs, "all": [gbs]},
                 "probe": {"gb_per_s": probe}}, **extra)


def test_speed_bars_next_to_probe_and_speedups():
    exp = {"type": "speed", "params": {}, "encoders": [encoder("rope", [], extra={"benchmarks": [
        bench("apply", "reference", 1, 2.0, 10.0),
        bench("apply", "simd", 1, 6.0, 11.0, speedup_vs_reference=3.0),
        bench("table", "simd", 2, 1.5, 7.0, speedup_vs_1_thread=1.25)]})]}
    figs = by_name(F.figures(document([exp])))
    ax = figs["00-speed-all-apply_gb_per_s"].figure.axes[0]
    op_bars, probe_bars = ax.containers
    assert [b.get_width() for b in op_bars] == [2.0, 6.0]
    assert [b.get_width() for b in probe_bars] == [10.0, 11.0]
    assert ax.get_xlabel() == "throughput [GB/s]"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rope 4x8 t1 reference",
                                                            "rope 4x8 t1 simd"]
    ax = figs["00-speed-all-apply_speedup_vs_reference"].figure.axes[0]
    assert [b.get_width() for b in ax.containers[0]] == [3.0]
    ax = figs["00-speed-all-table_speedup_vs_1_thread"].figure.axes[0]
    assert [b.get_width() for b in ax.containers[0]] == [1.25]


SNAPSHOTS = [
    {"name": "sinusoidal", "label": "sin", "family": "additive", "dim": 2,
     "table": {"positions": [0, 5, 10], "channels": [0, 1],
               "values": [[0.0, 1.0], [0.5, -0.25], [None, 0.75]]},
     "seed_picture": {"tokens": 2, "token": [0, 0, 1, 1], "position": [0, 10, 0, 10],
                      "points": [[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5], [0.0, 0.0]],
                      "explained_variance_ratio": [0.6, 0.3]}},
    {"name": "rope", "label": "rope", "family": "rotary",
     "angles": {"positions": [0, 1], "pairs": [0, 1, 2], "values": [[0, 0, 0], [1, 0.1, 0.01]]}},
    {"name": "alibi", "label": "alibi", "family": "bias",
     "bias": {"positions": [0, 1, 2], "heads": [0, 3],
              "values": [[[0, -1, -2], [-1, 0, -1], [-2, -1, 0]],
                         [[0, -2, -4], [-2, 0, -2], [-4, -2, 0]]]}},
]


def test_snapshot_heatmaps_hold_the_snapshot_values():
    figs = by_name(F.figures(document([], SNAPSHOTS)))
    im = figs["snapshot-snapshot-sin-pe_heatmap"].figure.axes[0].get_images()[0]
    np.testing.assert_array_equal(np.ma.filled(im.get_array().astype(float), np.nan),
                                  [[0.0, 1.0], [0.5, -0.25], [np.nan, 0.75]])
    # extent: channel edges -0.5 .. 1.5, positions 0 .. 10 sampled every 5 -> -2.5 .. 12.5
    assert tuple(im.get_extent()) == (-0.5, 1.5, 12.5, -2.5)
    im = figs["snapshot-snapshot-rope-angle_heatmap"].figure.axes[0].get_images()[0]
    np.testing.assert_array_equal(im.get_array(), [[0, 0, 0], [1, 0.1, 0.01]])


def test_seed_picture_points_coloured_by_position():
    fig = by_name(F.figures(document([], SNAPSHOTS)))["snapshot-snapshot-sin-seed_picture"]
    sc = fig.figure.axes[0].collections[0]
    np.testing.assert_array_equal(sc.get_offsets(), SNAPSHOTS[0]["seed_picture"]["points"])
    np.testing.assert_array_equal(sc.get_array(), [0, 10, 0, 10])
    assert "60.0% of variance" in fig.figure.axes[0].get_xlabel()


def test_bias_attention_maps():
    fig = by_name(F.figures(document([], SNAPSHOTS)))["snapshot-snapshot-alibi-attention_map"]
    axes = fig.figure.axes
    top = [a for a in axes if a.get_title() == "head 3: bias"][0]
    np.testing.assert_array_equal(top.get_images()[0].get_array(),
                                  SNAPSHOTS[2]["bias"]["values"][1])
    soft = [a for a in axes if a.get_title() == "head 0: causal softmax"][0]
    w = soft.get_images()[0].get_array()
    # row i: softmax over j <= i of -|i - j| (closed form), zero above the diagonal
    e = math.e
    expected = [[1, 0, 0],
                [1 / (1 + e), e / (1 + e), 0],
                [1 / (1 + e + e * e), e / (1 + e + e * e), e * e / (1 + e + e * e)]]
    np.testing.assert_allclose(w, expected, rtol=1e-15, atol=0)


def test_names_are_safe_and_unique():
    exp = {"type": "symmetry", "params": {}, "encoders": [
        encoder("a/b", [curve("m", [1], [1])])]}
    figs = F.figures(document([exp, copy.deepcopy(exp)], [dict(SNAPSHOTS[1], label="../x y")]))
    names = [f.name for f in figs]
    assert names == ["00-symmetry-all-m", "01-symmetry-all-m",
                     "snapshot-snapshot-x_y-angle_heatmap"]
    assert F.slug("<b>alibi & \"co\"</b>") == "b_alibi_co_b"


def test_refuses_other_schema_versions():
    with pytest.raises(F.ResultsError, match="schema_version 99"):
        F.figures({"schema_version": 99, "experiments": []})
    with pytest.raises(F.ResultsError, match="not a posbench results document"):
        F.figures({"hello": 1})


def test_files_are_byte_identical_across_runs(tmp_path):
    doc = document([DECAY], SNAPSHOTS)
    a = P.write_figures(doc, str(tmp_path / "a"), ["png", "pdf", "svg"])
    b = P.write_figures(doc, str(tmp_path / "b"), ["png", "pdf", "svg"])
    assert len(a) == 3 * 7 and [os.path.basename(p) for p in a] == [os.path.basename(p)
                                                                      for p in b]
    for pa, pb in zip(a, b):
        assert filecmp.cmp(pa, pb, shallow=False), pa
    svg = open(a[[p.endswith(".svg") for p in a].index(True)]).read()
    assert "<dc:date>" not in svg
    pdf = open(a[[p.endswith(".pdf") for p in a].index(True)], "rb").read()
    assert b"CreationDate" not in pdf


def test_format_errors():
    with pytest.raises(P.UsageError, match="--format: got 'png,gif'"):
        P.parse_formats("png,gif")
    assert P.parse_formats("svg, png,svg") == ["svg", "png"]


INTERFERENCE = {
    "type": "embedding_interference", "params": {},
    "encoders": [
        {**encoder("sinusoidal", []),
         "extra": {"seed_picture": {"vector": "e_w + PE(t)", "positions": [0, 1, 2],
                                    "tokens": [5, 9, 2],
                                    "raw": {"component_0": [0.1, 0.2, 0.3],
                                            "component_1": [1.0, 0.5, -0.5]},
                                    "principal": {"pc_1": [-1.0, 0.0, 1.0],
                                                  "pc_2": [0.2, -0.4, 0.2],
                                                  "explained_variance_ratio": [0.7, 0.2]}},
                   "logit_variance_shares": {"terms": ["content-content", "content-position",
                                                       "position-content",
                                                       "position-position"],
                                             "shares": [0.1, 0.2, 0.3, 0.4]}}},
        {**encoder("alibi", [], family="bias"),
         "extra": {"seed_picture": None,
                   "logit_variance_shares": {"terms": ["content", "position (bias)"],
                                             "shares": [0.25, 0.75]}}},
    ]}


def test_embedding_interference_seed_picture_and_stacked_shares():
    figs = by_name(F.figures(document([INTERFERENCE])))
    pic = figs["00-embedding_interference-sinusoidal-seed_picture"].figure
    raw, principal = pic.axes[0], pic.axes[1]
    np.testing.assert_array_equal(raw.collections[0].get_offsets(),
                                  [[0.1, 1.0], [0.2, 0.5], [0.3, -0.5]])
    np.testing.assert_array_equal(principal.collections[0].get_offsets(),
                                  [[-1.0, 0.2], [0.0, -0.4], [1.0, 0.2]])
    np.testing.assert_array_equal(raw.collections[0].get_array(), [0, 1, 2])  # colour = position
    assert "00-embedding_interference-alibi-seed_picture" not in figs  # bias: no picture
    ax = figs["00-embedding_interference-all-logit_variance_shares"].figure.axes[0]
    # one segment per term, stacked: bottoms are the running sums of the shares
    rects = [(r.get_x() + r.get_width() / 2, r.get_y(), r.get_height()) for r in ax.patches]
    np.testing.assert_allclose(rects, [(0, 0.0, 0.1), (0, 0.1, 0.2), (0, 0.3, 0.3),
                                       (0, 0.6, 0.4), (1, 0.0, 0.25), (1, 0.25, 0.75)])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sinusoidal", "alibi"]
