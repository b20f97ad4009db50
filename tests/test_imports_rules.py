"""Validation rules: the sample passes them; broken rows are named with counts and ids."""

import pandas as pd
import pytest

import crmlib
from crmlib import schema as S
from crmlib.errors import DataContractError
from crmlib.imports.rules import FAILURE_COLUMNS, RULES, check_rules, failures, row_problems


@pytest.mark.parametrize("table", S.CANONICAL_TABLES)
def test_the_sample_passes_every_rule(small_url, table):
    frame = crmlib.connect(small_url).load(table)
    assert check_rules(table, frame) is frame


def test_rules_name_only_canonical_tables_and_columns():
    for table, columns in RULES.items():
        assert set(columns) <= set(S.table_columns(table))


def test_failures_list_row_column_rule_value():
    lines = pd.DataFrame({"order_id": [1, 1, 2], "line_no": [1, 1, 1], "product_id": [5, 6, 7],
                          "quantity": [1, 0, 2], "unit_price": [2.0, 3.0, -1.0], "discount": [0, 0, 1.5]})
    found = failures("order_lines", lines)
    assert list(found.columns) == FAILURE_COLUMNS
    assert set(zip(found["row"], found["column"], strict=True)) >= {(1, "quantity"), (2, "unit_price"),
                                                                     (2, "discount")}
    assert "unique key" in set(found["rule"]) or found["rule"].str.contains("unique").any()


def test_cross_column_rule():
    invoices = pd.DataFrame({"invoice_id": [1], "order_id": [1], "customer_id": [1],
                             "issued_at": pd.to_datetime(["2025-02-01"]), "due_at": pd.to_datetime(["2025-01-01"]),
                             "amount": [10.0]})
    assert row_problems("invoices", invoices).loc[0].startswith("due_at: due_at >= issued_at")


def test_no_failures_keeps_columns():
    ok = pd.DataFrame({"channel_id": [1], "name": ["Web"], "kind": ["online"]})
    assert failures("channels", ok).empty and list(failures("channels", ok).columns) == FAILURE_COLUMNS


def test_check_frame_message_counts_and_names_ids():
    customers = pd.DataFrame({"customer_id": [10, 11, 12], "gender": ["male", "m", "x"],
                              "created_at": pd.to_datetime(["2024-01-01"] * 3)})
    with pytest.raises(DataContractError, match=r"customers: 2 row\(s\) break the rules of customers: "
                                                r"gender isin\(.*\): 2 row\(s\) \(e\.g\. customer_id 11, 12\)"):
        check_rules("customers", customers)


def test_missing_required_value_is_a_failure():
    orders = pd.DataFrame({"order_id": [1], "customer_id": [None], "status": ["completed"]})
    assert "not missing" in set(failures("orders", orders)["rule"]) or \
        failures("orders", orders)["rule"].str.contains("null").any()
