"""crmlib.cube.html: the offline drill-down table (structure, escaping, and a real browser)."""

import html as htmllib
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from cube_tiny import star

from crmlib.cube import attainment, drill_down, drill_down_html, flag_underperformers, table_html
from crmlib.errors import ParameterError


@pytest.fixture(scope="module")
def tree():
    return flag_underperformers(attainment(star(), period="quarter"))


def test_fragment_is_self_contained(tree):
    page = drill_down_html(tree, period="2025Q1", title="Q1")
    assert page.startswith('<div class="crmlib-cube" id="cube-') and page.endswith("</div>")
    assert "<script>" in page and "<style>" in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched from anywhere
    rows = re.findall(r"<tr[^>]*data-id=", page)
    assert len(rows) == 4  # All, South, South / Cid, South / Cid / Dee in 2025Q1
    assert 'data-level="rep_region" data-label="South"' in page
    assert page.count('class="cube-toggle"') == 3
    assert 'class="flagged"' in page  # the company is 25% below target


def test_same_tree_gives_the_same_html(tree):
    assert drill_down_html(tree, period="2024Q1") == drill_down_html(tree, period="2024Q1")


def test_values_are_escaped():
    frame = pd.DataFrame({"name": ["<script>alert(1)</script>", "Tom & Jerry"], "revenue": [1.0, 2.0]})
    page = table_html(frame)
    assert "<script>alert(1)" not in page
    assert htmllib.escape("<script>alert(1)</script>") in page and "Tom &amp; Jerry" in page


def test_formats(tree):
    page = drill_down_html(tree, period="2025Q1", columns=["revenue", "attainment", "orders"])
    assert ">75.0%<" in page and 'data-value="0.75"' in page


@pytest.mark.parametrize("kwargs, match", [
    ({"period": "2023Q1"}, r"no rows for quarter 2023Q1; the table covers 2024Q1 to 2025Q1"),
    ({"max_rows": 2}, r"4 rows is more than max_rows=2"),
    ({"columns": ["profit"]}, r"missing column\(s\) \['profit'\]"),
])
def test_errors(tree, kwargs, match):
    kwargs = {"period": "2025Q1", **kwargs}
    with pytest.raises(Exception, match=match):
        drill_down_html(tree, **kwargs)


def test_a_tree_with_repeated_nodes_is_refused():
    t = drill_down(star(), "rep", by=["quarter", "channel_kind"])
    with pytest.raises(ParameterError, match=r"a node appears more than once"):
        drill_down_html(t, period="2024Q1")


_PROBE = """<script>
window.addEventListener("load", function () {
  var root = document.querySelector(".crmlib-cube");
  function shown() {
    return Array.prototype.filter.call(root.querySelectorAll("tbody tr"),
      function (r) { return r.style.display !== "none"; }).map(function (r) { return r.dataset.label; });
  }
  var out = {start: shown()};
  root.querySelector('tr[data-level="rep_region"][data-label="North"] .cube-toggle').click();
  out.expanded = shown();
  root.querySelector('th[data-col="1"]').click();
  root.querySelector('th[data-col="1"]').click();
  out.sorted_ascending = shown();
  var box = root.querySelector("input"); box.value = "dee"; box.dispatchEvent(new Event("input"));
  out.filtered = shown();
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no chromium to run the page in")
def test_expand_sort_and_filter_in_a_browser(tmp_path):
    tree = drill_down(star(), "rep", by="year", measures=["revenue", "orders"])
    page = tmp_path / "page.html"
    page.write_text("<html><body>" + drill_down_html(tree, period="2024") + _PROBE + "</body></html>")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    probe = json.loads(htmllib.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)[1]))
    assert probe["start"] == ["All", "North", "South"]
    # North opens down to its reps in one click (its only manager opens with it)
    assert probe["expanded"] == ["All", "North", "Ann", "Bob", "South"]
    # sorted by revenue, ascending, within each parent: South (5.0) before North (6.7)
    assert probe["sorted_ascending"] == ["All", "South", "North", "Ann", "Bob"]
    assert probe["filtered"] == ["All", "South", "Cid", "Dee"]
