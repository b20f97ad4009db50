"""notebooks/sales_performance.ipynb end to end: committed clean, run by the report runner on the
small sample, and its stakeholder page opened in a real browser, where a region expands to its reps
(offline, from file://)."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "sales_performance.ipynb"
PARAMETERS = ("db_url", "period", "compare_to", "level", "region", "rep", "channel", "engine",
              "spark_master", "mart", "mask_pii")
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def test_notebook_is_committed_without_outputs_and_with_its_parameters():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    names = re.findall(r"^(\w+) = ", params[0].source, re.M)
    assert tuple(names) == PARAMETERS
    assert "db_url = None" in params[0].source and "mask_pii = True" in params[0].source


@pytest.fixture(scope="module")
def published(tmp_path_factory, small_url):
    from crmlib.report.runner import run_reports

    root = tmp_path_factory.mktemp("sales")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    (result,) = run_reports(["sales_performance"], notebooks_dir=notebooks, reports_dir=root / "reports",
                            db_url=small_url, progress=False, timeout=300)
    assert result.status == "ok", result
    return root / "reports" / "sales_performance"


def test_the_report_names_the_planted_dips(published):
    summary = json.loads((published / "latest.json").read_text())
    text = " ".join(summary["findings"])
    assert "East (region) fell" in text and "2025Q2" in text
    assert summary["metrics"]["underperformers"] == 3
    page = (published / "latest.html").read_text()
    assert "import crmlib" not in page and "db_url" in page  # no code; parameters listed
    assert not re.search(r"<script[^>]+src=\"?https?:", page)


_PROBE = """<script>
window.addEventListener("load", function () {
  var root = document.querySelector('tr[data-level="rep_region"]').closest(".crmlib-cube");
  function shown() {
    return Array.prototype.filter.call(root.querySelectorAll("tbody tr"),
      function (r) { return r.style.display !== "none"; }).map(function (r) { return r.dataset.level; });
  }
  var out = {before: shown()};
  root.querySelector('tr[data-level="rep_region"] .cube-toggle').click();
  out.after = shown();
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(BROWSER is None, reason="no chromium to open the page in")
def test_a_region_expands_to_its_reps_in_the_browser(published, tmp_path):
    page = tmp_path / "page.html"
    page.write_text((published / "latest.html").read_text().replace("</body>", _PROBE + "</body>"))
    run = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                          "--v=0", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no error, no uncaught exception, nothing fetched that failed
    dom = run.stdout
    probe = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)[1]))
    assert "rep" not in probe["before"] and probe["before"].count("rep_region") == 5
    assert probe["after"].count("rep") == 4 and probe["after"].count("manager") == 1
