"""Bar and line charts as inline SVG, drawn on the server so a report needs no script and prints.

Governing bodies read these reports on paper and in PDFs, often in black and white: every bar
carries its number, lines carry a marker and a value at each point, and the figures are in a
table beside each chart for anyone using a screen reader (the SVG is labelled, not read out).
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 190
ROW = 22
SHADES = ("#1d4f91", "#6b6b6b", "#b35c00", "#2e7d32")  # dark enough for white text and for greyscale print
DASHES = ("", "6 3", "2 3", "10 3 2 3")


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bar_chart(title: str, values: dict[str, int] | dict[str, float]) -> Markup:
    """Horizontal bars, one per label, longest scale at the largest value; zero rows kept (a table's rows)."""
    largest = max((v for v in values.values()), default=0) or 1
    height = ROW * len(values) + 30
    span = WIDTH - LABEL_WIDTH - 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, value) in enumerate(values.items()):
        y = 10 + index * ROW
        length = round(span * value / largest) if value else 0
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" font-size="13">'
                     f'{escape(label.replace("_", " "))}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length}" height="{ROW - 6}" fill="{SHADES[0]}" '
                     f'stroke="#000" stroke-width="0.5"/>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 15}" font-size="13">'
                     f'{escape(_number(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, series: dict[str, dict[str, int] | dict[str, float]]) -> Markup:
    """One line per series over shared x labels (months), each with its own dash pattern for print."""
    labels = list(next(iter(series.values()), {}).keys())
    largest = max((v for points in series.values() for v in points.values()), default=0) or 1
    left, top, plot_w, plot_h = 50, 20, WIDTH - 80, 200
    height = top + plot_h + 60 + 18 * len(series)
    step = plot_w / max(len(labels) - 1, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#000"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#000"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="12">{escape(_number(largest))}</text>',
             f'<text x="{left - 6}" y="{top + plot_h + 4}" text-anchor="end" font-size="12">0</text>']
    for index, label in enumerate(labels):
        x = left + index * step
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" font-size="11">'
                     f'{escape(label)}</text>')
    for number, (name, points) in enumerate(series.items()):
        colour, dash = SHADES[number % len(SHADES)], DASHES[number % len(DASHES)]
        coordinates = [(left + i * step, top + plot_h - plot_h * points.get(label, 0) / largest)
                       for i, label in enumerate(labels)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'stroke-dasharray="{dash}"/>')
        for (x, y), label in zip(coordinates, labels, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                         f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="10">'
                         f'{escape(_number(points.get(label, 0)))}</text>')
        legend_y = top + plot_h + 40 + 18 * number
        parts.append(f'<line x1="{left}" y1="{legend_y - 4}" x2="{left + 30}" y2="{legend_y - 4}" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="{dash}"/><text x="{left + 38}" y="{legend_y}" '
                     f'font-size="12">{escape(name.replace("_", " "))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
