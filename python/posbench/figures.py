"""Figures of a posbench results document (results/README.md), as matplotlib Figure objects.

``figures(results)`` returns a list of ``Figure`` records (name, matplotlib figure, the
experiment it belongs to, a caption); plot.py saves them, report.py embeds them. Everything is
drawn from the results document alone. Per experiment type:

- every type: each curve name, all schemes overlaid and labelled (per-head curves such as
  ``mean_phi_head3`` are one figure with a line per head); axes named with units; log x (or
  symlog when x starts at 0) when x spans at least two decades, log y likewise for positive y.
  A type this module does not know (a plugin's) gets exactly these generic figures.
- long_term_decay: each rotary scheme's mean |logit| next to RoFormer's bound B(r).
- length_extrapolation: curves against length mark the training length (and a reference
  length that differs from it).
- speed: GB/s per operation next to the bandwidth probe measured with it, and the speedups.
- the results' ``snapshots`` (schema 5): positional-encoding heatmaps (additive), rotation
  angle heatmaps (rotary), attention maps (bias) and the seed's picture (additive).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import SUPPORTED_SCHEMA_VERSIONS  # noqa: E402

# figures() builds every figure before the caller saves and closes them.
matplotlib.rcParams["figure.max_open_warning"] = 0

HEAD_SUFFIX = re.compile(r"^(.*)_head(\d+)$")


class ResultsError(ValueError):
    """A results document this module cannot draw (wrong schema, not posbench's)."""


@dataclass
class Figure:
    name: str  # file stem: <experiment index>-<type>-<label>-<metric>
    figure: "matplotlib.figure.Figure"
    experiment: int | None  # index into results["experiments"]; None for snapshots
    caption: str


def check_results(results) -> None:
    if not isinstance(results, dict) or "experiments" not in results:
        raise ResultsError("not a posbench results document (no 'experiments')")
    version = results.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ResultsError(
            f"schema_version {version!r} is not one this version draws "
            f"({', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))})")


def slug(text) -> str:
    """A file-name-safe form of user text (labels, metric names)."""
    s = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("_.")
    return s or "_"


def figure_name(index, exp_type, label, metric) -> str:
    prefix = "snapshot" if index is None else f"{index:02d}"
    return "-".join([prefix, slug(exp_type), slug(label), slug(metric)])


def as_float(values):
    """JSON numbers with null -> float64 array with NaN."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def axis_label(name, unit) -> str:
    return f"{name} [{unit}]" if unit else str(name)


def spans_decades(values, decades=2.0) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size >= 2 and math.log10(v.max() / v.min()) >= decades


def set_scales(ax, xs, ys) -> None:
    """Log x where x spans decades (symlog when x holds 0), log y where positive y does."""
    x = np.concatenate([np.asarray(a, dtype=float) for a in xs]) if xs else np.array([])
    y = np.concatenate([np.asarray(a, dtype=float) for a in ys]) if ys else np.array([])
    if spans_decades(x):
        if np.nanmin(x) > 0:
            ax.set_xscale("log")
        elif np.nanmin(x) >= 0:
            ax.set_xscale("symlog", linthresh=1.0)
    yf = y[np.isfinite(y)]
    if yf.size and np.all(yf > 0) and spans_decades(yf, 3.0):
        ax.set_yscale("log")


def new_axes(title):
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig, ax


def curve_groups(experiment):
    """{metric: [(line label, encoder label, curve)]}: each curve name, per-head curves
    gathered under their common name, in first-seen order."""
    groups: dict[str, list] = {}
    for enc in experiment.get("encoders", []):
        for curve in enc.get("curves", []):
            m = HEAD_SUFFIX.match(curve["name"])
            metric = m.group(1) if m else curve["name"]
            line = f"{enc['label']} head {m.group(2)}" if m else enc["label"]
            groups.setdefault(metric, []).append((line, enc["label"], curve))
    return groups


def overlay_figure(index, experiment, metric, members, markers=()):
    """All schemes' curves `metric` on one axes, each line labelled."""
    first = members[0][2]
    fig, ax = new_axes(f"{experiment['type']}: {metric}")
    xs, ys = [], []
    for line, _, curve in members:
        x, y = as_float(curve["x"]), as_float(curve["y"])
        style = "-o" if len(x) <= 40 else "-"
        ax.plot(x, y, style, markersize=3, label=line)
        xs.append(x)
        ys.append(y)
    for k, (value, text) in enumerate(markers):  # the first (training length) dashed black
        ax.axvline(value, color="black" if k == 0 else "0.45", linestyle="--" if k == 0 else ":",
                   linewidth=1, label=text)
    set_scales(ax, xs + [np.array([v for v, _ in markers], dtype=float)], ys)
    ax.set_xlabel(axis_label(first["x_name"], first["x_unit"]))
    # Schemes of one experiment may measure in different units (logit for rotary and bias,
    # 1 for additive): all of them are named.
    units = list(dict.fromkeys(c["y_unit"] for _, _, c in members))
    ax.set_ylabel(axis_label(metric, ", ".join(units)))
    ax.legend(fontsize=7, ncol=2 if len(members) > 6 else 1)
    labels = sorted({enc for _, enc, _ in members})
    caption = f"{metric} against {first['x_name']} for " + ", ".join(labels)
    return Figure(figure_name(index, experiment["type"], "all", metric), fig, index, caption)


def generic_figures(index, experiment, markers_for=None):
    out = []
    for metric, members in curve_groups(experiment).items():
        markers = markers_for(members) if markers_for else ()
        out.append(overlay_figure(index, experiment, metric, members, markers))
    return out


def long_term_decay_figures(index, experiment):
    out = generic_figures(index, experiment)
    for enc in experiment.get("encoders", []):
        curves = {c["name"]: c for c in enc.get("curves", [])}
        if "bound" not in curves or "mean_abs_logit" not in curves:
            continue
        # The bound B(r) is relative (unit "1") while the logit is q.k/sqrt(d): two y axes, so
        # neither is read in the other's unit; what is compared is the shape (both decay).
        fig, ax = new_axes(f"long_term_decay: {enc['label']} against RoFormer's bound")
        b, m = curves["bound"], curves["mean_abs_logit"]
        ax.plot(as_float(m["x"]), as_float(m["y"]), "-o", markersize=3,
                label=f"{enc['label']} mean |logit|")
        set_scales(ax, [as_float(b["x"]), as_float(m["x"])], [])
        ax.set_xlabel(axis_label(b["x_name"], b["x_unit"]))
        ax.set_ylabel(axis_label("mean |logit|", m["y_unit"]))
        twin = ax.twinx()
        twin.plot(as_float(b["x"]), as_float(b["y"]), "--", color="black",
                  label="RoFormer bound B(r)")
        twin.set_ylabel(axis_label("B(r)", b["y_unit"]))
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], fontsize=7)
        out.append(Figure(figure_name(index, experiment["type"], enc["label"], "decay_vs_bound"),
                          fig, index, f"{enc['label']}: mean |logit(r)| and RoFormer's bound"))
    return out


def length_extrapolation_figures(index, experiment):
    train = experiment.get("params", {}).get("train_length")
    refs = {}
    for enc in experiment.get("encoders", []):
        ref = enc.get("extra", {}).get("reference", {})
        if isinstance(ref.get("length"), (int, float)) and ref["length"] != train:
            refs[ref["length"]] = enc["label"]

    def markers(members):
        if members[0][2].get("x_name") != "length":
            return ()
        out = [] if train is None else [(train, f"training length {train}")]
        out += [(length, f"reference length {length} ({label})")
                for length, label in sorted(refs.items())]
        return out

    return generic_figures(index, experiment, markers)


def speed_records(experiment):
    """[(encoder label, benchmark record)] in results order."""
    return [(enc["label"], b) for enc in experiment.get("encoders", [])
            for b in enc.get("extra", {}).get("benchmarks", [])]


def bench_short_name(label, b):
    # The record's name holds the shape in the experiment's order ("rope/apply/512x8x64/...");
    # "shape" is an object, whose keys JSON sorts.
    parts = str(b.get("name", "")).split("/")
    shape = parts[2] if len(parts) > 2 else "x".join(str(v) for v in b.get("shape", {}).values())
    return f"{label} {shape} t{b.get('threads')} {b.get('implementation')}"


def median(stat):
    return stat.get("median") if isinstance(stat, dict) else stat


def speed_figures(index, experiment):
    out = generic_figures(index, experiment)
    records = speed_records(experiment)
    for op in dict.fromkeys(b.get("operation") for _, b in records):
        rows = [(lab, b) for lab, b in records if b.get("operation") == op]
        names = [bench_short_name(lab, b) for lab, b in rows]
        gbs = as_float([median(b.get("gb_per_s")) for _, b in rows])
        probe = as_float([b.get("probe", {}).get("gb_per_s") for _, b in rows])
        y = np.arange(len(rows))
        fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.28 * len(rows)), layout="constrained")
        ax.barh(y - 0.2, gbs, height=0.4, label=f"{op} (median)")
        ax.barh(y + 0.2, probe, height=0.4, color="0.7", label="bandwidth probe next to it")
        ax.set_yticks(y, names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("throughput [GB/s]")
        ax.set_title(f"speed: {op}, GB/s next to the memory-bandwidth probe", fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(fontsize=7)
        out.append(Figure(figure_name(index, "speed", "all", f"{op}_gb_per_s"), fig, index,
                          f"{op}: GB/s of each benchmark (median) and of its probe"))
        for key in ("speedup_vs_reference", "speedup_vs_1_thread", "speedup_vs_materialized"):
            sel = [(n, b[key]) for n, (_, b) in zip(names, rows)
                   if isinstance(b.get(key), (int, float))]
            if not sel:
                continue
            fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.28 * len(sel)), layout="constrained")
            ax.barh(np.arange(len(sel)), [v for _, v in sel])
            ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
            ax.set_yticks(np.arange(len(sel)), [n for n, _ in sel], fontsize=7)
            ax.invert_yaxis()
            ax.set_xlabel(f"{key} [x]")
            ax.set_title(f"speed: {op}, {key}", fontsize=10)
            ax.grid(True, axis="x", alpha=0.3)
            out.append(Figure(figure_name(index, "speed", "all", f"{op}_{key}"), fig, index,
                              f"{op}: {key} (1 = no gain)"))
    return out


def heatmap(title, values, xlabel, ylabel, cbar, cmap="viridis", extent=None):
    fig, ax = plt.subplots(figsize=(6.0, 4.6), layout="constrained")
    im = ax.imshow(values, aspect="auto", origin="upper", cmap=cmap, interpolation="nearest",
                   extent=extent)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, label=cbar)
    return fig


def span(idx):
    """imshow extent edges for sample indices idx (evenly spaced)."""
    idx = list(idx)
    step = (idx[-1] - idx[0]) / (len(idx) - 1) if len(idx) > 1 else 1
    return idx[0] - step / 2, idx[-1] + step / 2


def causal_softmax(bias):
    """Attention weights of the bias alone (zero content logits), causal: row i over j <= i.
    bias: [n, n] -> [n, n]. Exact for the snapshot's bias maps, whose positions are the
    contiguous 0 .. n-1 (every key j <= i is there)."""
    b = np.array(bias, dtype=float)
    n = b.shape[0]
    b[np.triu(np.ones((n, n), dtype=bool), 1)] = -np.inf
    b -= b.max(axis=1, keepdims=True)
    w = np.exp(b)
    return w / w.sum(axis=1, keepdims=True)


def snapshot_figures(snap):
    out = []
    label = snap.get("label", snap.get("name", "?"))
    if "table" in snap:
        t = snap["table"]
        x0, x1 = span(t["channels"])
        y0, y1 = span(t["positions"])
        fig = heatmap(f"{label}: PE(p) (positions x channels)", as_float_2d(t["values"]),
                      "channel", "position p", "PE(p)[c] [1]", cmap="RdBu_r",
                      extent=(x0, x1, y1, y0))
        out.append(Figure(figure_name(None, "snapshot", label, "pe_heatmap"), fig, None,
                          f"{label}: positional-encoding table"))
    if "seed_picture" in snap:
        s = snap["seed_picture"]
        pts = as_float_2d(s["points"])
        fig, ax = plt.subplots(figsize=(6.0, 4.6), layout="constrained")
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=as_float(s["position"]), s=6, cmap="viridis")
        r = s.get("explained_variance_ratio", [None, None])
        ax.set_xlabel(f"principal component 1 [1] ({fmt_ratio(r[0])} of variance)")
        ax.set_ylabel(f"principal component 2 [1] ({fmt_ratio(r[1])} of variance)")
        ax.set_title(f"{label}: e_w + PE(p), {s.get('tokens')} random tokens", fontsize=10)
        fig.colorbar(sc, ax=ax, label="position p [positions]")
        out.append(Figure(figure_name(None, "snapshot", label, "seed_picture"), fig, None,
                          f"{label}: first two principal components of e_w + PE(p), "
                          "coloured by position"))
    if "angles" in snap:
        a = snap["angles"]
        x0, x1 = span(a["pairs"])
        y0, y1 = span(a["positions"])
        fig = heatmap(f"{label}: rotation angle (positions x pairs)", as_float_2d(a["values"]),
                      "pair i", "position p", "angle, wrapped to (-pi, pi] [rad]",
                      cmap="twilight", extent=(x0, x1, y1, y0))
        out.append(Figure(figure_name(None, "snapshot", label, "angle_heatmap"), fig, None,
                          f"{label}: rotation angle of each pair"))
    if "bias" in snap:
        b = snap["bias"]
        heads = b["heads"]
        p0, p1 = span(b["positions"])
        fig, axes = plt.subplots(2, len(heads), figsize=(2.6 * len(heads) + 1, 5.4),
                                 layout="constrained", squeeze=False)
        for k, h in enumerate(heads):
            m = as_float_2d(b["values"][k])
            im = axes[0][k].imshow(m, cmap="magma", interpolation="nearest",
                                   extent=(p0, p1, p1, p0))
            axes[0][k].set_title(f"head {h}: bias", fontsize=9)
            fig.colorbar(im, ax=axes[0][k], label="b_h(i, j) [logit]")
            im = axes[1][k].imshow(causal_softmax(m), cmap="viridis", interpolation="nearest",
                                   extent=(p0, p1, p1, p0))
            axes[1][k].set_title(f"head {h}: causal softmax", fontsize=9)
            fig.colorbar(im, ax=axes[1][k], label="attention weight [1]")
            for row in (0, 1):
                axes[row][k].set_xlabel("key position j")
                axes[row][k].set_ylabel("query position i")
        fig.suptitle(f"{label}: attention maps of the bias", fontsize=10)
        out.append(Figure(figure_name(None, "snapshot", label, "attention_map"), fig, None,
                          f"{label}: bias b_h(i, j) and the causal attention it alone gives"))
    return out


def as_float_2d(rows):
    return np.array([[math.nan if v is None else float(v) for v in r] for r in rows],
                    dtype=float)


def fmt_ratio(r):
    return "?" if r is None else f"{100 * r:.1f}%"


def embedding_interference_figures(index, experiment):
    """The seed's picture per scheme (e_w + PE(t) over a sentence: its first two raw components
    and its first two principal components, coloured by position) and one stacked bar per
    scheme of the logit-variance shares, besides the generic curves."""
    out = generic_figures(index, experiment)
    kind = experiment["type"]
    for enc in experiment.get("encoders", []):
        pic = (enc.get("extra") or {}).get("seed_picture")
        if not pic:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.2), layout="constrained")
        pos = as_float(pic["positions"])
        panels = [(pic["raw"]["component_0"], pic["raw"]["component_1"], "component 0",
                   "component 1", "first two components (the seed's figure)"),
                  (pic["principal"]["pc_1"], pic["principal"]["pc_2"], "PC 1", "PC 2",
                   "first two principal components")]
        for ax, (x, y, xl, yl, title) in zip(axes, panels):
            sc = ax.scatter(as_float(x), as_float(y), c=pos, cmap="viridis", s=12)
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            ax.set_title(title, fontsize=9)
            ax.grid(True, alpha=0.3)
        fig.colorbar(sc, ax=axes, label="position")
        fig.suptitle(f"{kind}: {enc['label']}: {pic.get('vector', 'x_t')} by position",
                     fontsize=10)
        out.append(Figure(figure_name(index, kind, enc["label"], "seed_picture"), fig, index,
                          f"{enc['label']}: {pic.get('vector', 'x_t')} over a sentence, "
                          "coloured by position"))
    bars = [(enc["label"], enc["extra"]["logit_variance_shares"])
            for enc in experiment.get("encoders", [])
            if (enc.get("extra") or {}).get("logit_variance_shares")]
    if bars:
        fig, ax = new_axes(f"{kind}: share of the logit variance by term")
        terms = list(dict.fromkeys(t for _, b in bars for t in b["terms"]))
        colours = {t: plt.cm.tab10(i % 10) for i, t in enumerate(terms)}
        drawn = set()
        for i, (label, b) in enumerate(bars):
            bottom = 0.0
            for term, share in zip(b["terms"], b["shares"]):
                value = 0.0 if share is None else float(share)
                ax.bar(i, value, bottom=bottom, color=colours[term],
                       label=None if term in drawn else term)
                drawn.add(term)
                bottom += value
        ax.set_xticks(range(len(bars)), [label for label, _ in bars], rotation=30, ha="right")
        ax.set_ylabel(axis_label("share of Var(logit)", "1"))
        ax.legend(fontsize=7)
        out.append(Figure(figure_name(index, kind, "all", "logit_variance_shares"), fig, index,
                          "share of the logit variance per term, one bar per scheme"))
    return out


BUILDERS = {
    "embedding_interference": embedding_interference_figures,
    "long_term_decay": long_term_decay_figures,
    "length_extrapolation": length_extrapolation_figures,
    "speed": speed_figures,
}


def experiment_figures(index, experiment):
    return BUILDERS.get(experiment["type"], generic_figures)(index, experiment)


def figures(results):
    """Every figure of the results document, experiments first, then snapshots."""
    check_results(results)
    out = []
    for i, e in enumerate(results["experiments"]):
        out += experiment_figures(i, e)
    for snap in results.get("snapshots", []):
        out += snapshot_figures(snap)
    # Two labels that slug alike must not overwrite each other's file.
    seen = {}
    for f in out:
        n = seen.get(f.name, 0)
        seen[f.name] = n + 1
        if n:
            f.name = f"{f.name}-{n + 1}"
    return out
