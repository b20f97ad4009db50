"""Every plot draws on the given ax (or a new one) and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import segments_frames as F  # noqa: E402

from crmlib.errors import DataContractError  # noqa: E402
from crmlib.segments import (  # noqa: E402
    cohort_retention,
    customer_margin,
    pareto_curve,
    plots,  # noqa: E402
    rfm_scores,
    rfm_table,
    segment_summary,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def summary():
    return segment_summary(rfm_scores(rfm_table(F.transactions(), as_of=F.AS_OF,
                                                customers=F.customers())))


CASES = {
    "plot_segment_bars": lambda: (summary(),),
    "plot_segment_treemap": lambda: (summary(),),
    "plot_pareto": lambda: (pareto_curve(customer_margin(F.orders(), F.order_lines(),
                                                         F.products())),),
    "plot_retention_heatmap": lambda: (cohort_retention(F.transactions(), as_of=F.AS_OF),),
    "plot_clv_distribution": lambda: (pd.DataFrame({"clv": [1.0, 10.0, 1000.0, 5.0]}),),
    "plot_k_selection": lambda: (pd.DataFrame({"k": [2, 3], "silhouette": [0.4, 0.5],
                                               "bic": [100.0, 90.0]}),),
    "plot_cluster_projection": lambda: (pd.DataFrame({"pc1": [0.0, 1.0], "pc2": [1.0, 0.0],
                                                      "cluster": [0, 1]}),),
    "plot_profile_heatmap": lambda: (pd.DataFrame(np.eye(2), columns=["a", "b"]),),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_uses_given_ax(name):
    fig, ax = plt.subplots()
    out = getattr(plots, name)(*CASES[name]())
    assert out is not ax  # a new axes when none is given
    out = getattr(plots, name)(*CASES[name](), ax=ax)
    assert out is ax
    assert ax.has_data() or ax.patches or ax.images


def test_all_plot_functions_are_tested():
    assert set(plots.__all__) == set(CASES)


def test_projection_legend_uses_names():
    proj = pd.DataFrame({"pc1": [0.0, 1.0], "pc2": [1.0, 0.0], "cluster": [0, 1]})
    ax = plots.plot_cluster_projection(proj, names=pd.Series({0: "high spend", 1: "lapsed"}))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["0: high spend", "1: lapsed"]


def test_plot_missing_column():
    with pytest.raises(DataContractError, match=r"plot_segment_bars: missing column\(s\) \['revenue'\]"):
        plots.plot_segment_bars(pd.DataFrame({"segment": ["A"]}), value="revenue")


def test_import_does_not_load_matplotlib():
    from import_support import modules_loaded

    assert modules_loaded("import crmlib.segments", ("matplotlib",)) == []
