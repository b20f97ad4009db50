"""Association-rule mining on baskets (orders): encode, mine, rules, prune, compare, cross-sell.

>>> from crmlib.baskets import Baskets, mine_rules, readable
>>> b = Baskets.from_transactions([["beer", "diapers"], ["beer", "diapers"], ["milk"]])
>>> readable(mine_rules(b, min_support=0.5))[["if bought", "then also", "lift"]]
  if bought then also  lift
0   diapers      beer   1.5
1      beer   diapers   1.5
"""

from .compare import lift_by, lift_contrast
from .crosssell import recommend
from .encode import FILTERS, LEVELS, WEEKDAYS, Baskets, make_baskets
from .findings import contrast_findings, rule_findings
from .holdout import count_itemsets, holdout_check, holdout_findings, split_at
from .mine import (
    ITEMSET_KINDS,
    MINING_ENGINES,
    EmptyResultWarning,
    EngineFallbackWarning,
    frequent_itemsets,
)
from .prune import (
    closed_itemsets,
    is_redundant,
    maximal_itemsets,
    prune_redundant,
    select_itemsets,
)
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
from .sequences import next_purchase_rules, sequence_findings
from .targets import rules_about, target_items

__all__ = [
    "CORRECTIONS",
    "MINING_ENGINES",
    "FILTERS",
    "ITEMSET_KINDS",
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
    "closed_itemsets",
    "contrast_findings",
    "count_itemsets",
    "frequent_itemsets",
    "holdout_check",
    "holdout_findings",
    "is_redundant",
    "lift_by",
    "lift_contrast",
    "make_baskets",
    "maximal_itemsets",
    "mine_rules",
    "next_purchase_rules",
    "prune_redundant",
    "readable",
    "recommend",
    "rule_findings",
    "rules_about",
    "select_itemsets",
    "sequence_findings",
    "significant",
    "split_at",
    "target_items",
]
