"""Plain-language findings from rules and comparisons ("customers who buy X are N times as likely
to buy Y"), so the notebook only prints them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..definitions import rule_text
from .encode import WEEKDAYS

__all__ = ["contrast_findings", "rule_findings"]

_PLURAL_DAYS = dict(zip(WEEKDAYS, ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays",
                                   "Saturdays", "Sundays"), strict=True))


def rule_findings(rules: pd.DataFrame, *, top_n: int = 5, min_lift: float = 1.0) -> list[str]:
    """One sentence per strong rule, strongest first.

    A rule and its reverse (same items, sides swapped) have the same lift; only the direction
    with the higher confidence is told. Rules with lift below ``min_lift`` are skipped.

    Returns
    -------
    list of str
        At most ``top_n`` sentences such as "Customers who buy Smartphone are 19.6 times as likely
        to buy Phone Case (50% of their baskets hold it; 5,091 baskets)."

    Examples
    --------
    >>> rules = pd.DataFrame({"antecedents": [frozenset({"beer"}), frozenset({"diapers"})],
    ...                       "consequents": [frozenset({"diapers"}), frozenset({"beer"})],
    ...                       "confidence": [0.4, 0.6], "lift": [2.0, 2.0], "count": [40, 40]})
    >>> rule_findings(rules)
    ['Customers who buy diapers are 2.0 times as likely to buy beer (60% of their baskets hold it; 40 baskets).']
    """
    where = "baskets.rule_findings"
    check_interval(top_n, 1, None, name="top_n", where=where, integer=True, closed="left")
    check_columns(rules, ("antecedents", "consequents", "confidence", "lift"), where=where)
    strong = rules[rules["lift"] >= min_lift]
    out = []
    for _, row in _one_direction(strong, "confidence").iterrows():
        count = f"; {int(row['count']):,} baskets" if "count" in row else ""
        text = rule_text(row["antecedents"], row["consequents"], row["lift"])
        out.append(f"{text[0].upper()}{text[1:]} ({row['confidence']:.0%} of their baskets hold it{count}).")
        if len(out) == top_n:
            break
    return out


def contrast_findings(contrast: pd.DataFrame, *, min_ratio: float = 1.5, top_n: int = 3
                      ) -> list[str]:
    """Sentences for rules whose lift inside a group is at least ``min_ratio`` times their lift
    elsewhere (a :func:`~crmlib.baskets.lift_contrast` table).

    Examples
    --------
    >>> table = pd.DataFrame({"antecedents": [frozenset({"Diapers"})],
    ...                       "consequents": [frozenset({"Beer"})],
    ...                       "lift_in": [3.1], "lift_out": [1.1], "lift_ratio": [2.8]})
    >>> table.attrs.update(by="weekday", value="Fri")
    >>> contrast_findings(table)
    ['On Fridays, customers who buy Diapers are 3.1 times as likely to buy Beer, against 1.1 times on other days.']
    """
    where = "baskets.contrast_findings"
    check_columns(contrast, ("antecedents", "consequents", "lift_in", "lift_out", "lift_ratio"),
                  where=where)
    by, value = contrast.attrs.get("by"), contrast.attrs.get("value")
    if by == "weekday" and str(value)[:3].title() in _PLURAL_DAYS:
        inside, outside = f"On {_PLURAL_DAYS[str(value)[:3].title()]}", "on other days"
    else:
        inside, outside = f"Where {by} is {value}", "elsewhere"
    out = []
    sort = "confidence_in" if "confidence_in" in contrast else "lift_in"
    chosen = _one_direction(contrast, sort, lift="lift_ratio")
    for _, row in chosen.iterrows():
        if not (row["lift_ratio"] >= min_ratio):  # also skips NaN
            continue
        text = rule_text(row["antecedents"], row["consequents"], row["lift_in"])
        out.append(f"{inside}, {text}, against {row['lift_out']:.1f} times {outside}.")
        if len(out) == top_n:
            break
    return out


def _one_direction(rules: pd.DataFrame, confidence: str, lift: str = "lift") -> pd.DataFrame:
    """Of a rule and its reverse (equal lift), keep the one with the higher ``confidence``;
    order the kept rules by ``lift`` (descending; pairs compared on their best lift)."""
    if not len(rules):
        return rules
    key = [frozenset((a, c)) for a, c in zip(rules["antecedents"], rules["consequents"],
                                               strict=True)]
    frame = rules.assign(_key=key, _pos=np.arange(len(rules)))
    frame["_lift"] = frame.groupby("_key", sort=False)[lift].transform("max")
    frame = frame.sort_values([confidence, "_pos"], ascending=[False, True], kind="stable")
    frame = frame.drop_duplicates("_key", keep="first")
    frame = frame.sort_values(["_lift", "_pos"], ascending=[False, True], kind="stable")
    return frame.drop(columns=["_key", "_pos", "_lift"])
