"""Stakeholder HTML from an executed notebook, without a kernel (outputs are made by hand)."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from crmlib.present import FINDINGS_MIME, METRICS_MIME
from crmlib.report.render import extract_results, notebook_title, render_html

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def executed_nb():
    params = new_code_cell("db_url = None\nmask_pii = True", metadata={"tags": ["parameters"]})
    injected = new_code_cell('db_url = "sqlite:///x.db"', metadata={"tags": ["injected-parameters"]})
    plot = new_code_cell("plot()", outputs=[
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output("stream", name="stderr", text="UserWarning: noisy\n"),
        new_output("stream", name="stdout", text="42 customers\n"),
    ])
    metrics = new_code_cell("present.record_metrics(n=42)", outputs=[
        new_output("display_data", data={METRICS_MIME: {"n": 42, "auc": 0.5},
                                         "text/plain": "metrics recorded"}),
    ])
    more = new_code_cell("present.record_metrics(auc=0.81)", outputs=[
        new_output("display_data", data={METRICS_MIME: {"auc": 0.81}, "text/plain": "m"}),
        new_output("display_data", data={FINDINGS_MIME: {"findings": ["A <i>finding</i>."]},
                                         "text/html": "<ul><li>A finding</li></ul>",
                                         "text/plain": "- A finding"}),
    ])
    hidden = new_code_cell("secret_helper()", metadata={"tags": ["remove-cell"]},
                           outputs=[new_output("stream", name="stdout", text="hidden text\n")])
    nb = new_notebook(cells=[new_markdown_cell("# Customer value\n\nWho is worth what."), params,
                             injected, plot, metrics, more, hidden],
                      metadata={"kernelspec": {"name": "python3", "language": "python",
                                                "display_name": "Python 3"}})
    return nb


def summary(**over):
    s = {"report": "10-value", "run_id": "20250101T020000Z", "started": "2025-01-01T02:00:00Z",
         "status": "ok", "error": None, "duration_s": 3.25, "metrics": {"n": 42, "auc": 0.81},
         "findings": ["A <i>finding</i>."], "crmlib_version": "0.1.0",
         "notebook": "/somewhere/notebooks/10-value.ipynb", "mask_pii": True,
         "effective_parameters": {"db_url": "postgresql://u:***@h/db", "top_n": 20}}
    s.update(over)
    return s


def test_extract_results_merges_metrics_and_collects_findings():
    metrics, found = extract_results(executed_nb())
    assert metrics == {"n": 42, "auc": 0.81}
    assert found == ["A <i>finding</i>."]


def test_title_comes_from_the_first_heading():
    assert notebook_title(executed_nb(), "x") == "Customer value"
    assert notebook_title(new_notebook(cells=[new_markdown_cell("no heading")]), "x") == "x"
    nb = new_notebook(metadata={"title": "Set title"})
    assert notebook_title(nb, "x") == "Set title"


@pytest.fixture(scope="module")
def page():
    return render_html(executed_nb(), summary())


def body_of(page):
    return page.split("<body", 1)[1]


def test_header_has_title_date_parameters_findings_metrics(page):
    assert "<title>Customer value</title>" in page
    assert "<h1>Customer value</h1>" in page and page.count("Customer value</h1>") == 1
    assert "run 2025-01-01 02:00:00 UTC" in page
    assert "A &lt;i&gt;finding&lt;/i&gt;." in page
    assert "<th>auc</th><td class=\"num\">0.81</td>" in page
    assert "postgresql://u:***@h/db" in page and "<th>top_n</th><td>20</td>" in page
    assert "Who is worth what." in page


def test_no_code_parameters_stderr_or_raw_bundles(page):
    body = body_of(page)
    for hidden in ("plot()", "db_url = None", "sqlite:///x.db", "UserWarning", "secret_helper",
                   "hidden text", "metrics recorded", "jp-InputPrompt", "jp-OutputPrompt",
                   "<ul><li>A finding</li></ul>"):
        assert hidden not in body, hidden
    assert "42 customers" in body
    assert f"data:image/png;base64,{PNG}" in body


def test_no_script_or_style_from_the_internet(page):
    assert re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page) == []
    assert "mathjax" not in page.lower() and "require.js" not in page


def test_failed_run_shows_a_banner():
    page = render_html(executed_nb(), summary(status="failed", error={
        "cell_index": 4, "ename": "KeyError", "evalue": "'<customer_id>'"}))
    assert "This run failed." in page
    assert "Cell 4: KeyError: '&lt;customer_id&gt;'" in page
    assert "The last successful report stays published." in page


def test_markdown_images_are_embedded(tmp_path):
    (tmp_path / "figure.png").write_bytes(__import__("base64").b64decode(PNG))
    nb = new_notebook(cells=[new_markdown_cell("# T\n\n![chart](figure.png)")])
    page = render_html(nb, summary(), path=tmp_path)
    assert 'src="figure.png"' not in page and "data:image/png;base64," in page


def test_notebook_is_not_changed():
    nb = executed_nb()
    before = nbformat.writes(nb)
    render_html(nb, summary())
    assert nbformat.writes(nb) == before
