"""The grid statistics chart: SVG from pygal, drawn on the server (no script, no build step)."""

import pygal
from pygal.style import CleanStyle

RATES = ("response_on_time", "on_time", "satisfaction", "reopen", "escalation")
RATE_LABELS = {"response_on_time": "rate.response", "on_time": "rate.on_time",
               "satisfaction": "rate.satisfaction", "reopen": "rate.reopen", "escalation": "rate.escalation"}


def rates_chart(rows, t):
    """Grouped bars: one group per grid, one bar per rate (percent; a rate not known is left out)."""
    chart = pygal.Bar(style=CleanStyle, height=320, range=(0, 100), legend_at_bottom=True,
                      disable_xml_declaration=True, show_y_guides=True, js=[])
    chart.x_labels = [row["grid_code"] for row in rows]
    for rate in RATES:
        chart.add(t(RATE_LABELS[rate]), [_percent(row.get(rate)) for row in rows])
    return chart.render(is_unicode=True)


def rate_of(value):
    """A rate as grid_events reports it ({"count", "of", "rate"}), as a fraction or None."""
    return value.get("rate") if isinstance(value, dict) else value


def _percent(value):
    rate = rate_of(value)
    return None if rate is None else round(float(rate) * 100, 1)
