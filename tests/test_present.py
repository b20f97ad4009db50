"""crmlib.present: masking, safe tables, metrics and findings bundles."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from crmlib import present
from crmlib.errors import ParameterError

XSS = "<script>alert(1)</script>"


@pytest.fixture
def customers():
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "first_name": ["Anna", XSS, None, "Émile"],
        "Last_Name": ["Smith", "Jones", "Brown", "Dupont"],
        "email": ["anna.smith@example.com", "x@evil", None, "emile@mail.fr"],
        "phone": ["+49 170 1234567", "555-0100", "12", None],
        "street": ["Main St 1", "Elm 2", "Oak 3", "Rue 4"],
        "segment": pd.Categorical(["gold", "<b>vip</b>", "silver", "gold"]),
        "revenue": [100.0, 2500.5, 0.0, 40.25],
        "orders": [1, 20, 0, 3],
        "active": [True, False, True, True],
    })


@pytest.fixture
def shown(monkeypatch):
    bundles = []
    monkeypatch.setattr(present, "_display", bundles.append)
    return bundles


def test_mask_pii_masks_names_email_phone_street(customers):
    out = present.mask_pii(customers)
    assert out["first_name"].fillna("NA").tolist() == ["A.", "<.", "NA", "É."]
    assert out["Last_Name"].tolist() == ["S.", "J.", "B.", "D."]
    assert out["email"].fillna("NA").tolist() == ["a***@***.com", "x***@***", "NA", "e***@***.fr"]
    assert out["phone"].fillna("NA").tolist() == ["***67", "***00", "***", "NA"]
    assert out["street"].tolist() == ["***"] * 4
    pd.testing.assert_frame_equal(out[["customer_id", "revenue", "segment"]],
                                  customers[["customer_id", "revenue", "segment"]])


def test_mask_pii_leaves_the_input_alone(customers):
    before = customers.copy()
    present.mask_pii(customers)
    pd.testing.assert_frame_equal(customers, before)


def test_mask_pii_disabled_returns_the_frame(customers):
    assert present.mask_pii(customers, enabled=False) is customers


def test_mask_pii_extra_columns_and_index():
    reps = pd.DataFrame({"name": ["Carla Diaz"], "region": ["North"]})
    assert present.mask_pii(reps, columns=["name"])["name"].tolist() == ["C."]
    by_mail = pd.DataFrame({"n": [1]}, index=pd.Index(["bob@x.org"], name="email"))
    assert present.mask_pii(by_mail).index.tolist() == ["b***@***.org"]


def test_mask_pii_rejects_a_non_bool_switch(customers):
    with pytest.raises(ParameterError, match=r"present.mask_pii: 'enabled' must be a bool \(pass "
                                             r"the notebook's mask_pii parameter\); got <function"):
        present.mask_pii(customers, enabled=present.mask_pii)


def test_mask_pii_needs_a_dataframe():
    with pytest.raises(ParameterError, match=r"present.mask_pii: 'df' must be a DataFrame; got"):
        present.mask_pii([1, 2])


def test_table_shows_top_n_with_totals_and_escapes(customers):
    page = present.table_html(customers, top_n=2, sort_by="revenue", mask_pii=False)
    assert XSS not in page and "<b>vip</b>" not in page
    assert html.escape(XSS) in page and "&lt;b&gt;vip&lt;/b&gt;" in page
    assert page.count("<tr><th>") == 1 + 2 + 1  # header, two rows, totals
    assert "<tr><th>1</th>" in page and "<tr><th>2</th>" in page  # ranks
    assert "Top 2 by revenue of 4 rows." in page
    assert '<td class="num">2,640.75</td>' in page  # revenue over all rows
    assert '<td class="num">24</td>' in page  # orders over all rows
    assert page.index("2,500.50") < page.index("100.00")


def test_table_masks_by_default(customers):
    page = present.table_html(customers)
    assert "Anna" not in page and "anna.smith" not in page and "A." in page


def test_table_never_shows_thousands_of_rows():
    big = pd.DataFrame({"customer_id": range(10_000), "amount": np.ones(10_000)})
    page = present.table_html(big)
    assert page.count("<tr><th>") == 22
    assert "Top 20 of 10,000 rows." in page and "10,000.00" in page
    with pytest.raises(ParameterError, match=r"present.show_table: 'top_n' must be an int in "
                                             r"\[1, 1000\]; got 10000"):
        present.table_html(big, top_n=10_000)


def test_table_totals_can_be_chosen(customers):
    page = present.table_html(customers, totals=["orders"], mask_pii=False)
    assert '<td class="num">24</td>' in page and "2,640.75" not in page
    with pytest.raises(ParameterError, match=r"'totals' must name numeric columns of df; got "
                                             r"\['email'\]"):
        present.table_html(customers, totals=["email"])


def test_table_sort_by_must_name_a_column(customers):
    with pytest.raises(ParameterError, match=r"'sort_by' must name columns of df; got "
                                             r"\['amount'\]; found \['customer_id'"):
        present.table_html(customers, sort_by="amount")


def test_table_shows_a_named_index():
    df = pd.DataFrame({"n": [3, 1]}, index=pd.Index(["North", "South"], name="region"))
    page = present.table_html(df)
    assert "<th>region</th>" in page and "<tr><th>North</th>" in page


def test_interactive_table_is_offline_and_escaped(customers):
    page = present.table_html(customers, interactive=True, mask_pii=False, top_n=3,
                              sort_by="revenue")
    assert XSS not in page
    assert "unpkg" not in page and "cdn." not in page  # no library from the internet
    assert "Top 3 by revenue of 4 rows." in page and "Totals over all rows" in page


def test_record_metrics_displays_a_json_bundle(shown):
    present.record_metrics(customers=np.int64(5000), auc=np.float64(0.8125), missing=float("nan"),
                           as_of=pd.Timestamp("2025-01-31"), label="x", ok=np.bool_(True))
    (bundle,) = shown
    assert bundle[present.METRICS_MIME] == {"customers": 5000, "auc": 0.8125, "missing": None,
                                            "as_of": "2025-01-31T00:00:00", "label": "x",
                                            "ok": True}
    assert "customers=5000" in bundle["text/plain"]


def test_record_metrics_rejects_tables(shown):
    with pytest.raises(ParameterError, match=r"present.record_metrics: 'table' must be a number, "
                                             r"str, bool, date or None; got DataFrame"):
        present.record_metrics(table=pd.DataFrame())


def test_findings_are_escaped(shown):
    present.show_findings(["Buyers of <b>beer</b> buy diapers on Fridays.", "  "])
    (bundle,) = shown
    assert bundle[present.FINDINGS_MIME] == {"findings": ["Buyers of <b>beer</b> buy diapers on "
                                                          "Fridays."]}
    assert "<b>beer</b>" not in bundle["text/html"] and "&lt;b&gt;beer" in bundle["text/html"]


def test_findings_accept_one_sentence_and_reject_others(shown):
    present.show_findings("One sentence.")
    assert shown[0][present.FINDINGS_MIME]["findings"] == ["One sentence."]
    with pytest.raises(ParameterError, match=r"present.show_findings: 'sentences\[1\]' must be str; "
                                             r"got 3"):
        present.show_findings(["ok", 3])


def test_show_table_displays_html(customers, monkeypatch):
    seen = []
    monkeypatch.setattr("IPython.display.display", lambda obj: seen.append(obj))
    present.show_table(customers, top_n=2)
    assert "Top 2 of 4 rows." in seen[0].data


def test_import_has_no_heavy_side_effects():
    from import_support import modules_loaded

    assert modules_loaded("import crmlib.present, crmlib.report, crmlib.cli",
                          ("papermill", "nbconvert", "IPython", "itables", "matplotlib")) == []
