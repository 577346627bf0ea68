"""Per-unit output of PV (pvlib) and wind (windpowerlib) from weather, offline only.

PV: irradiance (GHI, split into DNI and DHI by Erbs) or, without it, pvlib's Ineichen
clear sky (Linke turbidity from the file pvlib ships) -> plane of array -> Faiman cell
temperature -> PVWatts DC with a temperature coefficient -> PVWatts inverter that clips
at the AC nameplate -> per unit of AC capacity in [0, 1].

Wind: wind speed measured at 10 m -> hub height (Hellman, exponent 1/7) -> the power
curve of a turbine from the library windpowerlib ships (its ``oedb`` folder: a local
CSV, never the network) -> per unit of the turbine's nominal power in [0, 1].
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_TILT_DEG = 20.0
DC_AC_RATIO = 1.2  # DC nameplate per unit of AC capacity: clipping at noon is normal
GAMMA_PDC = -0.0037  # per degree C (crystalline silicon)
SYSTEM_LOSSES = 0.14  # soiling, wiring, mismatch, availability (PVWatts default)
INVERTER_EFFICIENCY = 0.96
DEFAULT_TURBINE = "E-126/4200"
DEFAULT_HUB_HEIGHT_M = 100.0
WIND_MEASUREMENT_HEIGHT_M = 10.0
HELLMAN_EXPONENT = 1 / 7


def _windpowerlib_library() -> Path:
    import windpowerlib

    return Path(windpowerlib.__file__).parent / "oedb" / "power_curves.csv"


@cache
def _power_curves() -> pd.DataFrame:
    return pd.read_csv(_windpowerlib_library(), index_col=0)


@cache
def turbine_types() -> list[str]:
    """Turbines with a power curve in windpowerlib's shipped library."""
    return sorted(_power_curves().index)


@cache
def _turbine_curve(turbine_type: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(wind speeds, power W, nominal W) of one turbine, read once from the local CSV."""
    from windpowerlib import WindTurbine

    if turbine_type not in turbine_types():
        raise ValueError(f"windpowerlib's shipped library has no turbine {turbine_type!r}.")
    # path="oedb" is windpowerlib's folder inside the installed package; nothing is
    # downloaded (that would be windpowerlib.data.store_turbine_data_from_oedb).
    turbine = WindTurbine(hub_height=DEFAULT_HUB_HEIGHT_M, turbine_type=turbine_type)
    if turbine.power_curve is None or not turbine.nominal_power:
        raise ValueError(f"windpowerlib has no power curve for {turbine_type!r}.")
    curve = turbine.power_curve
    return (
        curve["wind_speed"].to_numpy(dtype=float),
        curve["value"].to_numpy(dtype=float),
        float(turbine.nominal_power),
    )


def wind_per_unit(
    wind_speed_ms: np.ndarray,
    *,
    turbine_type: str = DEFAULT_TURBINE,
    hub_height_m: float = DEFAULT_HUB_HEIGHT_M,
    measured_at_m: float = WIND_MEASUREMENT_HEIGHT_M,
) -> np.ndarray:
    from windpowerlib import power_output, wind_speed

    speeds, power, nominal = _turbine_curve(turbine_type or DEFAULT_TURBINE)
    at_hub = wind_speed.hellman(
        pd.Series(np.asarray(wind_speed_ms, dtype=float)),
        measured_at_m,
        hub_height_m,
        hellman_exponent=HELLMAN_EXPONENT,
    )
    output = power_output.power_curve(at_hub, speeds, power)
    return np.clip(np.asarray(output, dtype=float) / nominal, 0.0, 1.0)


@cache
def _linke_turbidity_by_month(latitude: float, longitude: float) -> np.ndarray:
    """Monthly Linke turbidity at a place, read once from the file pvlib ships."""
    from pvlib.clearsky import lookup_linke_turbidity

    months = pd.date_range("2001-01-15", periods=12, freq="MS") + pd.Timedelta(days=14)
    values = lookup_linke_turbidity(months, latitude, longitude, interp_turbidity=False)
    return np.asarray(values, dtype=float)


def pv_per_unit(
    timestamps: pd.DatetimeIndex,
    *,
    latitude: float,
    longitude: float,
    dt_hours: float,
    ghi_wm2: np.ndarray | None = None,
    temperature_c: np.ndarray | None = None,
    wind_speed_ms: np.ndarray | None = None,
    tilt_deg: float | None = None,
    azimuth_deg: float | None = None,
) -> np.ndarray:
    """Per-unit AC output at each interval's midpoint (timestamps are interval starts).

    Without ``ghi_wm2`` the irradiance is pvlib's Ineichen clear sky.
    """
    from pvlib import atmosphere, clearsky, inverter, irradiance, pvsystem, solarposition
    from pvlib import temperature as pv_temperature

    midpoints = timestamps.tz_convert("UTC") + pd.Timedelta(hours=dt_hours / 2)
    position = solarposition.get_solarposition(midpoints, latitude, longitude)
    zenith = position["zenith"].to_numpy()
    dni_extra = irradiance.get_extra_radiation(midpoints).to_numpy()
    if ghi_wm2 is None:
        airmass = atmosphere.get_absolute_airmass(
            atmosphere.get_relative_airmass(position["apparent_zenith"].to_numpy())
        )
        linke = _linke_turbidity_by_month(round(latitude, 2), round(longitude, 2))
        with np.errstate(divide="ignore", invalid="ignore"):  # zenith past 90: night
            sky = clearsky.ineichen(
                position["apparent_zenith"].to_numpy(),
                np.nan_to_num(airmass, nan=40.0),
                linke[midpoints.month.to_numpy() - 1],
                dni_extra=dni_extra,
            )
        ghi, dni, dhi = (np.nan_to_num(np.asarray(sky[k], float)) for k in ("ghi", "dni", "dhi"))
    else:
        ghi = np.clip(np.asarray(ghi_wm2, dtype=float), 0.0, None)
        split = irradiance.erbs(ghi, zenith, midpoints.day_of_year.to_numpy())
        dni, dhi = np.nan_to_num(split["dni"]), np.nan_to_num(split["dhi"])
    tilt = DEFAULT_TILT_DEG if tilt_deg is None else tilt_deg
    azimuth = (0.0 if latitude < 0 else 180.0) if azimuth_deg is None else azimuth_deg
    poa = irradiance.get_total_irradiance(
        tilt, azimuth, zenith, position["azimuth"].to_numpy(), dni, ghi, dhi,
        dni_extra=dni_extra, model="isotropic",
    )["poa_global"]  # fmt: skip
    poa = np.clip(np.nan_to_num(np.asarray(poa, dtype=float)), 0.0, None)
    air = np.full(len(timestamps), 20.0) if temperature_c is None else temperature_c
    wind = np.full(len(timestamps), 1.0) if wind_speed_ms is None else wind_speed_ms
    cell = pv_temperature.faiman(poa, np.asarray(air, float), np.asarray(wind, float))
    dc = pvsystem.pvwatts_dc(poa, cell, pdc0=DC_AC_RATIO, gamma_pdc=GAMMA_PDC)
    dc = np.clip(np.asarray(dc, dtype=float) * (1 - SYSTEM_LOSSES), 0.0, None)
    ac = inverter.pvwatts(dc, pdc0=1.0 / INVERTER_EFFICIENCY, eta_inv_nom=INVERTER_EFFICIENCY)
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0, 1.0)
