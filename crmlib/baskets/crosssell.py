"""Cross-sell: for each customer, the products that rules suggest and they have not bought yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_columns, check_interval, check_one_of
from ..definitions import items_text, rule_text
from ..errors import DataContractError, ParameterError
from .encode import Baskets

__all__ = ["RECOMMEND_COLUMNS", "recommend"]

#: Columns of :func:`recommend`.
RECOMMEND_COLUMNS = ("customer_id", "rank", "item", "lift", "confidence", "because", "reason")
_SCORES = ("lift", "confidence", "leverage", "conviction", "zhangs_metric")
_WHERE = "baskets.recommend"


def recommend(baskets: Baskets, rules: pd.DataFrame, *, top_k: int = 3, score: str = "lift",
              min_lift: float = 1.0, customers=None) -> pd.DataFrame:
    """Top-k product suggestions per customer, each with the rule behind it as the reason.

    A customer is eligible for a rule when, over all their baskets, they have bought every item of
    its antecedent and not its consequent. Only rules with a one-item consequent are used (that
    item is the suggestion). When several rules suggest the same item to a customer, the
    strongest (by ``score``) is the reason.

    Parameters
    ----------
    baskets : Baskets
        Baskets with a ``customer_id`` column (``make_baskets`` with ``orders``): their history.
    rules : pandas.DataFrame
        ``antecedents``, ``consequents``, ``confidence``, ``lift`` and the ``score`` column.
    top_k : int, default=3
        Suggestions per customer (>= 1).
    score : {'lift', 'confidence', 'leverage', 'conviction', 'zhangs_metric'}, default='lift'
        Rule measure that ranks suggestions (ties: higher confidence, then item label).
    min_lift : float, default=1.0
        Ignore rules with a lift below this (a rule with lift <= 1 does not raise the chance).
    customers : sequence, optional
        Only these customer ids (default: every customer in ``baskets``).

    Returns
    -------
    pandas.DataFrame
        :data:`RECOMMEND_COLUMNS`: ``customer_id``, ``rank`` (int64, 1 = best), ``item``,
        ``lift``, ``confidence`` (float64), ``because`` (the antecedent as text) and ``reason``
        ("bought X: customers who buy X are 3.2 times as likely to buy Y"). Customers without a
        suggestion are absent. Sorted by customer, then rank.

    Raises
    ------
    DataContractError
        ``baskets`` has no ``customer_id`` or ``rules`` lacks a column.
    ParameterError
        ``top_k`` < 1, an unknown ``score``, or a rule item unknown to ``baskets``.

    Examples
    --------
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["diapers"], ["beer"]])
    >>> b.baskets["customer_id"] = [1, 2, 3]
    >>> rules = pd.DataFrame({"antecedents": [frozenset({"diapers"})],
    ...                       "consequents": [frozenset({"beer"})],
    ...                       "confidence": [0.5], "lift": [1.5]})
    >>> recommend(b, rules)[["customer_id", "rank", "item", "lift"]]
       customer_id  rank  item  lift
    0            2     1  beer   1.5
    """
    check_interval(top_k, 1, None, name="top_k", where=_WHERE, integer=True, closed="left")
    check_one_of(score, _SCORES, name="score", where=_WHERE)
    check_interval(min_lift, 0, None, name="min_lift", where=_WHERE, closed="left")
    if not isinstance(baskets, Baskets):
        raise ParameterError(f"{_WHERE}: 'baskets' must be Baskets; got "
                             f"{type(baskets).__name__}.", name="baskets")
    check_columns(baskets.baskets, ("customer_id",), where=_WHERE)
    check_columns(rules, ("antecedents", "consequents", "confidence", "lift", score), where=_WHERE)
    empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "rank" else
                                       (float if c in ("lift", "confidence") else object))
                          for c in RECOMMEND_COLUMNS})

    use = rules[(rules["consequents"].map(len) == 1) & (rules["lift"] >= min_lift)]
    if not len(use):
        return empty
    pos = {label: i for i, label in enumerate(baskets.items)}
    unknown = {x for s in list(use["antecedents"]) + list(use["consequents"]) for x in s
               if x not in pos}
    if unknown:
        raise ParameterError(f"{_WHERE}: rule item(s) {sorted(map(str, unknown))[:5]} are not "
                             "items of these baskets.", name="rules")

    # purchase history: customers x items
    cust_codes, cust_ids = pd.factorize(baskets.baskets["customer_id"], sort=True)
    if (cust_codes < 0).any():
        raise DataContractError(f"{_WHERE}: {int((cust_codes < 0).sum())} baskets have no "
                                "customer_id.", column="customer_id")
    G = sp.csr_matrix((np.ones(len(cust_codes)), (cust_codes, np.arange(len(cust_codes)))),
                      shape=(len(cust_ids), baskets.n_baskets))
    H = (G @ baskets.matrix.astype(np.float64)).tocsr()
    H.data[:] = 1.0
    if customers is not None:
        rows = pd.Index(cust_ids).get_indexer(list(customers))
        rows = rows[rows >= 0]
        H, cust_ids = H[rows], np.asarray(cust_ids)[rows]

    # eligibility: all antecedent items bought (H @ A == |A|), consequent not bought
    ante = list(use["antecedents"])
    n_rules = len(use)
    a_rows = np.concatenate([[pos[x] for x in s] for s in ante])
    a_cols = np.repeat(np.arange(n_rules), [len(s) for s in ante])
    A = sp.csr_matrix((np.ones(len(a_rows)), (a_rows, a_cols)), shape=(baskets.n_items, n_rules))
    hits = (H @ A).tocoo()
    need = np.array([len(s) for s in ante])
    ok = hits.data == need[hits.col]
    cust, rule = hits.row[ok], hits.col[ok]
    item = np.array([pos[next(iter(s))] for s in use["consequents"]])[rule]
    owned = np.asarray(H[cust, item]).ravel() > 0
    cust, rule, item = cust[~owned], rule[~owned], item[~owned]
    if not len(cust):
        return empty

    sc = use[score].to_numpy(dtype=float)[rule]
    conf = use["confidence"].to_numpy(dtype=float)[rule]
    # best rule per (customer, item), then top_k items per customer
    order = np.lexsort((item, -conf, -sc, cust))
    cust, rule, item, sc, conf = (x[order] for x in (cust, rule, item, sc, conf))
    pair = cust.astype(np.int64) * baskets.n_items + item
    first = np.ones(len(pair), dtype=bool)
    seen = pd.Index(pair).duplicated(keep="first")
    first &= ~seen
    cust, rule, item, sc, conf = (x[first] for x in (cust, rule, item, sc, conf))
    rank = np.arange(len(cust)) - np.searchsorted(cust, cust, side="left") + 1
    keep = rank <= top_k
    cust, rule, item, rank = cust[keep], rule[keep], item[keep], rank[keep]

    labels = np.asarray(baskets.items, dtype=object)
    lift = use["lift"].to_numpy(dtype=float)[rule]
    because = [items_text(ante[r]) for r in rule]
    reason = [f"bought {b}: {rule_text(ante[r], labels[i], lf, sep=', ')}"
              for b, r, lf, i in zip(because, rule, lift, item, strict=True)]
    return pd.DataFrame({
        "customer_id": np.asarray(cust_ids)[cust], "rank": rank.astype(np.int64),
        "item": labels[item], "lift": lift,
        "confidence": use["confidence"].to_numpy(dtype=float)[rule],
        "because": because, "reason": reason,
    })
