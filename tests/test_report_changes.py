"""What changed since the last run (crmlib.report.changes) and key figures for readers (figures)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmlib.errors import DataContractError
from crmlib.report import changes, figures


def test_migration_matrix_counts_moves_new_and_gone():
    before = pd.DataFrame({"customer_id": [1, 2, 3, 4], "segment": ["Lost", "Champions", "Champions", "At Risk"]})
    after = pd.DataFrame({"customer_id": [1, 2, 3, 5], "segment": ["Champions", "Champions", "At Risk", "Lost"]})
    m = changes.migration_matrix(before, after, "segment", order=["Champions", "At Risk", "Lost"])
    assert list(m.index) == ["Champions", "At Risk", "Lost", "(new)"]
    assert list(m.columns) == ["Champions", "At Risk", "Lost", "(gone)"]
    assert m.loc["Champions", "Champions"] == 1 and m.loc["Champions", "At Risk"] == 1
    assert m.loc["Lost", "Champions"] == 1 and m.loc["At Risk", "(gone)"] == 1
    assert m.loc["(new)", "Lost"] == 1
    assert int(m.to_numpy().sum()) == 5  # every customer of either run once
    assert m.index.name == "last run" and m.columns.name == "this run"


def test_migration_matrix_names_missing_columns():
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['segment'\] in 'after'"):
        changes.migration_matrix(pd.DataFrame({"customer_id": [1], "segment": ["a"]}),
                                 pd.DataFrame({"customer_id": [1]}), "segment")


def test_set_changes_and_overlap():
    before = pd.DataFrame({"rule": ["a -> b", "c -> d"], "lift": [2.0, 3.0]})
    after = pd.DataFrame({"rule": ["a -> b", "e -> f"], "lift": [2.5, 4.0]})
    out = changes.set_changes(before, after, key="rule")
    assert out.to_dict("records") == [{"change": "appeared", "rule": "e -> f", "lift": 4.0},
                                      {"change": "disappeared", "rule": "c -> d", "lift": 3.0}]
    assert list(changes.set_changes(after, after, key="rule").columns) == ["change", "rule", "lift"]
    o = changes.overlap([1, 2, 3, 4], [3, 4, 5])
    assert (o["this_run"], o["last_run"], o["in_both"], o["new"], o["dropped"]) == (3, 4, 2, 1, 2)
    assert o["share_kept"] == pytest.approx(2 / 3)


def test_previous_run_from_the_published_report(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    assert changes.last_success(reports, "x") is None
    with changes.previous_env(reports, "x") as summary:
        assert summary is None and changes.previous_run() is None
    (reports / "x" / "lists" / "R1").mkdir(parents=True)
    pd.DataFrame({"customer_id": [7]}).to_parquet(reports / "x" / "lists" / "R1" / "t.parquet")
    (reports / "x" / "latest.json").write_text(json.dumps(
        {"status": "ok", "run_id": "R1", "started": "2025-01-01T02:00:00Z", "metrics": {"n": 3}}))
    with changes.previous_env(reports, "x"):
        prev = changes.previous_run()
    assert (prev.run_id, prev.metrics) == ("R1", {"n": 3})
    assert prev.list("t")["customer_id"].tolist() == [7] and prev.list("other") is None
    assert changes.previous_run("x", reports).run_id == "R1"  # interactively, by name


@pytest.mark.parametrize(("name", "value", "text"), [
    ("revenue_growth", -0.07004, "\u22127.0%"),
    ("expected_loss", 123456.7, "123,457"),
    ("clv_median", 99.654, "99.65"),
    ("customers", 2000, "2,000"),
    ("top_lift", 25.456, "25.46×"),
    ("auc", 0.81234, "0.812"),
    ("campaign_id", 16, "16"),
    ("brand_new_share", 0.5, "50.0%"),
    ("model", "scorecard", "scorecard"),
    ("anything", None, "—"),
])
def test_format_value(name, value, text):
    assert figures.format_value(name, value) == text


def test_labels_and_changes():
    assert figures.label("revenue_growth") == "Revenue growth"
    assert figures.label("some_new_figure") == "Some new figure"
    assert figures.format_change("revenue_growth", 0.01, -0.06) == "\u22127.0 points"
    assert figures.format_change("expected_loss", 100.0, 150.0) == "+50.00 (+50.0%)"
    assert figures.format_change("customers", 2000, 1900) == "\u2212100 (\u22125.0%)"
    assert figures.format_change("model", "a", "a") == "no change"
    assert figures.format_change("model", None, "a") == "new"


def test_changes_html_escapes_and_says_first_run():
    assert "nothing to compare yet" in figures.changes_html(None, {"n": 1})
    page = figures.changes_html({"top_rule": "<b>x</b>", "n": 1}, {"top_rule": "<b>y</b>", "n": 2})
    assert "<b>" not in page and "&lt;b&gt;y&lt;/b&gt;" in page and "+1 (+100.0%)" in page


def test_sparkline_is_inline_svg_without_script():
    svg = figures.sparkline_svg("revenue", [("2025-01-01T02:00:00Z", 10.0), ("2025-01-02T02:00:00Z", 12.5)])
    assert svg.startswith('<svg class="trend"') and "<polyline" in svg and svg.count("<circle") == 2
    assert "<script" not in svg and "http" not in svg
    assert "Revenue over the last 2 runs: 10.00 to 12.50" in svg
    assert figures.sparkline_svg("x", []) == ""
    assert figures.trend_points([{"metrics": {"a": 1}}, {"metrics": {"a": None}}, {"metrics": {"a": 3}}], "a") \
        == [("", 1.0), ("", 3.0)]
