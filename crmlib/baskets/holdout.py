"""Rules checked on later baskets: recount support, confidence and lift on a holdout period.

arules does this with ``interestMeasure(rules, transactions = newdata)``. A rule mined on one
period "held up" when, on the later baskets, it is still positively associated (lift > 1) and
still reaches the confidence and support it was mined at.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_columns
from ..errors import ParameterError
from .encode import Baskets

__all__ = ["HOLDOUT_COLUMNS", "count_itemsets", "holdout_check", "holdout_findings", "holdout_from_counts",
           "split_at"]

#: Columns :func:`holdout_check` adds to the rules.
HOLDOUT_COLUMNS = ("holdout_count", "holdout_support", "holdout_confidence", "holdout_lift",
                   "held")
_WHERE = "baskets.holdout_check"
_PRODUCT_CELLS = 20_000_000  # itemsets per block: bounds the rows x itemsets product


def count_itemsets(baskets: Baskets, itemsets) -> np.ndarray:
    """Baskets holding every item of each itemset (an item the baskets lack counts 0).

    One sparse product per block of itemsets (baskets x items times items x itemsets), no loop
    per basket or per itemset.

    >>> b = Baskets.from_transactions([["a", "b"], ["a"], ["b", "c"]])
    >>> count_itemsets(b, [frozenset("a"), frozenset("ab"), frozenset("ad")]).tolist()
    [2, 1, 0]
    """
    sets = list(itemsets)
    index = pd.Index(baskets.items)
    sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    flat = [x for s in sets for x in s]
    cols = index.get_indexer(flat) if flat else np.empty(0, dtype=np.intp)
    owner = np.repeat(np.arange(len(sets)), sizes)
    known = cols >= 0
    # an itemset with an unknown item is in no basket: its column keeps a count it cannot reach
    Z = sp.csr_matrix((np.ones(int(known.sum()), dtype=np.int32), (cols[known], owner[known])),
                      shape=(len(index), len(sets)))
    X = baskets.matrix.astype(np.int32)
    out = np.zeros(len(sets), dtype=np.int64)
    step = max(1, _PRODUCT_CELLS // max(1, X.shape[0]))
    for lo in range(0, len(sets), step):
        P = (X @ Z[:, lo:lo + step]).tocsc()
        hit = P.data == np.repeat(sizes[lo:lo + step], np.diff(P.indptr))
        col = np.repeat(np.arange(P.shape[1]), np.diff(P.indptr))
        out[lo:lo + step] = np.bincount(col[hit], minlength=P.shape[1])
    return out


def holdout_check(rules: pd.DataFrame, later: Baskets, *, min_confidence: float | None = None,
                  min_support: float | None = None) -> pd.DataFrame:
    """Recount each rule on later baskets and say which held up.

    Parameters
    ----------
    rules : pandas.DataFrame
        ``antecedents``, ``consequents`` (frozensets), ``support``, ``confidence``, ``lift``.
    later : Baskets
        The holdout baskets (same item level as the rules).
    min_confidence, min_support : float, optional
        The thresholds to hold at; default the ones the rules were mined at
        (``rules.attrs``), else 0.

    Returns
    -------
    pandas.DataFrame
        ``rules`` plus :data:`HOLDOUT_COLUMNS`: ``holdout_count`` (baskets with all the rule's
        items), support, confidence (NaN when no later basket holds the antecedent) and lift on
        the later baskets, and ``held``: lift > 1 and the thresholds still reached.

    Examples
    --------
    >>> from crmlib.baskets import mine_rules
    >>> early = Baskets.from_transactions([["ink", "printer"]] * 3 + [["milk"]])
    >>> late = Baskets.from_transactions([["ink", "printer"], ["ink"], ["milk", "printer"]])
    >>> held = holdout_check(mine_rules(early, min_support=0.5), late)
    >>> held[["holdout_confidence", "holdout_lift", "held"]].round(2).values.tolist()
    [[0.5, 0.75, False], [0.5, 0.75, False]]
    """
    check_columns(rules, ("antecedents", "consequents", "support", "confidence", "lift"),
                  where=_WHERE)
    if not isinstance(later, Baskets):
        raise ParameterError(f"{_WHERE}: 'later' must be Baskets; got {type(later).__name__}.",
                             name="later")
    if later.n_baskets == 0:
        raise ParameterError(f"{_WHERE}: the holdout period has no baskets.", name="later")
    ante = list(rules["antecedents"])
    cons = list(rules["consequents"])
    both = [a | c for a, c in zip(ante, cons, strict=True)]
    # count each distinct itemset once
    distinct = pd.unique(pd.Series(ante + cons + both, dtype=object))
    counts = pd.Series(count_itemsets(later, distinct), index=pd.Index(distinct, dtype=object))
    return holdout_from_counts(rules, counts, later.n_baskets, min_confidence=min_confidence,
                               min_support=min_support)


def holdout_from_counts(rules: pd.DataFrame, counts: pd.Series, n: int, *,
                        min_confidence: float | None = None,
                        min_support: float | None = None) -> pd.DataFrame:
    """:func:`holdout_check`'s table from the later baskets' itemset counts (the formulas both
    engines share; the Spark path counts with Spark aggregates).

    Parameters
    ----------
    rules : pandas.DataFrame
        ``antecedents``, ``consequents`` (frozensets) and the mined measures.
    counts : pandas.Series
        Baskets holding each itemset, indexed by frozenset: every antecedent, consequent and
        their union.
    n : int
        Later baskets.
    min_confidence, min_support : float, optional
        As :func:`holdout_check`.
    """
    conf_min = rules.attrs.get("min_confidence", 0.0) if min_confidence is None else min_confidence
    supp_min = rules.attrs.get("min_support", 0.0) if min_support is None else min_support
    ante = list(rules["antecedents"])
    cons = list(rules["consequents"])
    both = [a | c for a, c in zip(ante, cons, strict=True)]
    n = float(n)
    cA = counts.loc[ante].to_numpy(dtype=float) if ante else np.empty(0)
    cC = counts.loc[cons].to_numpy(dtype=float) if cons else np.empty(0)
    cAC = counts.loc[both].to_numpy(dtype=float) if both else np.empty(0)
    out = rules.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.where(cA > 0, cAC / cA, np.nan)
        lift = np.where(cC > 0, conf / (cC / n), np.nan)
    out["holdout_count"] = cAC.astype(np.int64)
    out["holdout_support"] = cAC / n
    out["holdout_confidence"] = conf
    out["holdout_lift"] = lift
    out["held"] = ((np.nan_to_num(lift) > 1) & (np.nan_to_num(conf) >= (conf_min or 0.0))
                   & (cAC / n >= (supp_min or 0.0)))
    out.attrs = {**rules.attrs, "holdout_baskets": int(n),
                 "n_held": int(out["held"].sum())}
    return out


def split_at(baskets: Baskets, at) -> tuple[Baskets, Baskets]:
    """The baskets ordered before ``at`` and from ``at`` on (needs ``ordered_at``).

    ``at`` is a date, or an int of months counted back from the last basket's month start.
    """
    where = "baskets.split_at"
    if "ordered_at" not in baskets.baskets:
        raise ParameterError(f"{where}: the baskets have no 'ordered_at'; build them with "
                             "make_baskets(lines, orders=orders).", name="baskets")
    when = pd.to_datetime(baskets.baskets["ordered_at"])
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        if at <= 0:
            raise ParameterError(f"{where}: 'at' in months must be > 0; got {at}.", name="at")
        at = (when.max().to_period("M") - int(at) + 1).to_timestamp()
    cut = pd.Timestamp(at)
    early = (when < cut).to_numpy()
    if early.all() or not early.any():
        raise ParameterError(f"{where}: splitting at {cut.date()} leaves one side empty (orders "
                             f"run {when.min().date()} to {when.max().date()}).", name="at")
    return baskets.subset(early), baskets.subset(~early)


def holdout_findings(checked: pd.DataFrame) -> list[str]:
    """One sentence on how many rules held up on the later baskets."""
    check_columns(checked, ("held",), where="baskets.holdout_findings")
    if not len(checked):
        return ["No rule from the earlier period to check."]
    n, held = len(checked), int(checked["held"].sum())
    return [f"{held:,} of {n:,} rules mined on the earlier orders, {held / n:.0%}, held up on the "
            f"{checked.attrs.get('holdout_baskets', 0):,} later baskets: lift still above 1 and "
            "the mining thresholds still reached."]
