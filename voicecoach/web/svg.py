"""Small SVG charts drawn on the server: a phone draws them, the Pi only writes text.

Colours come from CSS classes (``.s0``, ``.s1``...) so that the page's light
and dark schemes restyle them; the SVG is inline, so the CSP needs no image source.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 360, 170
"""A phone's width in CSS pixels: the labels are drawn at about their size on a phone."""
LEFT, RIGHT, TOP, BOTTOM = 36, 6, 8, 22


def _frame(title: str, y_max: float, y_label: str, labels: list[str], body: list[str], legend: list[str]) -> str:
    inner_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i in range(5):  # four grid steps: enough to read a value off a phone
        value = y_max * i / 4
        y = TOP + inner_h - inner_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}{y_label}</text>')
    step = max(1, -(-len(labels) // 5))  # at most 5 date labels: they must not overlap at 360 px
    for i, text in enumerate(labels):
        if (len(labels) - 1 - i) % step == 0:  # counted back from the latest, which always shows
            parts.append(f'<text class="axis" x="{_x(i, len(labels)):.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="middle">{escape(text)}</text>')
    parts += body
    parts.append("</svg>")
    keys = "".join(f'<span class="key"><i class="s{i}"></i>{escape(name)}</span>' for i, name in enumerate(legend))
    return f'<figure><figcaption>{escape(title)}</figcaption>{"".join(parts)}<div class="legend">{keys}</div></figure>'


def _x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + inner * (i + 0.5) / max(n, 1)


def _y(value: float, y_max: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner - inner * (value / y_max if y_max else 0)


def lines(title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
          y_max: float | None = None, y_unit: str = "") -> str:
    """One polyline per series (``None`` leaves a gap), with a dot per value."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = y_max or _nice(max(values, default=1))
    body = []
    for k, (_, vs) in enumerate(series):
        run: list[str] = []
        for i, v in enumerate(vs + [None]):
            if v is None:
                if len(run) > 1:
                    body.append(f'<polyline class="line s{k}" points="{" ".join(run)}"/>')
                run = []
                continue
            x, y = _x(i, len(labels)), _y(v, top)
            run.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle class="dot s{k}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{labels[i]}: {v:g}{y_unit}</title></circle>')
    return _frame(title, top, y_unit, labels, body, [name for name, _ in series])


def bars(title: str, labels: list[str], series: list[tuple[str, list[float]]]) -> str:
    """Grouped bars, one group per label."""
    top = _nice(max((v for _, vs in series for v in vs), default=1))
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    width = slot * 0.8 / max(len(series), 1)
    body = []
    for k, (_, vs) in enumerate(series):
        for i, v in enumerate(vs):
            x = LEFT + slot * i + slot * 0.1 + width * k
            y = _y(v, top)
            body.append(f'<rect class="bar s{k}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                        f'height="{_y(0, top) - y:.1f}"><title>{escape(labels[i])}: {v:g}</title></rect>')
    return _frame(title, top, "", labels, body, [name for name, _ in series])


def _nice(value: float) -> float:
    """A round top for the axis at or above ``value``, divisible into four steps."""
    for top in (4, 8, 12, 20, 40, 60, 100, 200, 400, 1000, 2000, 4000):
        if value <= top:
            return top
    return value
