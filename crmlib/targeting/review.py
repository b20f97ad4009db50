"""The steps of a campaign review (the ``campaign_targeting`` report) that are logic, not narrative:
which model to use and which to check it against (for 'auto', the learner with the best
cross-validated Qini), the held-out score checks, and the findings.

Nothing here opens a database or displays anything: frames and names in, a frame, a dataclass or
a list of sentences out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .._validation import check_columns, check_one_of, check_type
from .evaluation import auuc, qini_coefficient
from .uplift import MODELS, UpliftSelector

__all__ = ["CHECK_COLUMNS", "ModelChoice", "choose_model", "findings", "score_checks", "select_learner"]

#: Columns of :func:`score_checks`.
CHECK_COLUMNS = ("qini_coefficient", "auuc")
#: Models every uplift model is checked against on held-out customers.
BENCHMARKS = ("two_model", "propensity")


@dataclass(frozen=True)
class ModelChoice:
    """The model a campaign review uses and the models it is checked against.

    Attributes
    ----------
    name : str
        The model used: one of :data:`~crmlib.targeting.uplift.MODELS`.
    candidates : tuple of str
        ``name`` first, then the benchmarks ('two_model', 'propensity') it is compared with on
        held-out customers; only 'propensity' when no uplift can be measured.
    note : str or None
        Why the requested model was replaced, for the report; None when it was not.
    """

    name: str
    candidates: tuple[str, ...]
    note: str | None = None


def choose_model(model: str, *, has_control: bool, campaign: str) -> ModelChoice:
    """The model to use for a campaign: the requested one, or response propensity without a control group.

    Parameters
    ----------
    model : str
        The requested model, one of :data:`~crmlib.targeting.uplift.MODELS`.
    has_control : bool
        Whether the selected campaign held back a control group.
    campaign : str
        The campaign's name (for the note).

    Returns
    -------
    ModelChoice

    Raises
    ------
    ParameterError
        ``model`` is not one of :data:`~crmlib.targeting.uplift.MODELS`, or ``has_control`` is not
        a bool.

    Examples
    --------
    >>> choose_model("ensemble", has_control=True, campaign="Spring Newsletter 2025").candidates
    ('ensemble', 'two_model', 'propensity')
    >>> choose_model("auto", has_control=False, campaign="Spring Newsletter 2025").name
    'propensity'
    """
    where = "targeting.choose_model"
    check_one_of(model, MODELS, name="model", where=where)
    check_type(has_control, bool, name="has_control", where=where)
    if not has_control and model != "propensity":
        return ModelChoice("propensity", ("propensity",),
                           f"Campaign {campaign} has no control group: uplift cannot be measured for it, "
                           "so customers are ranked by response propensity instead.")
    if model == "propensity":
        return ModelChoice(model, (model,))
    return ModelChoice(model, tuple(dict.fromkeys((model, *BENCHMARKS))))


def select_learner(choice: ModelChoice, frame: pd.DataFrame, *, cv: int = 3,
                   random_state: int = 0) -> tuple[ModelChoice, pd.DataFrame | None]:
    """Resolve 'auto' to the uplift learner with the best cross-validated Qini on ``frame``.

    Parameters
    ----------
    choice : ModelChoice
        From :func:`choose_model`; any model other than 'auto' is returned as it is.
    frame : pandas.DataFrame
        The training contacts (``customer_id``, ``treatment``, ``converted`` and the model
        features, as from :func:`~crmlib.targeting.features.campaign_frame`).
    cv : int, default=3
        Folds of :class:`~crmlib.targeting.uplift.UpliftSelector` (by customer, stratified by
        contact x conversion).
    random_state : int, default=0

    Returns
    -------
    choice : ModelChoice
        With the chosen learner's name in place of 'auto' (and first among the candidates).
    cv_scores : pandas.DataFrame or None
        :attr:`UpliftSelector.cv_scores_`; None when nothing was chosen.

    Examples
    --------
    >>> choice, table = select_learner(choose_model("auto", has_control=True, campaign="x"), frame)  # doctest: +SKIP
    """
    check_type(choice, ModelChoice, name="choice", where="targeting.select_learner")
    if choice.name != "auto":
        return choice, None
    selector = UpliftSelector(cv=cv, random_state=random_state).fit(frame, frame["treatment"], frame["converted"])
    name = selector.chosen_
    return ModelChoice(name, tuple(dict.fromkeys((name, *BENCHMARKS))), choice.note), selector.cv_scores_

def score_checks(y, treatment, scores: pd.DataFrame) -> pd.DataFrame:
    """Qini coefficient and AUUC of each model's held-out scores.

    Parameters
    ----------
    y, treatment : array-like
        Observed conversion and contact flag of the held-out rows.
    scores : pandas.DataFrame
        One column of scores per model name, as from
        :func:`~crmlib.targeting.uplift.cross_fit_predict`.

    Returns
    -------
    pandas.DataFrame
        Indexed by model name (in the order of ``scores``' columns): ``qini_coefficient``,
        ``auuc`` (float64).

    Raises
    ------
    ParameterError
        ``scores`` is not a DataFrame, or its rows do not match ``y`` and ``treatment``.

    Examples
    --------
    >>> score_checks(frame["converted"], frame["treatment"], scores)   # doctest: +SKIP
    """
    check_type(scores, pd.DataFrame, name="scores", where="targeting.score_checks")
    qini = pd.Series({name: qini_coefficient(y, treatment, scores[name]) for name in scores},
                     name="qini_coefficient", dtype="float64")
    return qini.to_frame().assign(auuc=[auuc(y, treatment, scores[n]) for n in scores])


def findings(summary: Mapping, *, candidates: int, campaign: Mapping, categories: pd.DataFrame,
             model: str, uplift: bool = True, deciles: pd.DataFrame | None = None,
             comparison: pd.DataFrame | None = None, notes: Sequence[str] = ()) -> list[str]:
    """The findings of a campaign review, one sentence each.

    Parameters
    ----------
    summary : mapping
        The target list's summary from :func:`~crmlib.targeting.plan.list_summary`
        (``contacts``, ``incremental_per_1000_contacts``, ``expected_profit``,
        ``break_even_cost_per_contact``).
    candidates : int
        Customers the list was chosen from (those who accept marketing).
    campaign : mapping
        The selected campaign's row of :func:`~crmlib.targeting.evaluation.response_rates`
        (``n_control``, ``rate_treated``, ``rate_control``).
    categories : pandas.DataFrame
        The category propensity evaluation (``category``, ``auc``, ``top_decile_lift``).
    model : str
        The model used for the list (see :func:`choose_model`); 'propensity' has no decile sentence.
    uplift : bool, default=True
        Whether the fitted model estimates uplift (the list sentence needs it).
    deciles : pandas.DataFrame, optional
        Held-out ``observed_uplift`` by decile of predicted uplift (best first).
    comparison : pandas.DataFrame, optional
        From :func:`~crmlib.targeting.plan.compare_strategies` (``strategy``, ``expected_profit``).
    notes : sequence of str, default=()
        Further sentences appended as they are (e.g. :attr:`ModelChoice.note`).

    Returns
    -------
    list of str

    Raises
    ------
    DataContractError
        ``categories``, ``deciles`` or ``comparison`` lacks a column used.
    ParameterError
        ``candidates`` is not an int.

    Examples
    --------
    >>> findings(summary, candidates=len(cand), campaign=this, categories=cat_eval,
    ...          model="ensemble", deciles=deciles)                   # doctest: +SKIP
    """
    where = "targeting.findings"
    check_type(candidates, int, name="candidates", where=where)
    check_columns(categories, ("category", "auc", "top_decile_lift"), where=f"{where}(categories)")
    if deciles is not None:
        check_columns(deciles, ("observed_uplift",), where=f"{where}(deciles)")
    if comparison is not None:
        check_columns(comparison, ("strategy", "expected_profit"), where=f"{where}(comparison)")
    out = []
    n = int(summary["contacts"])
    if uplift and n:
        out.append(f"Contacting the {n:,} customers of the list ({n / candidates:.0%} of those who accept marketing) "
                   f"is expected to bring {summary['incremental_per_1000_contacts']:.0f} extra conversions per "
                   f"1,000 contacts and a profit of {summary['expected_profit']:,.0f}; the list breaks even up to "
                   f"{summary['break_even_cost_per_contact']:.2f} per contact.")
    if deciles is not None and model != "propensity":
        bottom = deciles.iloc[-1]
        out.append(f"On held-out customers the top decile by predicted uplift bought "
                   f"{deciles['observed_uplift'].iloc[0]*1000:.0f} more per 1,000 when contacted; the bottom "
                   f"decile {bottom['observed_uplift']*1000:+.0f} per 1,000"
                   + (" (contact puts them off)." if bottom["observed_uplift"] < 0 else "."))
    if comparison is not None and "uplift" in set(comparison["strategy"]):
        c = comparison.set_index("strategy")
        out.append(f"For a target list of this size, ranking by uplift would earn {c.loc['uplift', 'expected_profit']:,.0f}, "
                   f"by response propensity {c.loc['propensity', 'expected_profit']:,.0f} and at random "
                   f"{c.loc['random', 'expected_profit']:,.0f} (measured on past campaigns).")
    has_control = bool(campaign["n_control"] > 0)
    out.append(f"The selected campaign's contacted customers converted at {campaign['rate_treated']:.1%}"
               + (f" vs {campaign['rate_control']:.1%} in its control group." if has_control
                  else " (it had no control group)."))
    best = categories.dropna(subset=["auc"]).sort_values("top_decile_lift", ascending=False).head(1)
    if len(best):
        b = best.iloc[0]
        out.append(f"Category prospects are sharpest for {b['category']}: the top 10% of non-buyers bought it "
                   f"{b['top_decile_lift']:.1f} times as often as the average non-buyer in the test window.")
    return out + list(notes)
