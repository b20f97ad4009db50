"""The steps of a sales review (the ``sales_performance`` report) that are logic, not narrative:
which part of the star is reviewed, which period against which, RFM segments at the start of the
period, the flagged underperformers with their gap explained, and the findings sentences.

Every function takes frames or a :class:`~crmlib.cube.star.Star` and returns a frame, a string,
a list of strings or a small dataclass; nothing here opens a database or displays anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from .._validation import check_columns, check_interval, check_one_of, check_type
from ..errors import ParameterError
from .flags import decompose_gap, flag_underperformers
from .metrics import COMPARE_TO, attainment, base_period, growth, parse_period
from .ops import aggregate, dice, subtree
from .star import HIERARCHIES, Star

__all__ = ["COMPARE_TEXT", "ENDS_COLUMNS", "EXPLAINED_COLUMNS", "ReviewPeriod", "Selection", "customer_ends",
           "explain_flags", "findings", "flag_table", "pick_ends", "resolve_period", "segments_at", "select"]

#: How each ``compare_to`` reads in a sentence ('... compared with the same period last year').
COMPARE_TEXT = {"sply": "the same period last year", "previous": "the period before",
                "ytd": "the same span last year"}
#: Columns of :func:`explain_flags` (rep-hierarchy columns of the decomposition may follow).
EXPLAINED_COLUMNS = ("period", "level", "member", "revenue", "reference", "attainment", "reason",
                     "volume_effect", "price_effect", "mix_effect", "driver")
#: Columns of :func:`customer_ends`.
ENDS_COLUMNS = ("customer_region", "group", "customer_id", "revenue", "orders")
_EFFECTS = ("volume_effect", "price_effect", "mix_effect", "driver")
_DRIVER_WORDS = {"volume": "fewer units sold", "price": "lower net prices", "mix": "a weaker product mix"}


@dataclass(frozen=True)
class Selection:
    """The part of the star a review looks at.

    Attributes
    ----------
    slices : dict
        ``{level: member}`` to dice the star with (empty: the whole company).
    selected : tuple of (str, str) or None
        The deepest selected member of the rep hierarchy, ``('rep', name)`` or
        ``('rep_region', region)``; None when no region or rep is chosen.
    to : str
        The deepest rep-hierarchy level shown ('rep' when one rep is selected).
    """

    slices: dict = field(default_factory=dict)
    selected: tuple[str, str] | None = None
    to: str = "rep"

    def view(self, star: Star) -> Star:
        """The star diced to the selection (the star itself when nothing is selected)."""
        return dice(star, self.slices) if self.slices else star

    def label(self, period) -> str:
        """The period followed by the selection, e.g. '2025Q2 (rep_region East)'."""
        return f"{period}" + (f" ({', '.join(f'{k} {v}' for k, v in self.slices.items())})"
                              if self.slices else "")


@dataclass(frozen=True)
class ReviewPeriod:
    """The period reviewed and the one it is compared with.

    Attributes
    ----------
    level : str
        Date level of the period ('year', 'quarter', 'month', 'week' or 'day').
    period, base : pandas.Period
        The period reviewed and its comparison period.
    compare_to : {'sply', 'previous', 'ytd'}
    """

    level: str
    period: pd.Period
    base: pd.Period
    compare_to: str

    @property
    def text(self) -> str:
        """The comparison in words: 'the same period last year', 'the period before', ..."""
        return COMPARE_TEXT[self.compare_to]

    @property
    def growth_compare(self) -> str:
        """``compare_to`` for period-by-period growth tables ('ytd' compares like 'sply')."""
        return "sply" if self.compare_to == "ytd" else self.compare_to

    @property
    def start(self) -> pd.Timestamp:
        """Midnight of the first day of the period."""
        return self.period.start_time.normalize()

    def heading(self, selection: Selection | None = None) -> str:
        """The report line: '**Period reviewed: 2025Q4**, compared with ... (2024Q4).'"""
        label = selection.label(self.period) if selection is not None else f"{self.period}"
        return f"**Period reviewed: {label}**, compared with {self.text} ({self.base})."


def select(star: Star, *, region=None, rep=None, channel=None, level: str = "rep") -> Selection:
    """The slices, selected member and deepest level of a review of ``star``.

    Parameters
    ----------
    star : Star
    region : str, optional
        Only this sales region (``rep_region``).
    rep : str, optional
        Only this sales rep (name).
    channel : str, optional
        Only this channel kind ('store', 'online', 'phone') or channel name.
    level : str, default='rep'
        Deepest level of the drill-down: one of ``HIERARCHIES['rep']``.

    Returns
    -------
    Selection

    Raises
    ------
    ParameterError
        ``level`` is not a level of the rep hierarchy.

    Examples
    --------
    >>> select(star, region="East").slices                             # doctest: +SKIP
    {'rep_region': 'East'}
    """
    check_one_of(level, HIERARCHIES["rep"], name="level", where="cube.select")
    slices = {}
    if region is not None:
        slices["rep_region"] = region
    if rep is not None:
        slices["rep"] = rep
    if channel is not None:
        slices["channel_kind" if channel in set(star.members("channel_kind")) else "channel"] = channel
    # targets are compared on the whole company and the selection cut from that tree, so a region
    # or rep is judged against its real parent: remember the deepest selected member
    selected = ("rep", rep) if rep is not None else (("rep_region", region) if region is not None else None)
    return Selection(slices=slices, selected=selected, to="rep" if rep is not None else level)


def resolve_period(view: Star, period=None, compare_to: str = "sply") -> ReviewPeriod:
    """The period reviewed and the period it is compared with.

    Parameters
    ----------
    view : Star
        The (diced) star reviewed; its last day decides the default period.
    period : str or pandas.Period, optional
        '2025Q2', '2025-06', '2025', ...; None: the latest quarter the data cover to its last day.
    compare_to : {'sply', 'previous', 'ytd'}, default='sply'
        The same period last year, the period before, or year to date against last year.

    Returns
    -------
    ReviewPeriod

    Raises
    ------
    ParameterError
        Unknown ``compare_to`` or a period that cannot be parsed.

    Examples
    --------
    >>> resolve_period(star, "2025Q2", "previous").base                # doctest: +SKIP
    Period('2025Q1', 'Q-DEC')
    """
    check_one_of(compare_to, COMPARE_TO, name="compare_to", where="cube.resolve_period")
    if period is None:  # the latest quarter that the data cover to its last day
        last_day = pd.Period(view.members("day").max(), freq="D")
        quarter = last_day.asfreq("Q")
        level, p = "quarter", (quarter if last_day == quarter.asfreq("D", "end") else quarter - 1)
    else:
        level, p = parse_period(period)
    return ReviewPeriod(level=level, period=p, base=base_period(p, level, compare_to),
                        compare_to=compare_to)


def segments_at(orders: pd.DataFrame, order_lines: pd.DataFrame, customers: pd.DataFrame, *,
                start) -> pd.DataFrame:
    """Each customer's RFM segment as of the day before ``start`` (customers coming into a period).

    Parameters
    ----------
    orders, order_lines : pandas.DataFrame
        Orders and their lines before ``start`` (as :mod:`crmlib.segments` takes them).
    customers : pandas.DataFrame
        ``customer_id`` of every customer; those without orders get 'No Purchase'.
    start : str or pandas.Timestamp
        First day of the period reviewed.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``segment`` (as :func:`crmlib.segments.rfm_scores` names them): ready for
        :func:`~crmlib.cube.star.with_segments`.
    """
    from .. import segments

    start = pd.Timestamp(start)
    tx = segments.order_values(orders, order_lines)
    rfm = segments.rfm_scores(segments.rfm_table(tx, as_of=start - pd.Timedelta(days=1),
                                                 customers=customers))
    return rfm[["customer_id", "segment"]]


def customer_ends(star: Star, *, where: Mapping | None = None, n: int = 3) -> pd.DataFrame:
    """The ``n`` customers with the most and the ``n`` with the least revenue in each customer region.

    Parameters
    ----------
    star : Star
        A star of order lines (it has the ``customer`` level). On Spark,
        :func:`crmlib.cube.spark.customer_ends` gives the same table from a summary star.
    where : dict, optional
        Dice, as for :func:`~crmlib.cube.ops.aggregate` (e.g. ``{'quarter': ['2025Q2']}``).
    n : int, default=3

    Returns
    -------
    pandas.DataFrame
        :data:`ENDS_COLUMNS`: per region the top ``n`` ('top 3') and the bottom ``n`` ('bottom 3')
        customers by revenue (ties by customer id; a region with fewer than ``2 n`` customers
        lists some in both), regions in order, top before bottom, revenue descending.
    """
    check_interval(n, 1, name="n", where="cube.customer_ends", integer=True)
    if star.is_summary:
        raise ParameterError("cube.customer_ends: a summary star has no single customers; use "
                             "crmlib.cube.spark.customer_ends (or engines.analyses.customer_ends).", name="star")
    per = aggregate(star, ["customer"], measures=["revenue", "orders"], where=where)
    per = pd.DataFrame({"customer_region": per["customer_region"].astype(str),
                        "customer_id": per["customer"].astype("int64"),
                        "revenue": per["revenue"], "orders": per["orders"]})
    return pick_ends(per, n=n)


def pick_ends(per_customer: pd.DataFrame, *, n: int = 3) -> pd.DataFrame:
    """:func:`customer_ends`' table from per-customer ``customer_region``, ``customer_id``,
    ``revenue``, ``orders`` (or from each part's candidates: the ends of the ends are the ends)."""
    check_interval(n, 1, name="n", where="cube.pick_ends", integer=True)
    ranked = per_customer.sort_values(["customer_region", "revenue", "customer_id"], ascending=[True, False, True],
                                      kind="stable")
    rank = ranked.groupby("customer_region", sort=False).cumcount()
    size = ranked.groupby("customer_region", sort=False)["customer_id"].transform("size")
    top = ranked[(rank < n).to_numpy()].assign(group=f"top {n}")
    bottom = ranked[(rank >= size - n).to_numpy()].assign(group=f"bottom {n}")
    ends = pd.concat([top, bottom]).sort_values(["customer_region", "group", "revenue"],
                                                ascending=[True, False, False], kind="stable")
    return ends[list(ENDS_COLUMNS)].reset_index(drop=True)


def explain_flags(star: Star, *, to: str = "rep", selected: tuple[str, str] | None = None,
                  period: str = "quarter") -> pd.DataFrame:
    """Every flagged region, manager or rep in every period, with its gap to target explained.

    The rule of :func:`~crmlib.cube.flags.flag_underperformers` runs on the attainment tree of
    each period; the gap of each flagged member is split into volume, price and mix by
    :func:`~crmlib.cube.flags.decompose_gap`. A flagged company total is listed as 'company'
    without a split.

    Parameters
    ----------
    star : Star
        The whole star, with targets.
    to : str, default='rep'
        Deepest rep-hierarchy level flagged.
    selected : tuple of (str, str), optional
        ``(level, member)``: only that member, what is below it and its parents.
    period : {'month', 'quarter', 'year'}, default='quarter'
        The periods the rule is applied to.

    Returns
    -------
    pandas.DataFrame
        One row per flag, in tree order: :data:`EXPLAINED_COLUMNS` (``period`` Period, ``level``
        and ``member`` str, ``revenue``, ``reference`` (the target), ``attainment``, ``reason``,
        the effects (float) and ``driver`` ('volume', 'price' or 'mix'; NaN for the company)),
        then the decomposition's other columns. Empty (with those columns) when nothing is flagged.

    Raises
    ------
    ParameterError
        ``to`` is not a rep-hierarchy level, or ``selected`` is not a ``(level, member)`` pair.

    Examples
    --------
    >>> explain_flags(star, to="rep")[["member", "period", "driver"]]   # doctest: +SKIP
    """
    where = "cube.explain_flags"
    check_one_of(to, HIERARCHIES["rep"], name="to", where=where)
    if selected is not None and not (isinstance(selected, tuple) and len(selected) == 2):
        raise ParameterError(f"{where}: 'selected' must be a (level, member) pair or None; "
                             f"got {selected!r}.", name="selected")
    tree = flag_underperformers(attainment(star, to=to, period=period))
    if selected:
        tree = subtree(tree, *selected)
    rows = []
    for row in tree[tree["flagged"]].to_dict("records"):
        if row["level"] == "total":  # the whole company: its regions are listed instead
            rows.append({"period": row[period], "level": "company", "member": "All",
                         "revenue": row["revenue"], "reference": row["target"],
                         "attainment": row["attainment"], "reason": row["reason"]})
            continue
        d = decompose_gap(star, period=row[period], level=str(row["level"]), members=[str(row["member"])])
        rows.append(d.iloc[0].to_dict() | {"level": str(row["level"]), "member": str(row["member"]),
                                           "attainment": row["attainment"], "reason": row["reason"]})
    out = pd.DataFrame(rows)
    for col in EXPLAINED_COLUMNS:
        if col not in out:
            out[col] = pd.Series(dtype=object if col in ("period", "level", "member", "reason", "driver")
                                 else float)
    return out


def flag_table(explained: pd.DataFrame) -> pd.DataFrame:
    """The report table of :func:`explain_flags`: one row per flag, the target named as such.

    Parameters
    ----------
    explained : pandas.DataFrame
        As returned by :func:`explain_flags`.

    Returns
    -------
    pandas.DataFrame
        ``member``, ``quarter`` (the period as text), ``level``, ``revenue``, ``target``,
        ``attainment``, then ``volume_effect``, ``price_effect``, ``mix_effect``, ``driver`` when
        any flag has a split.

    Raises
    ------
    DataContractError
        A column of :data:`EXPLAINED_COLUMNS` is missing.
    """
    check_columns(explained, EXPLAINED_COLUMNS, where="cube.flag_table")
    effects = [c for c in _EFFECTS if explained[c].notna().any()]
    show = explained.assign(quarter=explained["period"].astype(str))[
        ["member", "quarter", "level", "revenue", "reference", "attainment", *effects]]
    return show.rename(columns={"reference": "target"})


def findings(view: Star, review: ReviewPeriod, *, headline: Mapping, revenue_growth: float,
             mix: pd.DataFrame, explained: pd.DataFrame, attainment: float | None = None,
             who: str = "The company", targets: bool = True) -> list[str]:
    """The findings of a sales review, one sentence each.

    Parameters
    ----------
    view : Star
        The (diced) star reviewed; its regions' growth in the period is compared.
    review : ReviewPeriod
        From :func:`resolve_period`.
    headline : mapping
        ``revenue`` and ``margin_pct`` of the period (a row of
        :func:`~crmlib.cube.ops.add_ratios`).
    revenue_growth : float
        Revenue growth against the comparison period (NaN: no base revenue).
    mix : pandas.DataFrame
        ``dimension``, ``member``, ``revenue``, ``share``: the period's mix table; its 'channel
        kind' rows name the largest channel.
    explained : pandas.DataFrame
        From :func:`explain_flags` (``member``, ``level``, ``period``, ``attainment``, ``driver``).
    attainment : float, optional
        Attainment of the company or the selected member in the period; None: no target sentence.
    who : str, default='The company'
        Who ``attainment`` belongs to.
    targets : bool, default=True
        Whether targets were checked (False for a channel view): says so when nothing is flagged.

    Returns
    -------
    list of str

    Raises
    ------
    DataContractError
        ``mix`` or ``explained`` lacks a column used.
    ParameterError
        ``headline`` is not a mapping.

    Examples
    --------
    >>> findings(view, review, headline=now, revenue_growth=0.03, mix=mix,
    ...          explained=explained)                                 # doctest: +SKIP
    ['Revenue in 2025Q4 was 190,340 with a margin of 31.2%, +3.0% against ...', ...]
    """
    where = "cube.findings"
    check_type(headline, (Mapping, pd.Series), name="headline", where=where, type_name="a mapping")
    check_columns(mix, ("dimension", "member", "revenue", "share"), where=f"{where}(mix)")
    check_columns(explained, ("member", "level", "period", "attainment", "driver"),
                  where=f"{where}(explained)")
    p = review.period
    regions = growth(aggregate(view, ["rep_region", review.level], measures=["revenue"]),
                     compare_to=review.growth_compare)
    regions = regions[regions[review.level] == p].dropna(subset=["revenue_growth"]).sort_values("revenue_growth")
    best_channel = mix[mix["dimension"] == "channel kind"].sort_values("revenue", ascending=False).iloc[0]
    sentences = [
        f"Revenue in {p} was {headline['revenue']:,.0f} with a margin of {headline['margin_pct']:.1%}"
        + (f", {revenue_growth:+.1%} against {review.text}." if pd.notna(revenue_growth) else "."),
        f"{best_channel['member'].capitalize()} sales bring {best_channel['share']:.0%} of revenue.",
    ]
    if len(regions) > 1:
        lo, hi = regions.iloc[0], regions.iloc[-1]
        sentences.append(f"By sales region, revenue growth ranged from {lo['revenue_growth']:+.1%} "
                         f"({lo['rep_region']}) to {hi['revenue_growth']:+.1%} ({hi['rep_region']}).")
    if attainment is not None:
        sentences.append(f"{who} reached {attainment:.0%} of target in {p}.")
    if len(explained):
        for row in explained.to_dict("records"):
            why = f", mainly through {_DRIVER_WORDS[row['driver']]}" if isinstance(row.get("driver"), str) else ""
            sentences.append(f"{row['member']} ({row['level'].replace('rep_region', 'region')}) fell "
                             f"{1 - row['attainment']:.0%} short of target in {row['period']}{why}.")
    elif targets:
        sentences.append("No region, manager or rep fell short of target by the rule's margin in any quarter.")
    return sentences

