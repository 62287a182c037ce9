"""The pages' charts as Vega-Lite (Altair) specs, the parts they share in one place (no Streamlit
here: a file in pages/ would be listed as a page of its own by Streamlit's pages-folder mode).

Not plotly: in headless Chromium any plotly chart made a page settle about 1.0 s later (loading
and starting plotly.js on every page load), the same bars in Vega-Lite about 0.2 s (README,
"Pages at 100,000 items and 5,000 labels"). Untrusted values that become chart text (curator
names) go through rows_with_chart_text() first."""

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

Rows = list[dict[str, Any]]
UNIT = (0, 1.05)  # shares and scores, with room for the top point
SERIES, VALUE = "series", "value"  # the columns that several y columns are folded into
LEVEL_LABELS = alt.Axis(labelAngle=0, labelLimit=0)  # x labels that read level, never cut short
HEATMAP_HEIGHT = 240  # pixels: a grid of nominal cells is otherwise 20 pixels a row


def base(rows: Rows, title: str) -> alt.Chart:
    """rows as the chart's data, under a title."""
    return alt.Chart(pd.DataFrame(rows), title=title)


def _position(channel: type[alt.X] | type[alt.Y], field: str, title: str | None = None,
             domain: Sequence[float] | None = None) -> alt.X | alt.Y:
    """An x or y channel with its axis title and a fixed range (None: fit the data)."""
    return channel(field, title=title or alt.Undefined,
                   scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined)


def _folded(chart: alt.Chart, y: str | list[str]) -> tuple[alt.Chart, str, str | None]:
    """Several y columns become one value column, with a series column naming each, so they
    draw as the series of one chart; one column stays as it is. Returns the chart, the y field
    and the series field (None for one column)."""
    if isinstance(y, str):
        return chart, y, None
    return chart.transform_fold(y, as_=[SERIES, VALUE]), f"{VALUE}:Q", f"{SERIES}:N"


def _by(series: str | None) -> dict[str, Any]:
    """The colour channel for a series field, if there is one."""
    return {"color": series} if series else {}


def bars(rows: Rows, x: str, y: str | list[str], title: str, *, color: str | None = None,
         x_title: str | None = None, y_title: str | None = None, domain: Sequence[float] | None = None,
         tooltip: Sequence[str] = (), level: bool = False) -> alt.Chart:
    """Bars per x, in the rows' order; stacked by color, or side by side when y names several
    columns. level: x labels read level (for a few short names), else turned as Vega turns
    them, so many or long names (curators) still fit."""
    chart, field, folded = _folded(base(rows, title), y)
    series = color or folded
    side_by_side = {"xOffset": folded} if folded else {}
    return chart.mark_bar().encode(x=alt.X(x, sort=None, title=x_title or alt.Undefined,
                                         axis=LEVEL_LABELS if level else alt.Undefined),
                                   y=_position(alt.Y, field, y_title, domain),
                                   tooltip=[x, *tooltip, *filter(None, [series]), field],
                                   **_by(series), **side_by_side)


def lines(rows: Rows, x: str, y: str | list[str], title: str, *, x_title: str | None = None,
          y_title: str | None = None, x_domain: Sequence[float] | None = None,
          tooltip: Sequence[str] = (), order: str | None = None) -> alt.Chart:
    """Lines with a marker on each point, y in UNIT; one line per column when y names several.
    order: the field that joins the points (by default, x)."""
    chart, field, series = _folded(base(rows, title), y)
    joined = {"order": order} if order else {}
    return chart.mark_line(point=True).encode(
        x=_position(alt.X, x, x_title, x_domain), y=_position(alt.Y, field, y_title, UNIT),
        tooltip=[x, *tooltip, *filter(None, [series]), field], **_by(series), **joined)


def heatmap(rows: Rows, x: str, y: str, count: str, title: str) -> alt.LayerChart:
    """Cells shaded by count, in the rows' order, each with its count written on it: white on
    the darker half."""
    grid = base(rows, title).encode(x=alt.X(x, title=None, sort=None, axis=LEVEL_LABELS),
                                    y=alt.Y(y, title=None, sort=None))
    most = max(row[count] for row in rows)
    shade = alt.Color(f"{count}:Q", scale=alt.Scale(scheme="blues", domain=[0, most]), legend=None)
    cells = grid.mark_rect().encode(color=shade, tooltip=[f"{count}:Q"])
    dark = alt.datum[count] > most / 2
    counts = grid.mark_text(fontSize=16).encode(text=f"{count}:Q",
                                                color=alt.condition(dark, alt.value("white"), alt.value("black")))
    return layered(cells, counts).properties(height=HEATMAP_HEIGHT)


def layered(*charts: alt.Chart) -> alt.LayerChart:
    """Charts drawn over each other under the first one's title, which Vega-Lite wants on the
    layer rather than on each chart in it."""
    layers = [chart.copy() for chart in charts]
    title = layers[0].title
    for layer in layers:
        layer.title = alt.Undefined
    return alt.layer(*layers, title=title)
