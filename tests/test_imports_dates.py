"""date_format: auto (issue 21): ISO 8601 and the common spreadsheet formats found per column;
an ambiguous day/month column refused with a message naming it and its values."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

import crmlib
from crmlib.imports import standardise as st
from crmlib.imports.load import run_import
from crmlib.imports.mapping import MappingError, parse_mapping

MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "mappings"


@pytest.mark.parametrize(("values", "fmt", "first"), [
    (["2025-03-01", "2025-03-02 10:00", "2025-03-13T08:30:00"], "ISO8601", "2025-03-01"),
    (["12/1/2010 8:26", "12/13/2010 9:01"], "%m/%d/%Y %H:%M", "2010-12-01 08:26"),
    (["1/12/2010 8:26", "13/12/2010 9:01"], "%d/%m/%Y %H:%M", "2010-12-01 08:26"),
    (["03/04/2025", "04/25/2025", ""], "%m/%d/%Y", "2025-03-04"),
    (["03/04/2025", "25/04/2025", None], "%d/%m/%Y", "2025-04-03"),
    (["01.02.1980", "31.12.1975"], "%d.%m.%Y", "1980-02-01"),  # dotted: day first, never ambiguous
    (["2025/03/01", "2025/12/31"], "ISO8601", "2025-03-01"),  # pandas ISO 8601 reads slashes too
    (["01-Feb-2025", "15-Mar-2025"], "%d-%b-%Y", "2025-02-01"),
])
def test_auto_finds_the_format_by_hand(values, fmt, first):
    s = pd.Series(values)
    assert st.detect_date_format(s) == fmt
    parsed, problems = st.dates(s, formats=["auto"])
    assert parsed.iloc[0] == pd.Timestamp(first)
    assert problems.isna().all()


def test_ambiguous_day_month_is_refused_naming_values():
    s = pd.Series(["03/04/2025", "01/02/2025", "12/11/2025"])
    with pytest.raises(st.AmbiguousDateError, match=r"cannot tell day from month: every value reads as "
                       r"%m/%d/%Y and as %d/%m/%Y \(no day above 12; e.g. 03/04/2025, 01/02/2025, "
                       r"12/11/2025\); give date_format: \"%m/%d/%Y\" or \"%d/%m/%Y\"") as info:
        st.dates(s, formats=["auto"])
    assert info.value.formats == ("%m/%d/%Y", "%d/%m/%Y")
    # dayfirst settles it either way
    assert st.dates(s, formats=["auto"], dayfirst=False)[0].iloc[0] == pd.Timestamp("2025-03-04")
    assert st.dates(s, formats=["auto"], dayfirst=True)[0].iloc[0] == pd.Timestamp("2025-04-03")


def test_a_value_no_format_reads_is_a_row_problem():
    s = pd.Series(["12/1/2010 8:26", "12/13/2010 9:01", "31/31/2011 10:00"])
    parsed, problems = st.dates(s, formats=["auto"])
    assert parsed.notna().tolist() == [True, True, False]
    assert problems.iloc[2] == "date '31/31/2011 10:00' does not match %m/%d/%Y %H:%M"


def _retail(tmp_path, dates, *, dayfirst=None):
    """The shipped online_retail mapping on a 2-order export with the given InvoiceDate values."""
    rows = [["536365", "85123A", "WHITE HANGING HEART", "6", dates[0], "2.55", "17850", "United Kingdom"],
            ["536366", "22633", "HAND WARMER UNION JACK", "6", dates[1], "1.85", "13047", "EIRE"]]
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    csv = tmp_path / "export.csv"
    pd.DataFrame(rows, columns=header).to_csv(csv, index=False)
    data = yaml.safe_load((MAPPINGS / "online_retail.yml").read_text())
    data["sources"]["retail"]["path"] = str(csv)
    for table in ("customers", "orders"):
        spec = data["tables"][table]["columns"]
        column = "created_at" if table == "customers" else "ordered_at"
        assert spec[column]["date_format"] == "auto"  # the shipped mapping uses it
        if dayfirst == "drop":
            del spec[column]["dayfirst"]
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    return run_import(path, url, log_dir=tmp_path / "logs"), url


@pytest.mark.parametrize("dates", [("2010-12-01 08:26:00", "2010-12-13T09:01:00"),
                                   ("12/1/2010 8:26", "12/13/2010 9:01")])
def test_shipped_retail_mapping_reads_iso_and_us_exports_unedited(tmp_path, dates):
    result, url = _retail(tmp_path, dates)
    assert result.quarantine.empty
    ordered = crmlib.connect(url).orders()["ordered_at"].sort_values().tolist()
    assert ordered == [pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2010-12-13 09:01")]


def test_ambiguous_export_is_refused_naming_the_column(tmp_path):
    with pytest.raises(MappingError, match=r"tables\.customers\.columns\.created_at: source column "
                       r"'InvoiceDate': date_format auto cannot tell day from month: .*e\.g\. 03/04/2025 "
                       r"10:00, 04/03/2025 11:00"):
        _retail(tmp_path, ("03/04/2025 10:00", "04/03/2025 11:00"), dayfirst="drop")


@pytest.mark.parametrize(("fmt", "message"), [
    (["auto", "%d.%m.%Y"], r"date_format: 'auto' finds the format itself; give it alone"),
    ([3], r"date_format: must be 'auto', a strptime format"),
])
def test_date_format_mistakes_are_named(fmt, message):
    data = {"name": "t", "sources": {"s": {"rows": [{"id": "1", "d": "2025-01-01"}]}},
            "tables": {"customers": {"source": "s", "key": "id",
                                     "columns": {"created_at": {"from": "d", "date_format": fmt}}}}}
    with pytest.raises(MappingError, match=r"m\.yml: tables\.customers\.columns\.created_at\." + message):
        parse_mapping(data, label="m.yml")
