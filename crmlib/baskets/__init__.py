"""Association-rule mining on baskets (orders): encode, mine, rules, prune, compare, cross-sell.

>>> from crmlib.baskets import Baskets, mine_rules
>>> b = Baskets.from_transactions([["beer", "diapers"], ["beer", "diapers"], ["milk"]])
>>> mine_rules(b, min_support=0.5)[["antecedents", "consequents", "lift"]]
  antecedents consequents  lift
0      (beer)   (diapers)   1.5
1   (diapers)      (beer)   1.5
"""

from .encode import FILTERS, LEVELS, WEEKDAYS, Baskets, make_baskets
from .mine import ENGINES, EmptyResultWarning, EngineFallbackWarning, frequent_itemsets
from .rules import (
    CORRECTIONS,
    MEASURES,
    RULE_COLUMNS,
    RulesCappedWarning,
    adjust_pvalues,
    association_rules,
    mine_rules,
    readable,
    significant,
)

__all__ = [
    "CORRECTIONS",
    "ENGINES",
    "FILTERS",
    "LEVELS",
    "MEASURES",
    "RULE_COLUMNS",
    "WEEKDAYS",
    "Baskets",
    "EmptyResultWarning",
    "EngineFallbackWarning",
    "RulesCappedWarning",
    "adjust_pvalues",
    "association_rules",
    "frequent_itemsets",
    "make_baskets",
    "mine_rules",
    "readable",
    "significant",
]
