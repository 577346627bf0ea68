"""Charts of the dashboard (and the demo's report), drawn as inline SVG on the server."""

from __future__ import annotations


def band_svg(points: list[dict], width: int = 760, height: int = 260) -> str:
    lows = [p["confidence_lower"] for p in points]
    highs = [p["confidence_upper"] for p in points]
    mids = [p["demand"] for p in points]
    top, bottom = max(highs), min(lows)
    span = (top - bottom) or 1.0

    def xy(i: int, value: float) -> str:
        x = 40 + i * (width - 60) / max(len(points) - 1, 1)
        y = 10 + (top - value) * (height - 40) / span
        return f"{x:.1f},{y:.1f}"

    band = " ".join(xy(i, v) for i, v in enumerate(highs))
    band += " " + " ".join(xy(i, v) for i, v in reversed(list(enumerate(lows))))
    median = " ".join(xy(i, v) for i, v in enumerate(mids))
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="forecast">'
        f'<polygon points="{band}" fill="#9ecae1" opacity="0.6"/>'
        f'<polyline points="{median}" fill="none" stroke="#08519c" stroke-width="2"/>'
        f'<text x="4" y="16" font-size="11">{top:,.0f} MW</text>'
        f'<text x="4" y="{height - 22}" font-size="11">{bottom:,.0f} MW</text>'
        "</svg>"
    )
