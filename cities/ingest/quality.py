"""Data-quality findings on rows that are already on the UTC timeline.

Row checks return ``{row label: reason}`` (the row is rejected); findings on the
accepted series (gaps, flat-lined meters, outliers) only warn.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

DEMAND_MAX_MW = 100_000.0
DEMAND_MAX_MEDIAN_RATIO = 20.0
# Plausible physical ranges of the weather columns; outside them a sensor is broken.
VALUE_BOUNDS = {
    "temperature_c": (-60.0, 60.0),
    "humidity_pct": (0.0, 100.0),
    "wind_speed_ms": (0.0, 100.0),
    "irradiance_wm2": (0.0, 2000.0),
}
FLATLINE_MIN_HOURS = 6
OUTLIER_Z = 6.0
RANGES_LISTED = 10
ROWS_LISTED = 20


def iso(ts: pd.Timestamp) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def value_rejections(rows: pd.DataFrame, columns: list[str]) -> dict:
    """Negative, absurd or physically impossible values, by row label."""
    reasons: dict = {}

    def reject(mask: pd.Series, text: pd.Series) -> None:
        for label, reason in text[mask].items():
            reasons.setdefault(label, reason)

    if "demand_mw" in columns:
        demand = rows["demand_mw"]
        reject(demand < 0, "negative demand_mw " + demand.astype(str))
        reject(
            demand > DEMAND_MAX_MW,
            "absurd demand_mw " + demand.astype(str) + f" (> {DEMAND_MAX_MW:,.0f} MW)",
        )
        plausible = demand[(demand >= 0) & (demand <= DEMAND_MAX_MW)]
        median = float(plausible.median()) if len(plausible) else 0.0
        if median > 0:
            limit = DEMAND_MAX_MEDIAN_RATIO * median
            reject(
                demand > limit,
                "absurd demand_mw "
                + demand.astype(str)
                + f" (more than {DEMAND_MAX_MEDIAN_RATIO:.0f}x the file's median {median:.1f})",
            )
    for name, (low, high) in VALUE_BOUNDS.items():
        if name in columns:
            values = rows[name]
            reject(
                (values < low) | (values > high),
                f"absurd {name} " + values.astype(str) + f" (outside {low:g}..{high:g})",
            )
    reject(rows[columns].isna().all(axis=1), pd.Series("no values", index=rows.index))
    return reasons


def misaligned_rows(utc: pd.Series, tz_name: str, resolution_minutes: int) -> pd.Series:
    """True where a timestamp is not on the city's interval grid (in local wall time,
    so hourly data of a city at UTC+9:30 is aligned on its local hours)."""
    local = utc.dt.tz_convert(ZoneInfo(tz_name))  # see timestamps._localize
    return (
        (local.dt.minute % resolution_minutes != 0)
        | (local.dt.second != 0)
        | (local.dt.microsecond != 0)
    )


def gaps_find(index: pd.DatetimeIndex, resolution_minutes: int) -> dict:
    # In the index's own unit: a nanosecond step would force a gap of three centuries
    # (1900 to 2200 is supported) through nanoseconds, which overflow past 292 years.
    step = pd.Timedelta(minutes=resolution_minutes).as_unit(index.unit)
    if len(index) < 2:
        return {"count": 0, "missing_intervals": 0, "ranges": []}
    deltas = pd.Series(index[1:] - index[:-1], index=index[1:])
    holes = deltas[deltas > step]
    ranges = [
        {
            "start": iso(after - delta + step),
            "end": iso(after - step),
            "missing_intervals": int(delta / step) - 1,
        }
        for after, delta in holes.items()
    ]
    return {
        "count": len(ranges),
        "missing_intervals": int(sum(r["missing_intervals"] for r in ranges)),
        "ranges": ranges[:RANGES_LISTED],
    }


def flatlines_find(demand: pd.Series, resolution_minutes: int) -> list[dict]:
    """Runs of identical demand on consecutive intervals lasting at least six hours."""
    demand = demand.dropna()
    if demand.empty:
        return []
    step = pd.Timedelta(minutes=resolution_minutes)
    times = demand.index.to_series()
    breaks = (demand != demand.shift()) | (times.diff() != step)
    run_id = breaks.cumsum()
    runs = times.groupby(run_id).agg(["first", "last", "size"])
    min_intervals = FLATLINE_MIN_HOURS * 60 // resolution_minutes
    long_runs = runs[runs["size"] >= min_intervals]
    return [
        {
            "start": iso(run["first"]),
            "end": iso(run["last"]),
            "hours": run["size"] * resolution_minutes / 60,
            "demand_mw": float(demand[run["first"]]),
        }
        for _, run in long_runs.iterrows()
    ]


def outliers_find(
    demand: pd.Series, refs: pd.Series, resolution_minutes: int, ref_key: str
) -> list[dict]:
    """Robust z-score of demand against its rolling one-day median (MAD scaled)."""
    demand = demand.dropna()
    per_day = 24 * 60 // resolution_minutes
    if len(demand) < per_day:
        return []
    baseline = demand.rolling(per_day + 1, center=True, min_periods=per_day // 2).median()
    residual = (demand - baseline).dropna()
    centred = residual - residual.median()
    mad = float(centred.abs().median())
    if not mad > 0:
        return []
    z = 0.6745 * centred / mad
    flagged = z[np.abs(z) > OUTLIER_Z]
    return [
        {
            ref_key: int(refs[ts]),
            "timestamp": iso(ts),
            "demand_mw": float(demand[ts]),
            "z": round(float(score), 1),
        }
        for ts, score in flagged.items()
    ]
