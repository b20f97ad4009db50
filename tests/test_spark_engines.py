"""crmlib.engines: the same tables from pandas and Spark, engine checks, and one report on Spark."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from spark_support import assert_same_frame, rules_output, small_spark_conf

import crmlib
from crmlib import engines
from crmlib.engines import analyses
from crmlib.errors import CrmlibError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


# ---------------------------------------------------------------------- checks (no Spark started)
@pytest.mark.parametrize(("engine", "master", "message"), [
    ("dask", "local[*]", r"engine: 'engine' must be one of \['pandas', 'spark'\]; got 'dask'"),
    ("spark", "localhost:7077", r"'spark_master' must be local\[\*\].*got 'localhost:7077'"),
])
def test_bad_engine_or_master(engine, master, message):
    with pytest.raises(ParameterError, match=message):
        engines.check_engine(engine, master)


@pytest.mark.parametrize("master", ["local", "local[*]", "local[2]", "spark://127.0.0.1:7077",
                                    "spark://a:7077,b:7077", "yarn", "k8s://https://k8s:6443"])
def test_good_masters(master):
    engines.check_engine("spark", master)


def test_no_pyspark_says_so(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(CrmlibError, match=r"engine='spark' needs pyspark, which is not installed: pip install 'crmlib\[spark\]'"):
        engines.open_engine("spark")


def test_no_java_says_so(monkeypatch):
    pytest.importorskip("pyspark")
    import crmlib.spark

    monkeypatch.setattr(crmlib.spark, "java_available", lambda: False)
    with pytest.raises(CrmlibError, match=r"engine='spark' needs a Java runtime"):
        engines.open_engine("spark")


def test_runner_rejects_a_bad_engine_before_any_kernel(tmp_path):
    from crmlib.config import NOTEBOOKS_DIR
    from crmlib.report.runner import run_reports

    with pytest.raises(ParameterError, match=r"notebook 'association_rules': 'engine' must be one of"):
        run_reports(["association_rules"], notebooks_dir=NOTEBOOKS_DIR, reports_dir=tmp_path,
                    parameters={"engine": "sparky"})
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def test_default_mart_per_database(tmp_path):
    from crmlib import config

    assert engines.default_mart(f"sqlite:///{config.DEFAULT_DB_PATH}") == config.DATA_DIR / "mart"
    assert engines.default_mart(f"sqlite:///{tmp_path}/x.sqlite") == tmp_path / "x.sqlite.mart"
    a, b = (engines.default_mart(f"postgresql://u@h/{d}") for d in ("a", "b"))
    assert a != b and a.parent == config.DATA_DIR / "marts"


# ---------------------------------------------------------------------- the same results
@pytest.fixture(scope="module")
def both(spark, small_mart):
    return engines.Engine("pandas"), engines.Engine("spark", master="local[2]", mart=str(small_mart),
                                                    session=spark)


def test_rules_equal(both, small_url):
    from crmlib import baskets as bk

    pd_eng, sp_eng = both
    crm = crmlib.connect(small_url)
    b = bk.make_baskets(crm.order_lines(["order_id", "product_id"]),
                        orders=crm.orders(["order_id", "ordered_at"]),
                        products=crm.products(["product_id", "name", "category", "subcategory"]),
                        since="2024-01-01", filters={"weekday": ["Fri", "Sat"]})
    kw = dict(min_support=0.005, min_confidence=0.1, min_lift=1.0, max_len=3, since="2024-01-01",
              filters={"weekday": ["Fri", 5]})
    ref = analyses.mine_rules(pd_eng, b, **kw)
    got = analyses.mine_rules(sp_eng, **kw)
    assert len(ref) > 20 and list(got.columns) == list(ref.columns)
    assert got["antecedents"].tolist() == ref["antecedents"].tolist()  # same rules, same order
    assert got["consequents"].tolist() == ref["consequents"].tolist()
    assert got["count"].tolist() == ref["count"].tolist()
    for col in ("support", "confidence", "lift", "leverage", "conviction", "p_value", "p_adjusted"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, err_msg=col)
    assert got.attrs["n_itemsets"] == ref.attrs["n_itemsets"]


def test_spark_rules_refuse_other_filters(both):
    with pytest.raises(ParameterError, match=r"engine='spark' takes the filters \['weekday', 'channel', 'region'\]; got 'segment'"):
        analyses.mine_rules(both[1], filters={"segment": "Champions"})


def test_rfm_equal(both, small_url):
    from crmlib import segments as seg

    pd_eng, sp_eng = both
    crm = crmlib.connect(small_url)
    tx = seg.order_values(crm.orders(), crm.order_lines())
    day = tx["ordered_at"].max().normalize() - pd.Timedelta(days=90)
    customers = crm.customers(["customer_id"])
    ref = analyses.rfm_scores(pd_eng, tx, as_of=day, customers=customers, segment_map="rf")
    got = analyses.rfm_scores(sp_eng, as_of=day, customers=customers, segment_map="rf")
    assert list(got.columns) == list(ref.columns) and len(got) == len(customers)
    assert (ref["segment"] == "No Purchase").sum() > 0  # customers without a purchase are kept
    for col in ref.columns:
        if ref[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, err_msg=col)
        elif ref[col].dtype.kind == "M":
            assert got[col].equals(ref[col]), col
        else:
            assert (got[col].astype(str).to_numpy() == ref[col].astype(str).to_numpy()).all(), col


@pytest.mark.parametrize(("by", "slices"), [(["month"], {}), (["quarter"], {"channel_kind": "online"})])
def test_rollups_equal(both, small_url, by, slices):
    from crmlib import cube

    pd_eng, sp_eng = both
    star = cube.load_star(crmlib.connect(small_url))
    view = cube.dice(star, slices) if slices else star
    measures = ["revenue", "margin", "orders", "customers"]
    ref = analyses.aggregate(pd_eng, view, by, measures=measures, slices=slices)
    got = analyses.aggregate(sp_eng, view, by, measures=measures, slices=slices)
    assert list(got.columns) == list(ref.columns) and got.dtypes.equals(ref.dtypes)
    assert got[by[0]].tolist() == ref[by[0]].tolist() and len(ref) >= 8
    for m in measures:
        np.testing.assert_allclose(got[m], ref[m], rtol=1e-12, err_msg=m)


def test_credit_features_pandas_needs_the_tables():
    with pytest.raises(ParameterError, match=r"engines.credit_features: the pandas engine needs "
                                             r"\['orders', 'order_lines', 'channels'\] \(or purchases=False\)"):
        analyses.credit_features(engines.Engine("pandas"), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                 cutoff="2025-01-01")


@pytest.mark.parametrize(("cutoff", "default_days", "purchases"), [
    ("2025-03-01", 90, True),          # the payment-default report's holdout cutoff
    ("2024-07-01 12:00", 30, False),   # off midnight, another default_days, no purchase columns
])
def test_credit_features_equal(both, small_url, cutoff, default_days, purchases):
    pd_eng, sp_eng = both
    crm = crmlib.connect(small_url)
    tables = dict(invoices=crm.invoices(), payments=crm.payments(), customers=crm.customers())
    sales = dict(orders=crm.orders(), order_lines=crm.order_lines(), channels=crm.channels())
    ref = analyses.credit_features(pd_eng, **tables, **sales, cutoff=cutoff, default_days=default_days,
                                   purchases=purchases)
    got = analyses.credit_features(sp_eng, cutoff=cutoff, default_days=default_days, purchases=purchases)
    assert_same_frame(ref, got)
    assert len(ref) > 1000 and ref["defaults"].sum() > 0
    assert ("order_channel" in ref.columns) == purchases


# ---------------------------------------------------------------------- one report on Spark
def test_report_on_spark_local(tmp_path, monkeypatch, small_mart):
    from crmlib.config import NOTEBOOKS_DIR
    from crmlib.report.runner import run_reports

    monkeypatch.setenv("SPARK_CONF_DIR", str(small_spark_conf(tmp_path / "conf")))
    reports = tmp_path / "reports"
    params = {"min_support": 0.01, "max_len": 2}
    (spark_run,) = run_reports(["association_rules"], notebooks_dir=NOTEBOOKS_DIR, reports_dir=reports,
                               parameters={**params, "engine": "spark", "spark_master": "local[1]",
                                           "mart": str(small_mart)}, progress=False)
    assert spark_run.status == "ok", spark_run.message
    # its own folder: in the spark run's it would be a second run, comparing with the first
    (pandas_run,) = run_reports(["association_rules"], notebooks_dir=NOTEBOOKS_DIR,
                                reports_dir=tmp_path / "reports-pandas",
                                parameters=params, progress=False)
    assert pandas_run.status == "ok", pandas_run.message
    s = json.loads((spark_run.run_dir / "summary.json").read_text())
    p = json.loads((pandas_run.run_dir / "summary.json").read_text())
    assert (s["engine"], s["spark_master"], p["engine"], p["spark_master"]) == ("spark", "local[1]", "pandas", None)
    assert s["metrics"].pop("engine") == "spark" and p["metrics"].pop("engine") == "pandas"
    assert s["metrics"] == p["metrics"] and s["metrics"]["rules"] > 0
    assert rules_output(spark_run.run_dir) == rules_output(pandas_run.run_dir)
    page = (spark_run.run_dir / "association_rules.html").read_text()
    assert "engine Spark (local[1])" in page and "Engine: Spark" in page
    assert "engine pandas" in (pandas_run.run_dir / "association_rules.html").read_text()
    assert "<td>Spark (local[1])</td>" in (reports / "index.html").read_text()


def test_payment_default_report_on_spark_local(tmp_path, monkeypatch, small_mart):
    """The payment-default report on Spark (features) records the same metrics as on pandas."""
    from crmlib.config import NOTEBOOKS_DIR
    from crmlib.report.runner import run_reports

    monkeypatch.setenv("SPARK_CONF_DIR", str(small_spark_conf(tmp_path / "conf")))
    reports = tmp_path / "reports"
    (spark_run,) = run_reports(["payment_default"], notebooks_dir=NOTEBOOKS_DIR, reports_dir=reports,
                               parameters={"engine": "spark", "spark_master": "local[1]",
                                           "mart": str(small_mart)}, progress=False)
    assert spark_run.status == "ok", spark_run.message
    # its own folder: in the spark run's it would be a second run, comparing with the first
    (pandas_run,) = run_reports(["payment_default"], notebooks_dir=NOTEBOOKS_DIR,
                                reports_dir=tmp_path / "reports-pandas",
                                progress=False)
    assert pandas_run.status == "ok", pandas_run.message
    s = json.loads((spark_run.run_dir / "summary.json").read_text())
    p = json.loads((pandas_run.run_dir / "summary.json").read_text())
    assert (s["engine"], p["engine"]) == ("spark", "pandas")
    assert s["metrics"].pop("engine") == "spark" and p["metrics"].pop("engine") == "pandas"
    assert s["metrics"] == p["metrics"] and s["metrics"]["auc"] > 0.6
    page = (spark_run.run_dir / "payment_default.html").read_text()
    assert "Engine: Spark" in page and "customer features" in page
    assert "Engine: pandas" in (pandas_run.run_dir / "payment_default.html").read_text()


def test_engine_table_reads_the_mart(both, small_url):
    _, eng = both
    assert eng.table("fact_invoices").count() == len(crmlib.connect(small_url).invoices())
    with pytest.raises(ParameterError, match="pandas engine has no mart"):
        engines.Engine("pandas").table("fact_sales")


def test_bounded_sample_is_exact_up_to_the_bound_and_keeps_strata(both):
    _, eng = both
    customers = eng.table("dim_customer")
    n = customers.count()
    every = engines.bounded_sample(customers, n, key="customer_id")
    assert every.attrs == {"population": n, "sampled": False, "fraction": 1.0}
    assert every["customer_id"].is_monotonic_increasing and len(every) == n
    flagged = customers.withColumn("odd", (customers["customer_id"] % 10 == 0))
    part = engines.bounded_sample(flagged, n // 4, by="odd", seed=3)
    assert part.attrs["sampled"] and 0.15 * n < len(part) < 0.35 * n
    # each stratum keeps about its share (1 in 10 customers is 'odd')
    assert 0.05 < part["odd"].mean() < 0.15
    with pytest.raises(ParameterError, match="max_rows"):
        engines.bounded_sample(customers, 0)


@pytest.mark.parametrize("table", sorted(analyses.DIMENSION_TABLES))
def test_a_small_dimension_reads_the_same_from_the_mart(both, small_url, table):
    pd_eng, sp_eng = both
    crm = crmlib.connect(small_url)
    ours = analyses.dimension(pd_eng, crm, table)
    theirs = analyses.dimension(sp_eng, None, table)
    assert list(theirs.columns) == list(ours.columns)
    key = list(ours.columns[:2]) if table == "rep_targets" else [ours.columns[0]]
    ours, theirs = (f.sort_values(key).reset_index(drop=True) for f in (ours, theirs))
    for col in ours.columns:  # Spark: text as object, not categories; a nullable int as float
        left, right = ours[col], theirs[col]
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
            left, right = left.astype("float64"), right.astype("float64")
        elif isinstance(left.dtype, pd.CategoricalDtype):
            left = left.astype(object)
        pd.testing.assert_series_equal(right, left, check_dtype=False, check_exact=False, rtol=1e-12)
    picked = analyses.dimension(sp_eng, None, table, [ours.columns[0]])
    assert list(picked.columns) == [ours.columns[0]] and len(picked) == len(ours)


def test_dimension_refuses_a_big_table_and_pandas_without_crm(both):
    pd_eng, sp_eng = both
    with pytest.raises(ParameterError, match=r"engines.dimension: 'table' must be one of .*got 'customers'"):
        analyses.dimension(sp_eng, None, "customers")
    with pytest.raises(ParameterError, match=r"engines.dimension: the pandas engine needs `crm`"):
        analyses.dimension(pd_eng, None, "channels")


def test_spark_readers_import_neither_sqlalchemy_nor_scikit_learn():
    """The mart's readers and RFM load only what they use (a Spark kernel's memory, issue 14)."""
    from import_support import modules_loaded

    code = ("import crmlib.mart, crmlib.segments.spark_rfm, crmlib.segments, crmlib.engines.analyses\n"
            "crmlib.mart.table_path('m', 'fact_sales'); crmlib.segments.rfm_scores")
    assert modules_loaded(code, ("sqlalchemy", "sklearn", "scipy", "pyarrow.parquet")) == []
