"""Reads of the weather app: the vintage a forecast may use (as-of), its values on a
city's grid, and the vintages an organisation may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from django.conf import settings
from django.db.models import QuerySet

from accounts.selectors import require_organization_id
from cities.models import City
from weather.models import WeatherForecastPoint, WeatherSource, WeatherVintage

# Missing hours inside a vintage are interpolated across at most this many hours.
MAX_GAP_HOURS = 2


def weather_vintage_asof(city: City, start: pd.Timestamp) -> WeatherVintage | None:
    """The latest vintage issued at or before ``start`` that is still valid after it.

    As-of, like the observations: a forecast from ``start`` never reads a vintage
    issued after it. Vintages older than WEATHER_VINTAGE_MAX_AGE_HOURS are not used.
    """
    start = pd.Timestamp(start).to_pydatetime()
    oldest = start - timedelta(hours=settings.WEATHER_VINTAGE_MAX_AGE_HOURS)
    return (
        WeatherVintage.objects.filter(
            city=city, issued_at__lte=start, issued_at__gte=oldest, valid_until__gt=start
        )
        .order_by("-issued_at", "-pk")
        .first()
    )


def weather_vintage_frame(
    vintage: WeatherVintage, index: pd.DatetimeIndex, resolution_minutes: int
) -> pd.DataFrame:
    """The vintage's values at ``index`` (UTC interval starts): hourly values, gaps of
    up to MAX_GAP_HOURS interpolated, then linearly onto the city's grid; NaN where the
    vintage says nothing."""
    return _vintage_on_grid(vintage, _vintage_hourly(vintage), index, resolution_minutes)


def _vintage_hourly(vintage: WeatherVintage) -> pd.DataFrame:
    columns = list(WeatherForecastPoint.VALUE_FIELDS)
    rows = vintage.points.order_by("valid_for").values_list("valid_for", *columns)
    return pd.DataFrame.from_records(list(rows), columns=["valid_for", *columns])


def _vintage_on_grid(
    vintage: WeatherVintage, hourly: pd.DataFrame, index: pd.DatetimeIndex, resolution_minutes: int
) -> pd.DataFrame:
    columns = list(WeatherForecastPoint.VALUE_FIELDS)
    if hourly.empty or len(index) == 0:
        return pd.DataFrame(index=index, columns=columns, dtype="float64")
    hourly["valid_for"] = pd.to_datetime(hourly["valid_for"], utc=True)
    hourly = hourly.set_index("valid_for").astype("float64")
    hourly = _fill_short_gaps(hourly, MAX_GAP_HOURS)
    step = pd.Timedelta(minutes=resolution_minutes)
    per_hour = int(60 / resolution_minutes)
    grid = pd.date_range(hourly.index[0], pd.Timestamp(vintage.valid_until) - step, freq=step)
    fine = _fill_short_gaps(hourly.reindex(hourly.index.union(grid)), per_hour - 1)
    # The last hour's value holds until the vintage's end.
    fine = fine.ffill(limit=per_hour - 1)
    return fine.reindex(index)


def _fill_short_gaps(frame: pd.DataFrame, longest: int) -> pd.DataFrame:
    """Linear (in time) interpolation of runs of at most ``longest`` missing rows
    between two values; longer runs stay missing, whole."""
    filled = frame.interpolate(method="time", limit_area="inside")
    for column in frame.columns:
        missing = frame[column].isna()
        run_id = (~missing).cumsum()
        run_length = missing.groupby(run_id).transform("sum")
        filled.loc[missing & (run_length > longest), column] = float("nan")
    return filled


@dataclass
class WeatherForInference:
    vintage: WeatherVintage | None
    values: pd.DataFrame | None  # at the request's targets, NaN where unknown
    note: str  # why there is no (complete) weather forecast; "" when there is


def weather_for_forecast(
    city: City, start: pd.Timestamp, index: pd.DatetimeIndex
) -> WeatherForInference:
    """The weather forecast a forecast from ``start`` over ``index`` may use."""
    vintage = weather_vintage_asof(city, start)
    if vintage is None:
        return WeatherForInference(None, None, _missing_note(city, start))
    values = weather_vintage_frame(vintage, index, city.resolution_minutes)
    return WeatherForInference(vintage, values, _coverage_note(vintage, values))


def weather_for_forecasts(
    requests: list[tuple[City, pd.Timestamp, pd.DatetimeIndex]],
) -> list[WeatherForInference]:
    """weather_for_forecast of each (city, start, index), in a few queries for all of
    them (batched inference): the candidate vintages of every city at once, each
    vintage's points once, the weather sources of the cities left without one."""
    if not requests:
        return []
    max_age = timedelta(hours=settings.WEATHER_VINTAGE_MAX_AGE_HOURS)
    starts = [pd.Timestamp(start).to_pydatetime() for _, start, _ in requests]
    candidates = list(
        WeatherVintage.objects.filter(
            city_id__in={city.pk for city, _, _ in requests},
            issued_at__lte=max(starts),
            issued_at__gte=min(starts) - max_age,
            valid_until__gt=min(starts),
        ).order_by("-issued_at", "-pk")
    )
    chosen = []
    for (city, _, _), start in zip(requests, starts, strict=True):
        # weather_vintage_asof's rule, on the candidates (already in its order).
        oldest = start - max_age
        chosen.append(
            next(
                (
                    v
                    for v in candidates
                    if v.city_id == city.pk
                    and oldest <= v.issued_at <= start
                    and v.valid_until > start
                ),
                None,
            )
        )
    missing = {city.pk for (city, _, _), v in zip(requests, chosen, strict=True) if v is None}
    sources = {}
    for source in WeatherSource.objects.filter(city_id__in=missing).order_by("pk"):
        sources.setdefault(source.city_id, source)
    hourly: dict[int, pd.DataFrame] = {}
    found = []
    for (city, start, index), vintage in zip(requests, chosen, strict=True):
        if vintage is None:
            found.append(
                WeatherForInference(None, None, _missing_note(city, start, sources.get(city.pk)))
            )
            continue
        if vintage.pk not in hourly:
            hourly[vintage.pk] = _vintage_hourly(vintage)
        values = _vintage_on_grid(vintage, hourly[vintage.pk], index, city.resolution_minutes)
        found.append(WeatherForInference(vintage, values, _coverage_note(vintage, values)))
    return found


def _coverage_note(vintage: WeatherVintage, values: pd.DataFrame) -> str:
    covered = float(values["temperature_c"].notna().mean()) if len(values) else 0.0
    if covered < 1:
        return (
            f"weather vintage {vintage.pk} ({vintage.provider}, issued "
            f"{vintage.issued_at:%Y-%m-%d %H:%M}Z) covers {covered:.0%} of the targets"
        )
    return ""


_UNREAD = object()


def _missing_note(city: City, start: pd.Timestamp, source=_UNREAD) -> str:
    note = f"no weather forecast issued before {pd.Timestamp(start):%Y-%m-%d %H:%M}Z covers it"
    if source is _UNREAD:
        source = WeatherSource.objects.filter(city=city).first()
    if (
        source is not None
        and source.last_failure_at
        and (source.last_success_at is None or source.last_failure_at > source.last_success_at)
    ):
        since = f"{source.last_failure_at:%Y-%m-%d %H:%M}Z"
        note += f"; provider {source.provider} failing since {since}: {source.last_error}"
    return note[:200]


def weather_asof_lookup(city: City):
    """For backtests on stored vintages: a function (origin, targets) -> the values of
    the vintage a forecast from ``origin`` would have read (weather_vintage_asof's rule)
    at ``targets``, or None where there was none. All of the city's vintages are read
    once (training/backtest.py: WeatherAsOf)."""
    vintages = list(WeatherVintage.objects.filter(city=city).order_by("issued_at", "pk"))
    if not vintages:
        return None
    max_age = pd.Timedelta(hours=settings.WEATHER_VINTAGE_MAX_AGE_HOURS)
    issued = pd.DatetimeIndex([pd.Timestamp(v.issued_at) for v in vintages])

    def lookup(origin: pd.Timestamp, targets: pd.DatetimeIndex) -> pd.DataFrame | None:
        origin = pd.Timestamp(origin)
        for position in range(int(issued.searchsorted(origin, side="right")) - 1, -1, -1):
            vintage = vintages[position]
            if pd.Timestamp(vintage.issued_at) < origin - max_age:
                return None
            if pd.Timestamp(vintage.valid_until) > origin:
                return weather_vintage_frame(vintage, targets, city.resolution_minutes)
        return None

    return lookup


def weather_vintages_for_user(user, city_id: int) -> QuerySet[WeatherVintage]:
    return WeatherVintage.objects.filter(
        city_id=city_id, city__organization_id=require_organization_id(user)
    ).order_by("-issued_at", "-pk")
