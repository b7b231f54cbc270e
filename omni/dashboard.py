"""The staff dashboard's panels: a registry the apps fill from their admin modules.

omni cannot import the apps above it, so each app registers its panels (low stock, orders
waiting, pickups, syncs, sales) with `register_panel` when its admin module is loaded, and the
admin home page (`templates/admin/index.html`) renders `dashboard_panels(request)`. A provider
returns None when the user may not see its panel; providers scope by the user themselves (a
store staff member's pickups and stock are those of their store).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class PanelRow:
    label: str
    value: str | int | Decimal = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    rows: Sequence[PanelRow] = ()
    url: str = ""
    link_text: str = "View all"
    empty: str = "Nothing waiting."
    total: int | None = None
    chart: SafeString | str = ""
    alert: bool = False  # something needs attention (failures, dead letters, low stock)
    # Script URLs a chart needs (for example the locally served plotly.js), loaded once.
    scripts: Sequence[str] = ()
    # A search box in the panel: a GET form to `search_url` with one field `q`.
    search_url: str = ""
    search_label: str = ""


PanelProvider = Callable[[object], Panel | None]

_providers: dict[str, tuple[int, PanelProvider]] = {}


def register_panel(key: str, provider: PanelProvider, *, order: int = 100) -> None:
    """Add (or replace) the dashboard panel `key`; lower `order` is shown first."""
    _providers[key] = (order, provider)


def registered_panels() -> list[str]:
    return [key for key, _ in sorted(_providers.items(), key=lambda item: item[1][0])]


def dashboard_panels(request) -> list[Panel]:
    """The panels `request.user` may see, in order."""
    panels = []
    for _, provider in sorted(_providers.values(), key=lambda item: item[0]):
        panel = provider(request)
        if panel is not None:
            panels.append(panel)
    return panels


def panel_scripts(panels: Sequence[Panel]) -> list[str]:
    """Every script the panels need, each once, in order of first use."""
    return list(dict.fromkeys(src for panel in panels for src in panel.scripts))


def bar_chart(
    series: Sequence[tuple[str, float | int | Decimal]],
    *,
    title: str,
    unit: str = "",
    width: int = 420,
    bar_height: int = 22,
) -> SafeString:
    """A horizontal bar chart as inline SVG (no script, no CDN): one bar per (label, value)."""
    if not series:
        return mark_safe("")
    top = max(float(value) for _, value in series) or 1.0
    label_width = 140
    plot = width - label_width - 70
    height = bar_height * len(series) + 8
    bars = format_html_join(
        "",
        '<g class="bar" transform="translate(0,{})"><title>{}: {}{}</title>'
        '<text x="{}" y="{}" text-anchor="end" class="label">{}</text>'
        '<rect x="{}" y="3" width="{}" height="{}" rx="2"></rect>'
        '<text x="{}" y="{}" class="value">{}{}</text></g>',
        (
            (
                index * bar_height + 4,
                label,
                value,
                unit,
                label_width - 6,
                bar_height - 7,
                label[:22],
                label_width,
                max(1, round(float(value) / top * plot)),
                bar_height - 6,
                label_width + max(1, round(float(value) / top * plot)) + 4,
                bar_height - 7,
                value,
                unit,
            )
            for index, (label, value) in enumerate(series)
        ),
    )
    return format_html(
        '<svg class="omni-chart" role="img" aria-label="{}" width="{}" height="{}" '
        'viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        title,
        width,
        height,
        width,
        height,
        bars,
    )


__all__ = ["Panel", "PanelRow", "bar_chart", "dashboard_panels", "register_panel"]
