"""Key figures for readers: labels and units, changes between runs, inline SVG trend charts.

A notebook records its key figures as plain names and numbers (``revenue_growth=-0.07004``);
the index and the reports show them as a reader would say them ("Revenue growth −7.0%"). Known
names are in :data:`FIGURES`; any other name gets a label from its words and a unit from its
ending (``_share``, ``_pct``, ``_rate``, ``growth`` are fractions shown as percentages).

The trend charts are small inline ``<svg>`` elements (no script, no external file), so the index
stays one self-contained page.
"""

from __future__ import annotations

import html
import math
import numbers

#: What a report says on its first successful run (crmlib.report.changes shows it too).
NOTHING_TO_COMPARE = "This is the report's first successful run: there is nothing to compare yet."

__all__ = ["FIGURES", "changes_html", "format_change", "format_value", "label", "sparkline_svg",
           "trend_points", "unit"]

PERCENT, MONEY, COUNT, RATIO, NUMBER, TEXT = "percent", "money", "count", "ratio", "number", "text"

#: name -> (reader's label, unit). Units: percent (a fraction shown as %), money, count,
#: ratio (times), number, text.
FIGURES: dict[str, tuple[str, str]] = {
    # sales_performance / overview
    "revenue": ("Revenue", MONEY), "revenue_growth": ("Revenue growth", PERCENT),
    "margin": ("Margin", MONEY), "margin_pct": ("Margin", PERCENT), "orders": ("Orders", COUNT),
    "attainment": ("Target attainment", PERCENT), "underperformers": ("Flagged reps and regions", COUNT),
    "period": ("Period", TEXT), "customers": ("Customers", COUNT), "order_value": ("Order value", MONEY),
    # segmentation
    "buyers": ("Buyers", COUNT), "segments": ("RFM segments in use", COUNT),
    "champions_share": ("Champions", PERCENT), "top20_profit_share": ("Profit from the top 20%", PERCENT),
    "clusters": ("Behavioural clusters", COUNT), "clv_total": ("Total CLV", MONEY),
    "clv_median": ("Median CLV", MONEY), "share_probably_lost": ("Probably lost", PERCENT),
    "bgnbd_r": ("BG/NBD r", NUMBER), "gamma_gamma_p": ("Gamma-Gamma p", NUMBER),
    # association_rules
    "baskets": ("Baskets", COUNT), "items": ("Items", COUNT), "itemsets": ("Frequent itemsets", COUNT),
    "rules": ("Rules", COUNT), "significant_rules": ("Significant rules", COUNT),
    "top_lift": ("Top lift", RATIO), "customers_with_suggestions": ("Customers with a cross-sell", COUNT),
    "top_rule": ("Top rule", TEXT),
    # payment_default
    "auc": ("AUC", NUMBER), "gini": ("Gini", NUMBER), "ks": ("KS", NUMBER), "brier": ("Brier score", NUMBER),
    "oracle_auc": ("Best possible AUC", NUMBER), "repeat_defaulter_share": ("Repeat defaulters", PERCENT),
    "expected_loss": ("Expected loss", MONEY), "outstanding": ("Outstanding", MONEY),
    "in_default": ("In default", MONEY), "score_psi": ("Score PSI vs training", NUMBER),
    "score_psi_since_last_run": ("Score PSI since the last run", NUMBER),
    "watch_list": ("Customers on the watch list", COUNT),
    # campaign_targeting
    "contacts": ("Contacts", COUNT), "expected_profit": ("Expected profit", MONEY),
    "incremental_per_1000": ("Extra conversions per 1,000 contacts", NUMBER),
    "qini_coefficient": ("Qini coefficient", NUMBER), "target_overlap": ("Target list kept from the last run", PERCENT),
    # data_quality
    "tables": ("Tables", COUNT), "green": ("Green checks", COUNT), "amber": ("Amber checks", COUNT),
    "red": ("Red checks", COUNT), "likely_duplicates": ("Likely duplicates", COUNT),
    "quarantined_rows": ("Quarantined rows", COUNT),
}
_PERCENT_ENDINGS = ("_share", "_pct", "_rate", "growth", "_ratio_pct")
MINUS = "\u2212"


def unit(name: str) -> str:
    """The unit of key figure ``name`` (see :data:`FIGURES`)."""
    if name in FIGURES:
        return FIGURES[name][1]
    if name.endswith("_id"):
        return TEXT
    if name.endswith(_PERCENT_ENDINGS) or name.startswith("share_"):
        return PERCENT
    if name.endswith(("_count", "_customers")) or name.startswith("n_"):
        return COUNT
    return NUMBER


def label(name: str) -> str:
    """A reader's label for key figure ``name``: ``revenue_growth`` -> ``Revenue growth``."""
    if name in FIGURES:
        return FIGURES[name][0]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    v = float(value)
    return None if math.isnan(v) or math.isinf(v) else v


def _signed(text: str) -> str:
    return text.replace("-", MINUS)


def format_value(name: str, value) -> str:
    """``value`` of key figure ``name`` with its unit: ``-0.07004`` -> ``−7.0%``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = _number(value)
    if v is None:
        return str(value)
    kind = unit(name)
    if kind == TEXT:
        return str(value)
    if kind == PERCENT:
        return _signed(f"{v:.1%}")
    if kind == MONEY:
        return _signed(f"{v:,.0f}") if abs(v) >= 100 else _signed(f"{v:,.2f}")
    if kind == COUNT:
        return _signed(f"{v:,.0f}")
    if kind == RATIO:
        return _signed(f"{v:.2f}×")
    if abs(v) >= 1000:
        return _signed(f"{v:,.0f}")
    return _signed(f"{v:.3g}") if abs(v) >= 0.001 or v == 0 else _signed(f"{v:.2e}")


def format_change(name: str, before, after) -> str:
    """The change from ``before`` to ``after``: points for percentages, else absolute and relative."""
    if before is None and after is not None:
        return "new"
    if after is None and before is not None:
        return "gone"
    a, b = _number(after), _number(before)
    if a is None or b is None:
        return "no change" if before == after else "changed"
    if a == b:
        return "no change"
    kind = unit(name)
    if kind == PERCENT:
        return _signed(f"{(a - b) * 100:+.1f} points")
    diff = format_value(name, a - b)
    if not diff.startswith(MINUS):
        diff = "+" + diff
    return diff + (_signed(f" ({a / b - 1:+.1%})") if b else "")


def changes_html(previous: dict | None, current: dict, *, previous_started: str | None = None) -> str:
    """An HTML table of every key figure last run, this run and the change (escaped)."""
    if previous is None:
        return f'<p class="crmlib-since-none">{html.escape(NOTHING_TO_COMPARE)}</p>'
    when = (previous_started or "").replace("T", " ").replace("Z", "")[:16]
    rows = []
    for name in list(current) + [n for n in previous if n not in current]:
        if name == "engine":
            continue
        before, after = previous.get(name), current.get(name)
        rows.append(f"<tr><th>{html.escape(label(name))}</th>"
                    f'<td class="num">{html.escape(format_value(name, before))}</td>'
                    f'<td class="num">{html.escape(format_value(name, after))}</td>'
                    f'<td class="num">{html.escape(format_change(name, before, after))}</td></tr>')
    caption = "Key figures: last run" + (f" ({html.escape(when)} UTC)" if when else "") + " and this run"
    return (f'<table class="crmlib-since dataframe"><caption>{caption}</caption><thead><tr><th></th>'
            "<th>last run</th><th>this run</th><th>change</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def trend_points(summaries: list[dict], name: str) -> list[tuple[str, float]]:
    """(started, value) of figure ``name`` over ``summaries`` (oldest first), numbers only."""
    if unit(name) == TEXT:
        return []
    points = []
    for s in summaries:
        v = _number((s.get("metrics") or {}).get(name))
        if v is not None:
            points.append((str(s.get("started") or s.get("run_id") or ""), v))
    return points


def sparkline_svg(name: str, points: list[tuple[str, float]], *, width: int = 120,
                  height: int = 28) -> str:
    """A small inline SVG line of ``points`` (oldest first), with a title per point for tooltips."""
    if not points:
        return ""
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    pad = 3
    n = len(values)
    xs = [pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    ys = [height - pad - (height - 2 * pad) * ((v - lo) / span if hi > lo else 0.5) for v in values]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    first, last = format_value(name, values[0]), format_value(name, values[-1])
    title = html.escape(f"{label(name)} over the last {n} run{'s' if n != 1 else ''}: {first} to {last}")
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.2 if i == n - 1 else 1.4}">'
        f"<title>{html.escape(when.replace('T', ' ').replace('Z', '')[:16])}: "
        f"{html.escape(format_value(name, v))}</title></circle>"
        for i, (x, y, (when, v)) in enumerate(zip(xs, ys, points, strict=True)))
    line = f'<polyline points="{path}" fill="none" stroke="#2b6cb0" stroke-width="1.5"/>' if n > 1 else ""
    return (f'<svg class="trend" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" fill="#2b6cb0">'
            f"<title>{title}</title>{line}{dots}</svg>")
