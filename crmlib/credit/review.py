"""The payment-default report's findings: plain sentences from the tables the analysis made."""

from __future__ import annotations

import pandas as pd

from .._validation import check_columns, check_one_of
from ..errors import ParameterError
from . import drift, profile
from ._base import FEATURE_LABELS

__all__ = ["findings"]


def findings(people: pd.DataFrame, *, top_attributes, metrics: pd.DataFrame, chosen: str,
             gains: pd.DataFrame, psi: pd.DataFrame, money, window_months: int,
             cutoff: pd.Timestamp) -> list[str]:
    """Sentences for a reader: who repeatedly defaults, how well the model ranks, money at risk, drift.

    Parameters
    ----------
    people : pandas.DataFrame
        :func:`~crmlib.credit.profile.population` (``repeat_defaulter`` and the attributes).
    top_attributes : sequence of str
        The attributes that separate repeat defaulters best, strongest first (from the IV table).
    metrics : pandas.DataFrame
        :func:`~crmlib.credit.evaluation.compare_models`; with an 'oracle' row the sentence on
        the model names the best achievable AUC.
    chosen : str
        The model used (a row of ``metrics``).
    gains : pandas.DataFrame
        :func:`~crmlib.credit.evaluation.gains_table` of the chosen model (best decile first).
    psi : pandas.DataFrame
        ``variable, psi, status`` with the row ``variable == 'score'`` for the score.
    money : mapping
        :func:`~crmlib.credit.risk.loss_summary`.
    window_months : int
        The months after ``cutoff`` whose invoices the holdout predicts.
    cutoff : pandas.Timestamp
        The holdout cutoff.

    Returns
    -------
    list of str

    Raises
    ------
    DataContractError
        A table lacks a column used.
    ParameterError
        ``chosen`` is not a row of ``metrics``, or ``top_attributes`` is empty.
    """
    where = "credit.findings"
    check_columns(people, ("repeat_defaulter", *list(top_attributes)[:1]), where=f"{where}(people)")
    check_columns(metrics, ("auc", "gini", "ks"), where=f"{where}(metrics)")
    check_columns(gains, ("cum_share_of_defaults", "lift"), where=f"{where}(gains)")
    check_columns(psi, ("variable", "psi", "status"), where=f"{where}(psi)")
    check_one_of(chosen, [i for i in metrics.index if i != "oracle"], name="chosen", where=where)
    if not len(top_attributes):
        raise ParameterError(f"{where}: 'top_attributes' must name at least one attribute", name="top_attributes")
    overall = people["repeat_defaulter"].mean()
    first = top_attributes[0]
    lead = profile.rate_table(people, first).sort_values("repeat_rate", ascending=False).iloc[0]
    m = metrics.loc[chosen]
    top_decile = gains.iloc[0]
    score_psi = float(psi.loc[psi["variable"] == "score", "psi"].iloc[0])
    moved = psi.loc[(psi["status"] != "stable") & (psi["variable"] != "score"), "variable"].tolist()
    oracle = (f"; ranking by the customers' true default probabilities would give "
              f"{metrics.loc['oracle', 'auc']:.2f}." if "oracle" in metrics.index else ".")
    if moved:
        drifted = f"variables that moved (PSI >= 0.1): {', '.join(FEATURE_LABELS.get(v, v) for v in moved)}. "
    else:
        drifted = "no scorecard variable moved. "
    advice = ("Refit the models on recent data." if score_psi >= drift.PSI_THRESHOLDS[0]
              else "Watch them, and refit if the score starts to move." if moved else "")
    return [
        f"{overall:.0%} of customers with two or more matured invoices are repeat defaulters. The "
        f"attributes that separate them best are {', '.join(a.replace('_', ' ') for a in top_attributes)}; "
        f"for example customers with {first.replace('_', ' ')} '{lead['value']}' repeat-default at "
        f"{lead['repeat_rate']:.0%} ({lead['repeat_lift']:.1f} times the average).",
        f"On the holdout ({window_months} months after {cutoff:%Y-%m-%d}) the {chosen} model ranks "
        f"invoices by default risk with AUC {m['auc']:.2f} (Gini {m['gini']:.2f}, KS {m['ks']:.2f})"
        + oracle,
        f"The riskiest 10% of customers by the model hold {top_decile['cum_share_of_defaults']:.0%} of "
        f"the defaulted invoices ({top_decile['lift']:.1f} times the average rate).",
        f"Expected loss on today's open balances is {money['expected_loss']:,.0f} of "
        f"{money['outstanding']:,.0f} outstanding ({money['expected_loss_rate']:.1%}); another "
        f"{money['in_default']:,.0f} is already in default.",
        f"The score is {drift.psi_status(score_psi)} between the training period and today "
        f"(PSI {score_psi:.2f}); " + drifted + advice,
    ]
