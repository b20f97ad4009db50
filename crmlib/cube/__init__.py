"""Sales performance cube: a star schema over the CRM's order lines and OLAP operations on it."""

from .ops import add_ratios, aggregate, dice, drill_down, drill_down_all, pivot, roll_up, slice_
from .star import ADDITIVE, DISTINCT, HIERARCHIES, LEVELS, MEASURES, Star, build_star, load_star

__all__ = [
    "ADDITIVE", "DISTINCT", "HIERARCHIES", "LEVELS", "MEASURES", "Star", "add_ratios", "aggregate",
    "build_star", "dice", "drill_down", "drill_down_all", "load_star", "pivot", "roll_up", "slice_",
]
