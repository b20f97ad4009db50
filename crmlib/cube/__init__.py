"""Sales performance cube: a star schema over the CRM's order lines, OLAP operations on it,
comparisons against periods and targets, underperformance flags, plots and offline HTML tables.

>>> import crmlib
>>> from crmlib import cube
>>> star = cube.load_star(crmlib.connect())                          # doctest: +SKIP
>>> tree = cube.drill_down(star, "rep", by="quarter")                # doctest: +SKIP
>>> flags = cube.flag_underperformers(cube.attainment(star))         # doctest: +SKIP

Modules: :mod:`.star` (the schema), :mod:`.ops` (aggregate, drill down, roll up, slice, dice,
pivot), :mod:`.metrics` (growth, share, rank, attainment), :mod:`.flags` (rule and gap
decomposition), :mod:`.review` (the steps of a sales review: selection, period, flags explained,
findings), :mod:`.plots`, :mod:`.html` (interactive offline tables). See docs/cube.md.
"""

from .flags import decompose_gap, explain, flag_underperformers, rule_text
from .html import drill_down_html, table_html
from .metrics import (
    COMPARE_TO,
    attainment,
    base_period,
    growth,
    parse_period,
    rank_within,
    share_of_total,
)
from .ops import (
    add_ratios,
    aggregate,
    dice,
    drill_down,
    drill_down_all,
    pivot,
    roll_up,
    slice_,
    subtree,
)
from .review import (
    COMPARE_TEXT,
    ENDS_COLUMNS,
    EXPLAINED_COLUMNS,
    ReviewPeriod,
    Selection,
    customer_ends,
    explain_flags,
    findings,
    flag_table,
    pick_ends,
    resolve_period,
    segments_at,
    select,
)
from .star import (
    ADDITIVE,
    DISTINCT,
    HIERARCHIES,
    LEVELS,
    MEASURES,
    Star,
    build_star,
    load_star,
    with_segments,
)

__all__ = [
    "ADDITIVE", "COMPARE_TO", "DISTINCT", "HIERARCHIES", "LEVELS", "MEASURES", "Star", "add_ratios",
    "aggregate", "attainment", "base_period", "build_star", "decompose_gap", "dice", "drill_down",
    "drill_down_all", "drill_down_html", "explain", "flag_underperformers", "growth", "load_star",
    "parse_period", "pivot", "rank_within", "roll_up", "rule_text", "share_of_total", "slice_",
    "subtree", "table_html", "with_segments",
    # review: the steps of the sales_performance report
    "COMPARE_TEXT", "ENDS_COLUMNS", "EXPLAINED_COLUMNS", "ReviewPeriod", "Selection", "customer_ends",
    "explain_flags", "findings", "flag_table", "pick_ends", "resolve_period", "segments_at", "select",
]
