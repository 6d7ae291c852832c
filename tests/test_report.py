"""The report: one self-contained HTML page, its numbers those of the analysis functions."""

from __future__ import annotations

import html.parser
import json
import os
import pathlib
import shutil
import warnings

import pytest

from mesa_batch import BatchRunner, Integer, Results, RunFailedWarning, full_factorial, saltelli
from mesa_batch.analysis import aggregate
from mesa_batch.report import report
from mesa_batch.store.session import Lock
from tests.models import CounterModel, MoneyModel

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE_BROWSER = os.environ.get("MESA_BATCH_REQUIRE_BROWSER") == "1"
ARTIFACTS = pathlib.Path(os.environ.get("MESA_BATCH_ARTIFACTS", "artifacts"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "store"
    configs = full_factorial(
        MoneyModel,
        {"n": [5, 10, 20], "width": [5, 10]},
        iterations=3,
        max_steps=10,
        data_collection_period=1,
        seed=3,
    )
    BatchRunner(configs, display_progress=False, store=path).run()
    return path


class Cells(html.parser.HTMLParser):
    """The tables of a page: per table, its classes, data attributes and cells."""

    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"attrs": attrs, "head": [], "rows": []})
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = {"tag": tag, "value": attrs.get("data-value"), "text": ""}

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            table = self.tables[-1]
            if all(c["tag"] == "th" for c in self.row):
                table["head"] = [c["text"] for c in self.row]
            else:
                table["rows"].append(self.row)
            self.row = None


def parse(path: pathlib.Path) -> list[dict]:
    parser = Cells()
    parser.feed(path.read_text())
    return parser.tables


def test_the_report_is_self_contained_and_small(store, tmp_path):
    page = report(store, tmp_path / "report.html")
    text = page.read_text()
    assert page.stat().st_size < 2_000_000
    assert "<script" not in text
    for attribute in ("src=", "href=", "@import", "url("):
        assert f"{attribute}http" not in text.replace('"', "").replace("'", "")
    for section in ("The experiment", "Run status", "Outcome: Gini", "Sensitivity"):
        assert section in text
    assert text.count("<svg") >= 3  # run times, time series, response curves


def test_the_numbers_are_those_of_aggregate(store, tmp_path):
    page = report(store, tmp_path / "report.html", outcomes=["Gini"])
    (table,) = [t for t in parse(page) if t["attrs"].get("class") == "aggregate"]
    expected = aggregate(Results.open(store), "Gini")
    head = table["head"]
    assert head[:3] == ["point", "n (parameter)", "width"]  # n is also a statistic
    assert len(table["rows"]) == len(expected)
    by_point = expected.set_index("point")
    for row in table["rows"]:
        values = dict(zip(head, row, strict=True))
        want = by_point.loc[int(float(values["point"]["value"]))]
        for name in ("n", "mean", "std", "ci_low", "ci_high"):
            assert float(values[name]["value"]) == pytest.approx(float(want[name]), rel=1e-12)


def test_store_text_is_escaped(store, tmp_path):
    crafted = tmp_path / "crafted"
    shutil.copytree(store, crafted)
    meta = json.loads((crafted / "store.json").read_text())
    meta["host"] = "<script>alert(1)</script>"
    (crafted / "store.json").write_text(json.dumps(meta))
    text = report(crafted, tmp_path / "r.html").read_text()
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_a_store_being_written_says_so(store, tmp_path):
    lock = Lock(store)
    lock.acquire()
    try:
        text = report(store, tmp_path / "r.html").read_text()
    finally:
        lock.release()
    assert "This store is being written now." in text


def test_failures_are_grouped_with_a_reproduction_command(tmp_path):
    configs = full_factorial(CounterModel, {"fail": [None, "step", "step"]}, max_steps=4, seed=1)
    with pytest.warns(RunFailedWarning):
        results = BatchRunner(configs, display_progress=False, store=tmp_path / "s").run()
    page = report(results, tmp_path / "r.html")
    (table,) = [t for t in parse(page) if t["attrs"].get("class") == "failures"]
    (row,) = table["rows"]
    cells = [c["text"] for c in row]
    assert cells[:3] == ["run", "ZeroDivisionError", "2"]
    assert cells[4].startswith("mesa-batch rerun ")


def test_a_saltelli_store_gets_sobol_indices(tmp_path):
    configs = saltelli(
        MoneyModel, {"n": Integer(5, 20), "width": Integer(3, 8)}, 8, max_steps=3, seed=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SALib: few samples
        BatchRunner(configs, display_progress=False, store=tmp_path / "s").run()
        text = report(tmp_path / "s", tmp_path / "r.html", outcomes=["Gini"]).read_text()
    assert "Sensitivity (sobol)" in text
    assert 'class="sensitivity"' in text


def test_an_unknown_outcome_is_refused(store, tmp_path):
    with pytest.raises(ValueError, match=r"outcomes must name columns of the model table"):
        report(store, tmp_path / "r.html", outcomes=["nope"])


# -- in a real browser -------------------------------------------------------------------------


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'mesa-batch[browser]')"
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install chromium)"
    return None


@pytest.mark.browser
def test_the_report_in_a_real_browser(store, tmp_path):
    missing = _browser_missing()
    if missing:
        if REQUIRE_BROWSER:
            pytest.fail(f"MESA_BATCH_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    page_path = report(store, tmp_path / "report.html")
    errors, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            figures = page.locator("figure svg")
            count = figures.count()
            boxes = [figures.nth(i).bounding_box() for i in range(count)]
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert not errors
    assert requests == [page_path.as_uri()]  # the page itself, nothing else
    assert count >= 3
    assert all(box is not None and box["width"] > 0 and box["height"] > 0 for box in boxes)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
