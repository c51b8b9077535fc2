"""The dashboard's SVG charts: valid XML, named and described, escaped, scaled to round ticks."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from hub.web.svg_charts import Series, bar_chart, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0.0, 1.0]),
        (1, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (43, [0.0, 20.0, 40.0, 60.0]),
        (100, [0.0, 25.0, 50.0, 75.0, 100.0]),
        (1234, [0.0, 500.0, 1000.0, 1500.0]),
        (float("nan"), [0.0, 1.0]),
    ],
)
def test_nice_ticks(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (1, [0.0, 1.0]),
        (3, [0.0, 1.0, 2.0, 3.0]),
        (9, [0.0, 5.0, 10.0]),  # not 2.5 apart
        (100, [0.0, 25.0, 50.0, 75.0, 100.0]),
    ],
)
def test_nice_ticks_for_counts_are_whole(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top, whole=True) == ticks


def y_axis(svg: str) -> list[str]:
    """The labels beside the y-axis, bottom to top."""
    root = ElementTree.fromstring(svg)
    axis = root.find(f"{NS}g[@class='axis']")
    assert axis is not None
    return [t.text or "" for t in axis.iter(f"{NS}text") if t.get("text-anchor") == "end"]


def test_a_chart_of_counts_labels_its_y_axis_in_whole_numbers() -> None:
    # the dashboard's ratings chart: how many ratings gave 1 to 5 stars
    stars = bar_chart(
        "Ratings", "Bars", ["★" * n for n in range(1, 6)], [Series("ratings", [0, 1, 0, 0, 1])]
    )
    assert y_axis(str(stars)) == ["0", "1"]
    assert y_axis(str(line_chart("a", "b", ["1", "2"], [Series("s", [3, 1])]))) == [
        "0",
        "1",
        "2",
        "3",
    ]
    # values that are not counts keep their fractional steps
    assert "0.5" in y_axis(str(bar_chart("a", "b", ["1"], [Series("s", [0.9])])))


def test_bar_chart_is_accessible_svg() -> None:
    svg = bar_chart(
        "Espera <media>",
        "Barras & líneas",
        ["09h", "10h", "11h"],
        [Series("mean", [2.0, None, 5.5]), Series("p90", [4.0, 6.0, 9.0])],
        unit="min",
        target=10,
        target_label="objetivo 10 min",
    )
    root = ElementTree.fromstring(str(svg))
    assert root.get("role") == "img"
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title is not None and title.text == "Espera <media>"
    assert desc is not None and desc.text == "Barras & líneas"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = root.findall(f"{NS}g[@class='bars']/{NS}rect")
    assert len(bars) == 5  # one value is missing
    assert [b.find(f"{NS}title").text for b in bars][:2] == ["09h · mean: 2", "11h · mean: 5.5"]
    # the 10-minute target sits on the axis: the chart's top tick is at least 10
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert "objetivo 10 min" in labels and "10" in labels


def test_line_chart_breaks_at_gaps_and_ids_are_unique() -> None:
    one = line_chart("a", "b", ["1", "2", "3", "4"], [Series("s", [1, 2, None, 4])])
    two = line_chart("a", "b", ["1"], [Series("s", [1])])
    root = ElementTree.fromstring(str(one))
    assert len(root.findall(f".//{NS}polyline")) == 1  # 1-2, then 4 alone is a point
    assert len(root.findall(f".//{NS}circle")) == 3
    assert root.find(f"{NS}title").get("id") != ElementTree.fromstring(str(two)).find(
        f"{NS}title"
    ).get("id")


def under_axis(svg: str) -> list[tuple[str, float]]:
    """The labels under the axis (text centred on a bar), with their first baselines."""
    root = ElementTree.fromstring(svg)
    axis = root.find(f"{NS}g[@class='axis']")
    assert axis is not None
    return [
        (" ".join(t.itertext()), float(t.get("y", 0)))
        for t in axis.iter(f"{NS}text")
        if t.get("text-anchor") == "middle"
    ]


def test_axis_labels_too_wide_for_their_bar_alternate_rows_or_are_thinned() -> None:
    names = ["Walk-in", "Appointment", "Phone", "Web"]
    shown = under_axis(str(bar_chart("a", "b", names, [Series("s", [1, 2, 3, 4])])))
    assert [name for name, _ in shown] == names  # every category named, on two rows
    assert shown[0][1] == shown[2][1] < shown[1][1] == shown[3][1]
    days = [f"02-{d:02d}" for d in range(1, 29)]
    shown = under_axis(str(line_chart("a", "b", days, [Series("s", [1.0] * 28)])))
    assert 5 <= len(shown) < 14 and len({y for _, y in shown}) == 1  # some days, one row
    wrapped = str(bar_chart("a", "b", ["General information"] * 3, [Series("s", [1] * 3)]))
    assert [name for name, _ in under_axis(wrapped)] == ["General information"] * 3
    assert wrapped.count("<tspan") == 6  # two lines each
