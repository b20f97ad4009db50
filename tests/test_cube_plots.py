"""crmlib.cube.plots: each plot draws on the given Axes (or a new one) and returns it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from cube_tiny import star  # noqa: E402

from crmlib.cube import aggregate, attainment, decompose_gap, drill_down, flag_underperformers  # noqa: E402
from crmlib.cube.plots import (  # noqa: E402
    plot_attainment,
    plot_drill_down,
    plot_gap_bridge,
    plot_mix,
    plot_trend,
)
from crmlib.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    return star()


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_trend(tiny, ax):
    t = aggregate(tiny, ["rep", "month"], measures=["revenue"])
    assert plot_trend(t, by="rep", ax=ax) is ax
    assert len(ax.lines) == 2
    assert plot_trend(aggregate(tiny, ["month"], measures=["revenue"])) is not None
    plt.close("all")


def test_drill_down_bars(tiny, ax):
    tree = drill_down(tiny, "rep", by="year", measures=["revenue"])
    assert plot_drill_down(tree, period="2024", ax=ax) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Dee", "Bob"]
    assert ax.get_title() == "revenue by rep, 2024"


def test_attainment_marks_flags(tiny, ax):
    tree = flag_underperformers(attainment(tiny, period="quarter"))
    assert plot_attainment(tree, level="rep_region", period="2025Q1", ax=ax) is ax
    assert [round(p.get_width()) for p in ax.patches] == [75]


def test_mix_and_bridge(tiny, ax):
    assert plot_mix(aggregate(tiny, ["quarter", "category"], measures=["revenue"]), "category", ax=ax) is ax
    fig, ax2 = plt.subplots()
    row = decompose_gap(tiny, period="2025Q1", level="rep", members=["Dee"]).iloc[0]
    assert plot_gap_bridge(row, ax=ax2) is ax2
    assert len(ax2.patches) == 5
    plt.close(fig)


@pytest.mark.parametrize("call, match", [
    (lambda t: plot_trend(aggregate(t, ["rep"], measures=["revenue"])), r"needs one period column"),
    (lambda t: plot_drill_down(drill_down(t, "rep", by="year"), period="2030"), r"no rows for year 2030"),
    (lambda t: plot_gap_bridge({"revenue": 1.0}), r"the row lacks \['reference', 'volume_effect'"),
])
def test_plot_errors(tiny, call, match):
    with pytest.raises(ParameterError, match=match):
        call(tiny)
