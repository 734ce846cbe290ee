"""The HTML report in a real browser: headless Chromium (Debian `chromium`) takes a screenshot
(not blank) and dumps the DOM after the page's load event, where the report's own check script
has written how many images decoded (naturalWidth > 0); the summary tables must hold the
results' values. Without chromium this test FAILS (CI installs it): a report nobody could
open in a browser is not tested by skipping."""

import html.parser
import shutil

import numpy as np
import pytest
from matplotlib import image

from conftest import run

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  "--virtual-time-budget=20000", "--allow-file-access-from-files"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium not found: install it with `apt-get install chromium` "
                "(the report's browser test needs it; CI installs it)")


class Dom(html.parser.HTMLParser):
    """The elements the test reads: <img>, the image-check marker, summary cells."""

    def __init__(self):
        super().__init__()
        self.images, self.marker, self.cells, self.table = 0, None, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images += 1
        if a.get("id") == "image-check":
            self.marker = a
        if tag == "table" and (a.get("id") or "").startswith("summary-"):
            self.table = int(a["id"].split("-")[1])
        if tag == "td" and "data-metric" in a:
            self.cells[(self.table, a["data-label"], a["data-metric"])] = a["data-value"]


@pytest.fixture(scope="module")
def report(tiny_run, binary, tmp_path_factory):
    _, results, doc = tiny_run
    page = tmp_path_factory.mktemp("report") / "report.html"
    r = run([binary, "report", str(results), "-o", str(page)])
    assert r.returncode == 0, r.stderr
    return page, doc


def test_screenshot_is_not_blank(report, tmp_path):
    page, _ = report
    shot = tmp_path / "shot.png"
    r = run([chromium()] + CHROMIUM_FLAGS + ["--window-size=1200,1600",
                                             f"--screenshot={shot}", page.as_uri()])
    assert shot.exists(), r.stderr
    pixels = image.imread(str(shot))[:, :, :3]
    assert pixels.shape[:2] == (1600, 1200)
    # a blank page is one colour; the report's top (title, context table) has text
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert (pixels < 0.5).mean() > 0.002  # some dark (text) pixels


def test_every_image_loaded_and_tables_hold_the_results(report):
    page, doc = report
    r = run([chromium()] + CHROMIUM_FLAGS + ["--dump-dom", page.as_uri()])
    assert r.returncode == 0, r.stderr
    dom = Dom()
    dom.feed(r.stdout)
    assert dom.images > 10
    assert dom.marker is not None
    assert dom.marker.get("data-images") == str(dom.images), dom.marker
    assert dom.marker.get("data-loaded") == str(dom.images), dom.marker
    checked = 0
    for i, e in enumerate(doc["experiments"]):
        for enc in e["encoders"]:
            for name, m in enc["metrics"].items():
                shown = dom.cells[(i, enc["label"], name)]
                if m["value"] is None:
                    assert shown == "null"
                else:
                    assert float(shown) == m["value"], (i, enc["label"], name)
                checked += 1
    assert checked > 20
    assert len(dom.cells) == checked  # no cell without a metric behind it
