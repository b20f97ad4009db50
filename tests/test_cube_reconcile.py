"""Every cell of the cube reconciles with the database: at every level of every hierarchy the
children sum to their parent, each level matches a GROUP BY straight from the database, and the
grand total equals the sum of the order lines. Repeated on an edited copy of the database (a rep
moved to another region, a product re-categorised, an order cancelled): the cube follows the data.
"""

import sqlite3

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib.cube import ADDITIVE, HIERARCHIES, drill_down_all, load_star

CENT = 0.005  # reconciled to the cent
LINE = ("SUM(l.quantity * l.unit_price * (1 - l.discount)) AS revenue, SUM(l.quantity) AS quantity, "
        "SUM(l.quantity * p.unit_cost) AS cost, COUNT(*) AS lines, COUNT(DISTINCT o.order_id) AS orders, "
        "COUNT(DISTINCT o.customer_id) AS customers")
FROM = ("FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
        "JOIN products p ON p.product_id = l.product_id "
        "JOIN customers c ON c.customer_id = o.customer_id "
        "JOIN channels ch ON ch.channel_id = o.channel_id "
        "LEFT JOIN sales_reps r ON r.rep_id = o.rep_id "
        "LEFT JOIN sales_reps m ON m.rep_id = COALESCE(r.manager_id, r.rep_id) "
        "WHERE o.status = 'completed'")
#: level -> SQL expression of its label
SQL_LEVEL = {
    "year": "substr(o.ordered_at, 1, 4)", "month": "substr(o.ordered_at, 1, 7)",
    "day": "substr(o.ordered_at, 1, 10)",
    "quarter": "substr(o.ordered_at, 1, 4) || 'Q' || ((CAST(substr(o.ordered_at, 6, 2) AS INTEGER) + 2) / 3)",
    "category": "p.category", "subcategory": "p.subcategory", "product": "p.name",
    "price_band": "p.price_band", "customer_region": "c.region", "customer": "CAST(o.customer_id AS TEXT)",
    "segment": "c.income_band", "channel_kind": "ch.kind", "channel": "ch.name",
    "rep_region": "r.region", "manager": "m.name", "rep": "r.name",
}


def _sql(path, levels=()):
    cols = ", ".join(f"{SQL_LEVEL[lvl]} AS {lvl}" for lvl in levels)
    group = f" GROUP BY {', '.join(SQL_LEVEL[lvl] for lvl in levels)}" if levels else ""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return pd.read_sql(f"SELECT {cols + ', ' if cols else ''}{LINE} {FROM}{group}", conn)


@pytest.fixture(scope="module")
def trees(small_url):
    star = load_star(crmlib.connect(small_url), segments="income_band")
    return drill_down_all(star, by="month")


def _children_sum_to_parents(tree, by):
    measures = [m for m in ADDITIVE if m in tree.columns]
    kids = tree[tree["depth"] > 0].assign(key=lambda t: t["parent"].astype(str))
    sums = kids.groupby([*by, "key"], observed=True)[measures].sum().reset_index()
    parents = tree.assign(key=tree["node"].astype(str))[[*by, "key", *measures]]
    joined = sums.merge(parents, on=[*by, "key"], how="left", suffixes=("", "_parent"))
    assert len(joined) == len(sums) and joined.notna().all().all()
    for m in measures:
        assert np.allclose(joined[m], joined[f"{m}_parent"], rtol=0, atol=CENT), m
    # every node except the total has a parent row, and every parent with children is complete
    assert kids["parent"].notna().all()


@pytest.mark.parametrize("hierarchy", list(HIERARCHIES))
def test_children_sum_to_their_parent(trees, hierarchy):
    tree = trees[hierarchy]
    by = [] if hierarchy == "date" else ["month"]
    _children_sum_to_parents(tree, by)
    # orders belong to one day, customer, channel and rep: there they add up too
    if hierarchy in ("date", "week", "customer", "segment", "channel", "rep"):
        kids = tree[tree["depth"] > 0].assign(key=lambda t: t["parent"].astype(str))
        sums = kids.groupby([*by, "key"], observed=True)["orders"].sum().reset_index()
        parents = tree.assign(key=tree["node"].astype(str))[[*by, "key", "orders"]]
        joined = sums.merge(parents, on=[*by, "key"], how="left", suffixes=("", "_parent"))
        assert (joined["orders"] == joined["orders_parent"]).all()


def test_grand_total_equals_the_order_lines(trees, small_path):
    db = _sql(small_path).iloc[0]
    for hierarchy, tree in trees.items():
        top = tree[tree["depth"] == 0]
        for m in ("revenue", "quantity", "cost", "lines"):
            assert abs(top[m].sum() - db[m]) <= CENT, (hierarchy, m)
    date_total = trees["date"].iloc[0]
    assert date_total["orders"] == db["orders"] and date_total["customers"] == db["customers"]
    assert date_total["margin"] == pytest.approx(db["revenue"] - db["cost"], abs=CENT)


@pytest.mark.parametrize("hierarchy", list(HIERARCHIES))
def test_every_level_matches_a_group_by_in_the_database(trees, small_path, hierarchy):
    tree = trees[hierarchy]
    for level in HIERARCHIES[hierarchy]:
        if level == "week":
            continue  # ISO weeks have no SQLite spelling; covered by the sums above
        part = tree[tree["level"] == level]
        cube = part.groupby(part[level].astype(str), observed=True)[
            ["revenue", "quantity", "cost", "lines"]].sum()
        db = _sql(small_path, [level]).set_index(level)[["revenue", "quantity", "cost", "lines"]]
        db.index = db.index.astype(str)
        assert sorted(cube.index) == sorted(db.index), level
        assert np.allclose(cube.loc[db.index].to_numpy(), db.to_numpy(), rtol=0, atol=CENT), level
        if level in ("rep", "channel", "category", "customer_region", "quarter"):
            # distinct counts are exact per cell (no summing involved): check against SQL per member
            whole = drill_down_all(_STAR_CACHE["star"], by=(), hierarchies={hierarchy: level},
                                   measures=["orders", "customers"])[hierarchy]
            whole = whole[whole["level"] == level].set_index(whole.loc[whole["level"] == level, level].astype(str))
            sql = _sql(small_path, [level]).set_index(level)
            sql.index = sql.index.astype(str)
            assert (whole.loc[sql.index, "orders"].to_numpy() == sql["orders"].to_numpy()).all(), level
            assert (whole.loc[sql.index, "customers"].to_numpy() == sql["customers"].to_numpy()).all(), level


_STAR_CACHE = {}


@pytest.fixture(autouse=True, scope="module")
def _star_cache(small_url):
    _STAR_CACHE["star"] = load_star(crmlib.connect(small_url), segments="income_band")
    yield
    _STAR_CACHE.clear()


# ---------------------------------------------------------------- an edited copy
def _level_revenue(trees, hierarchy, level, member):
    t = trees[hierarchy]
    return t.loc[(t["level"] == level) & (t["member"] == member), "revenue"].sum()


def test_the_cube_follows_edits_to_the_database(db_copy):
    url = f"sqlite:///{db_copy}"
    t0 = drill_down_all(load_star(crmlib.connect(url)), by="month", hierarchies=["rep", "product"])
    with sqlite3.connect(db_copy) as conn:
        q = conn.execute
        # a rep moves from region A to region B, under B's manager
        rep_id, rep, region_a = q("SELECT rep_id, name, region FROM sales_reps "
                                  "WHERE manager_id IS NOT NULL ORDER BY rep_id LIMIT 1").fetchone()
        manager_id, manager, region_b = q("SELECT rep_id, name, region FROM sales_reps WHERE manager_id "
                                          "IS NULL AND region != ? ORDER BY rep_id LIMIT 1",
                                          (region_a,)).fetchone()
        q("UPDATE sales_reps SET region = ?, manager_id = ? WHERE rep_id = ?", (region_b, manager_id, rep_id))
        # the best-selling product moves to another category
        product_id, product, category = q(
            "SELECT p.product_id, p.name, p.category FROM products p JOIN order_lines l USING (product_id) "
            "WHERE p.category != 'Toys' GROUP BY p.product_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
        q("UPDATE products SET category = 'Toys', subcategory = 'Board Games' WHERE product_id = ?",
          (product_id,))
        # the largest completed order of a region C (not A or B), with nothing of the two categories
        # the product left and joined, is cancelled
        order_id, order_revenue, region_c = q(
            "SELECT o.order_id, SUM(l.quantity * l.unit_price * (1 - l.discount)) AS rev, r.region "
            "FROM orders o JOIN order_lines l USING (order_id) JOIN sales_reps r ON r.rep_id = o.rep_id "
            "JOIN products p ON p.product_id = l.product_id "
            "WHERE o.status = 'completed' AND r.region NOT IN (?, ?) GROUP BY o.order_id "
            "HAVING SUM(p.category IN (?, 'Toys')) = 0 ORDER BY rev DESC LIMIT 1",
            (region_a, region_b, category)).fetchone()
        q("UPDATE orders SET status = 'cancelled' WHERE order_id = ?", (order_id,))
    t1 = drill_down_all(load_star(crmlib.connect(url)), by="month", hierarchies=["rep", "product"])
    rep_revenue = _level_revenue(t0, "rep", "rep", rep)
    product_revenue = _level_revenue(t0, "product", "product", product)

    # the total follows the cancellation and still equals the order lines in the database
    total0, total1 = (t["rep"].loc[t["rep"]["depth"] == 0, "revenue"].sum() for t in (t0, t1))
    assert total0 - total1 == pytest.approx(order_revenue, abs=CENT)
    assert abs(total1 - _sql(db_copy).iloc[0]["revenue"]) <= CENT

    # the rep sits under region B and its manager, with all their revenue
    moved = t1["rep"][(t1["rep"]["level"] == "rep") & (t1["rep"]["member"] == rep)]
    assert set(moved["node"].astype(str)) == {f"{region_b} / {manager} / {rep}"}
    assert moved["revenue"].sum() == pytest.approx(rep_revenue, abs=CENT)
    for region, change in [(region_a, -rep_revenue), (region_b, rep_revenue), (region_c, -order_revenue)]:
        assert _level_revenue(t1, "rep", "rep_region", region) == pytest.approx(
            _level_revenue(t0, "rep", "rep_region", region) + change, abs=CENT), region

    # the product counts under Toys / Board Games, and its old category lost it
    rows = t1["product"][(t1["product"]["level"] == "product") & (t1["product"]["member"] == product)]
    assert set(rows["node"].astype(str)) == {f"Toys / Board Games / {product}"}
    for cat, change in [(category, -product_revenue), ("Toys", product_revenue)]:
        assert _level_revenue(t1, "product", "category", cat) == pytest.approx(
            _level_revenue(t0, "product", "category", cat) + change, abs=CENT), cat

    # and every level still reconciles
    for h in ("rep", "product"):
        _children_sum_to_parents(t1[h], ["month"])
