"""One self-contained HTML page of a posbench results file.

    python3 -m posbench.report RESULTS.json -o report.html

The page needs nothing but itself: figures are PNG data URIs, the style is inline, nothing is
fetched. It holds the run's context (machine, build, git, seed, threads), the config as given,
one section per experiment (params, a summary table of every metric per scheme, notes for
schemes that were not applicable or unsupported, the figures) and the schemes' pictures
(snapshots). Every text taken from the results (labels, notes, names: user text) is escaped.

Summary cells carry the exact value in ``data-value`` (``repr`` of the float, ``null`` for a
metric that could not be computed) beside the shown 6 significant digits, and
``data-metric`` / ``data-label``, so a program can check the page against the results.
Exit codes: 0 ok, 2 a problem with the arguments or the results file, 1 anything else.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import os
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .figures import ResultsError, check_results, experiment_figures, snapshot_figures  # noqa
from .plot import METADATA, UsageError, deterministic_style, load_results  # noqa: E402

STYLE = """
body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;font-family:monospace}
pre{background:#f4f4f4;padding:.6em;overflow:auto;max-height:24em;font-size:12px}
figure{display:inline-block;margin:.4em;vertical-align:top;max-width:48%}
figure img{max-width:100%}
figcaption{font-size:12px;color:#555}
.note{color:#8a4b00}
"""

# After load: how many images decoded (naturalWidth > 0), written into the page itself, so a
# headless browser's DOM dump (or a reader) can tell whether every figure displays.
CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  var m = document.getElementById('image-check');
  m.setAttribute('data-images', imgs.length);
  m.setAttribute('data-loaded', ok);
  m.textContent = ok + ' of ' + imgs.length + ' figures displayed';
});
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def format_number(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def data_value(v) -> str:
    return "null" if v is None else repr(v)


def png_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata=METADATA["png"])
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(f) -> str:
    return (f'<figure id="fig-{esc(f.name)}"><img alt="{esc(f.caption)}" '
            f'src="{png_data_uri(f.figure)}"><figcaption>{esc(f.caption)}</figcaption></figure>')


def key_value_table(pairs, css_id) -> str:
    rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
        for k, v in pairs)
    return f'<table id="{esc(css_id)}">{rows}</table>'


def summary_table(index, experiment) -> str:
    encoders = experiment.get("encoders", [])
    metrics = list(dict.fromkeys(m for e in encoders for m in e.get("metrics", {})))
    if not metrics:
        return "<p>No metrics.</p>"
    head = "".join(f"<th>{esc(e['label'])}</th>" for e in encoders)
    rows = []
    for name in metrics:
        units = [e["metrics"][name].get("unit") for e in encoders if name in e.get("metrics", {})]
        cells = []
        for e in encoders:
            m = e.get("metrics", {}).get(name)
            if m is None:
                cells.append('<td class="num"></td>')
                continue
            v = m.get("value")
            unit = "" if m.get("unit") == units[0] else f" {m.get('unit')}"
            cells.append(f'<td class="num" data-metric="{esc(name)}" data-label="{esc(e["label"])}"'
                         f' data-value="{esc(data_value(v))}">{esc(format_number(v) + unit)}</td>')
        rows.append(f"<tr><th>{esc(name)} [{esc(units[0])}]</th>{''.join(cells)}</tr>")
    return (f'<table class="summary" id="summary-{index}"><tr><th>metric [unit]</th>{head}</tr>'
            f'{"".join(rows)}</table>')


def notes_html(experiment) -> str:
    items = []
    for e in experiment.get("encoders", []):
        status, note = e.get("status", "ok"), e.get("note", "")
        if status != "ok":
            items.append(f'<li class="note"><b>{esc(e["label"])}</b>: {esc(status)}'
                         f'{" — " + esc(note) if note else ""}</li>')
        elif note:
            items.append(f'<li><b>{esc(e["label"])}</b>: {esc(note)}</li>')
        for na in e.get("extra", {}).get("not_applicable", []) or []:
            items.append(f'<li class="note"><b>{esc(e["label"])}</b>: not applicable — '
                         f'{esc(na)}</li>')
    return f'<ul class="notes">{"".join(items)}</ul>' if items else ""


def experiment_section(index, experiment) -> str:
    title = f"{index}. {experiment.get('type')} ({experiment.get('path', '')})"
    figs = "".join(figure_html(f) for f in experiment_figures(index, experiment))
    params = json.dumps(experiment.get("params", {}), indent=1, sort_keys=True)
    return (f'<section id="experiment-{index}"><h2>{esc(title)}</h2>'
            f'<p>wall time {esc(format_number(experiment.get("wall_seconds")))} s, '
            f'seed {esc(experiment.get("seed"))}</p>'
            f'<details><summary>params</summary><pre>{esc(params)}</pre></details>'
            f'{summary_table(index, experiment)}{notes_html(experiment)}'
            f'<div class="figures">{figs}</div></section>')


def snapshots_section(results) -> str:
    parts = []
    for snap in results.get("snapshots", []):
        used = ", ".join(f"{u.get('label')} (experiment {u.get('experiment')})"
                         for u in snap.get("used_by", []))
        note = f'<p class="note">{esc(snap["note"])}</p>' if snap.get("note") else ""
        figs = "".join(figure_html(f) for f in snapshot_figures(snap))
        parts.append(f'<h3>{esc(snap.get("label"))} ({esc(snap.get("name"))}, '
                     f'{esc(snap.get("family"))})</h3><p>used by {esc(used)}; dim '
                     f'{esc(snap.get("dim"))}</p>{note}<div class="figures">{figs}</div>')
    if not parts:
        return ""
    return f'<section id="snapshots"><h2>Schemes pictured</h2>{"".join(parts)}</section>'


def context_pairs(results):
    ctx = results.get("context", {})
    pairs = [(k, v) for k, v in ctx.items()]
    pairs += [("seed", results.get("seeds", {}).get("config")), ("threads", results.get("threads")),
              ("schema_version", results.get("schema_version")),
              ("posbench_version", results.get("posbench_version")),
              ("total_wall_seconds", results.get("total_wall_seconds"))]
    return pairs


def render(results, source_name="results") -> str:
    check_results(results)
    deterministic_style()
    name = results.get("config", {}).get("name", "") if isinstance(results.get("config"), dict) else ""
    sections = "".join(experiment_section(i, e) for i, e in enumerate(results["experiments"]))
    config = json.dumps(results.get("config"), indent=2)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>posbench report: {esc(name)}</title><style>{STYLE}</style></head><body>"
        f"<h1>posbench report: {esc(name)}</h1><p>from {esc(source_name)}</p>"
        '<p id="image-check" data-images="" data-loaded=""></p>'
        f'<h2>Run context</h2>{key_value_table(context_pairs(results), "context")}'
        f'<h2>Config as given</h2><pre id="config">{esc(config)}</pre>'
        f"{sections}{snapshots_section(results)}"
        f"<script>{CHECK_SCRIPT}</script></body></html>\n")


def write(results, path):
    """posbench.report(results, path): the self-contained HTML page of a results document (a
    dict, or the path of a results file) written to path (atomically), as `posbench report`
    writes it; returns path. A document this module cannot draw raises ValueError."""
    try:
        if isinstance(results, dict):
            doc, name = results, "results"
        else:
            doc, name = load_results(os.fspath(results)), os.path.basename(os.fspath(results))
    except UsageError as e:
        raise ValueError(str(e)) from None
    page = render(doc, name)
    tmp = os.fspath(path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return path


class _CallableModule(types.ModuleType):
    """This module is also the function posbench.report(results, path) (write)."""

    def __call__(self, results, path):
        return write(results, path)


sys.modules[__name__].__class__ = _CallableModule


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="posbench report", description=__doc__.split("\n")[0])
    ap.add_argument("results", metavar="RESULTS.json")
    ap.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file")
    args = ap.parse_args(argv)
    try:
        results = load_results(args.results)
        page = render(results, os.path.basename(args.results))
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, args.output)
    except (UsageError, ResultsError) as e:
        print(f"posbench: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"posbench: error: -o: {args.output}: cannot write it ({e.strerror})",
              file=sys.stderr)
        return 2
    print(f"report: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
