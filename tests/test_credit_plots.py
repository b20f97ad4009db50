"""crmlib.credit.plots: each plot draws on the given Axes (or a new one) and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from crmlib.credit import drift as D  # noqa: E402
from crmlib.credit import evaluation as E  # noqa: E402
from crmlib.credit import plots as P  # noqa: E402
from crmlib.credit import profile as PR  # noqa: E402
from crmlib.errors import DataContractError  # noqa: E402

rng = np.random.default_rng(0)
_p = rng.beta(1, 10, 200)
_k = rng.binomial(3, _p)
_frame = pd.DataFrame({"income_band": pd.Categorical(rng.choice(["low", "high"], 200)),
                       "defaults": rng.binomial(3, 0.3, 200)})

CASES = {
    "rates": lambda ax: P.plot_rates(PR.rate_table(_frame, "income_band"), ax=ax),
    "iv": lambda ax: P.plot_iv(pd.DataFrame({"attribute": ["a", "b"], "iv": [0.3, 0.01]}), ax=ax),
    "roc": lambda ax: P.plot_roc({"model": E.roc_table(_p, _k, np.full(200, 3))}, ax=ax),
    "calibration": lambda ax: P.plot_calibration(E.calibration_table(_p, _k, np.full(200, 3)), ax=ax),
    "gains": lambda ax: P.plot_gains({"m": E.gains_table(_p, _k, np.full(200, 3))}, ax=ax),
    "importance": lambda ax: P.plot_importance(
        pd.DataFrame({"label": ["a", "b"], "importance": [0.1, 0.02], "std": [0.01, 0.01]}), ax=ax),
    "psi": lambda ax: P.plot_psi(D.psi_table(pd.DataFrame({"x": _p}), pd.DataFrame({"x": _p[::-1] * 2})), ax=ax),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_uses_given_axes(name):
    fig, ax = plt.subplots()
    try:
        assert CASES[name](ax) is ax
        assert ax.has_data()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_makes_axes(name):
    ax = CASES[name](None)
    try:
        assert ax is not None and ax.has_data()
    finally:
        plt.close(ax.figure)


def test_plot_checks_columns():
    with pytest.raises(DataContractError, match=r"credit.plot_iv: missing column\(s\) \['iv'\]"):
        P.plot_iv(pd.DataFrame({"attribute": ["a"]}))
