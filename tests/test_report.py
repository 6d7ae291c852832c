"""The report: one self-contained HTML page, its numbers those of the analysis functions."""

from __future__ import annotations

import html.parser
import json
import os
import pathlib
import shutil
import warnings

import numpy as np
import pytest
import scipy.stats

from mesa_batch import (
    BatchRunner,
    Integer,
    Results,
    RunFailedWarning,
    fast,
    full_factorial,
    replicate_until,
    saltelli,
)
from mesa_batch.analysis import aggregate, final, sensitivity
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


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """A replicate_until store: Gini per point until its CI is within 10% (or 30 runs)."""
    path = tmp_path_factory.mktemp("report") / "replicated"
    configs = full_factorial(MoneyModel, {"n": [5, 10, 20]}, max_steps=10, seed=3)
    replicate_until(
        configs,
        "Gini",
        rel_precision=0.1,
        max_iterations=30,
        store=path,
        display_progress=False,
        reproducibility_checks=0,
    )
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


def test_the_replications_section_shows_the_record(replicated, store, tmp_path):
    page = report(replicated, tmp_path / "report.html", outcomes=["Gini"])
    assert 'id="replications"' in page.read_text()
    (table,) = [t for t in parse(page) if t["attrs"].get("class") == "replications"]
    record = json.loads((replicated / "store.json").read_text())["replications"]
    assert table["head"][:3] == ["point", "n", "outcome"]
    assert len(table["rows"]) == len(record["points"]) == 3
    by_point = {row["point"]: row for row in record["points"]}
    finals = final(replicated, "Gini")
    for cells in table["rows"]:
        row = dict(zip(table["head"], cells, strict=True))
        want = by_point[int(float(row["point"]["value"]))]
        assert int(float(row["iterations"]["value"])) == want["iterations"]
        for name, key in [("mean", "mean"), ("half-width", "half_width"), ("low", "low")]:
            assert float(row[name]["value"]) == pytest.approx(want[key], rel=1e-12)
        assert row["target met"]["text"] == ("yes" if want["target_met"] else "no")
        assert row["stopped"]["text"] == want["status"]
        # an independent t interval of the point's runs' final Gini
        values = finals.loc[finals["point"] == want["point"], "Gini"].to_numpy()
        assert len(values) == want["iterations"]
        half = scipy.stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1)
        half /= np.sqrt(len(values))
        assert float(row["half-width"]["value"]) == pytest.approx(half, rel=1e-9)
    assert {r["status"] for r in record["points"]} <= {"target", "max_iterations"}
    # a fixed design's store has no such section
    assert 'id="replications"' not in report(store, tmp_path / "fixed.html").read_text()


def test_the_report_reads_no_whole_data_table(store, monkeypatch, tmp_path):
    def whole_table(self, table, **options):
        raise AssertionError(f"the report loaded the whole {table} table")

    monkeypatch.setattr(Results, "dataframe", whole_table)
    monkeypatch.setattr(Results, "rows", whole_table)
    text = report(store, tmp_path / "report.html").read_text()
    assert text.count("<svg") >= 3


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


def test_a_fast_store_gets_the_fast_indices_of_sensitivity(tmp_path):
    configs = fast(
        MoneyModel, {"n": Integer(5, 20), "width": Integer(3, 8)}, 65, max_steps=3, seed=2
    )
    BatchRunner(configs, display_progress=False, store=tmp_path / "s").run()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SALib: FAST intervals are indicative
        page = report(tmp_path / "s", tmp_path / "r.html", outcomes=["Gini"])
        expected = sensitivity(tmp_path / "s", "Gini", method="fast", on_failure="drop", seed=0)
    assert "Sensitivity (fast)" in page.read_text()
    (table,) = [t for t in parse(page) if t["attrs"].get("class") == "sensitivity"]
    assert table["head"] == ["parameter", *expected.columns]
    assert [row[0]["text"] for row in table["rows"]] == list(expected.index)
    for row in table["rows"]:
        for column, cell in zip(expected.columns, row[1:], strict=True):
            want = expected.loc[row[0]["text"], column]
            assert float(cell["value"]) == pytest.approx(float(want), rel=1e-12, abs=1e-15)


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


def _open(browser, page_path: pathlib.Path, screenshot: pathlib.Path) -> dict:
    """Load a page; its console errors, requests, figure boxes and section ids."""
    errors, requests = [], []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    figures = page.locator("figure svg")
    boxes = [figures.nth(i).bounding_box() for i in range(figures.count())]
    sections = page.locator("h2[id]").evaluate_all("nodes => nodes.map(n => n.id)")
    tables = page.locator("table.replications").count()
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return {
        "errors": errors,
        "requests": requests,
        "boxes": boxes,
        "sections": sections,
        "replication_tables": tables,
    }


@pytest.mark.browser
def test_the_report_in_a_real_browser(store, replicated, tmp_path):
    missing = _browser_missing()
    if missing:
        if REQUIRE_BROWSER:
            pytest.fail(f"MESA_BATCH_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    fixed = report(store, tmp_path / "report.html")
    adaptive = report(replicated, tmp_path / "replicated.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
            pages = {
                fixed: _open(browser, fixed, ARTIFACTS / "report.png"),
                adaptive: _open(browser, adaptive, ARTIFACTS / "report-replications.png"),
            }
        finally:
            browser.close()
    for path, seen in pages.items():
        assert not seen["errors"]
        assert seen["requests"] == [path.as_uri()]  # the page itself, nothing else
        assert len(seen["boxes"]) >= 3
        assert all(b is not None and b["width"] > 0 and b["height"] > 0 for b in seen["boxes"])
    assert pages[adaptive]["replication_tables"] == 1
    assert "replications" in pages[adaptive]["sections"]
    assert "replications" not in pages[fixed]["sections"]
    for name in ("report.png", "report-replications.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
