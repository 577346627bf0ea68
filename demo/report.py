"""The demo's HTML report: the forecast band as an inline SVG plus the numbers."""

from __future__ import annotations

import html
from pathlib import Path

from dashboard.charts import band_svg


def _rows(mapping: dict) -> str:
    return "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in mapping.items()
        if not isinstance(v, dict | list)
    )


def _fmt(value) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else str(value)


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
    "table{border-collapse:collapse;margin:1rem 0}"
    "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
    "th{text-align:left;background:#f4f4f4}"
)


def _backtest_rows(metrics: dict) -> str:
    rows = []
    for label, key in (("model", "model"), ("seasonal naive", "seasonal_naive")):
        m = metrics.get(key, {})
        rows.append(
            f"<tr><th>{label}</th><td>{m.get('mape', 0):.2f}</td><td>{m.get('rmse', 0):.1f}</td>"
            f"<td>{m.get('pinball', 0):.1f}</td><td>{m.get('coverage_90', 0):.1f} %</td></tr>"
        )
    return "".join(rows)


def write_report(
    path: Path, *, city: dict, model: dict, run: dict, dispatch: dict, energy: dict
) -> None:
    name = html.escape(city["name"])
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>energy-forecast demo: {name}</title><style>{STYLE}</style></head><body>",
        f"<h1>{name}: day-ahead forecast and energy mix</h1>",
        "<p>Data: half-hourly demand of Victoria, Australia, 2014 (fpp2 <code>elecdemand</code>)."
        f" Model version {model['version']} ({html.escape(model['algorithm'])},"
        f" {html.escape(model['status'])}).</p>",
        "<h2>Backtest</h2><table><tr><th>method</th><th>MAPE %</th><th>RMSE MW</th>"
        "<th>pinball MW</th><th>90 % coverage</th></tr>",
        _backtest_rows(model.get("metrics", {})),
        "</table>",
        f"<h2>Forecast run {run['id']} ({html.escape(run['method'])},"
        f" {html.escape(run['quality'])})</h2>",
        band_svg(run["points"]),
        f"<h2>Dispatch {dispatch['id']} ({html.escape(dispatch['status'])})</h2>",
        f"<table>{_rows(dispatch.get('totals', {}))}</table>",
        "<h3>Energy by source (MWh; storage: net discharge)</h3>",
        f"<table>{_rows({name: round(mwh, 1) for name, mwh in energy.items()})}</table>",
        "</body></html>",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
