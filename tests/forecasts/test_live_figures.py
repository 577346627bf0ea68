"""The live scores and the adaptive interval shift of issued forecasts (numeric part)."""

from __future__ import annotations

import numpy as np

from forecasts.live_accuracy import live_figures
from training.calibration import adaptive_shift, lead_day_shift

QUANTILES = (0.05, 0.5, 0.95)


def issued_days(actual_offset: float, days: int = 7, seed: int = 0):
    """Forecasts N(1000, 100) bands; actuals drawn around 1000 + ``actual_offset``."""
    rng = np.random.default_rng(seed)
    points = 48 * days
    base = np.tile(np.array([1000 - 164.5, 1000.0, 1000 + 164.5]), (points, 1))
    actual = 1000 + actual_offset + rng.normal(0, 100, points)
    return base, actual, np.repeat(np.arange(days), 48)


def test_scores_are_those_of_the_issued_forecasts():
    base, actual, days = issued_days(0.0)
    scores, _ = live_figures(base, base, actual, days, QUANTILES)
    assert scores["points"] == 336
    assert 85 <= scores["coverage_90"] <= 95
    expected = np.mean(np.abs(base[:, 1] - actual) / actual) * 100
    assert abs(scores["mape"] - round(expected, 4)) < 1e-6


def test_shift_follows_outcomes_that_run_low_and_stays_put_when_calibrated():
    base, actual, days = issued_days(-250.0)
    _, shift = live_figures(base, base, actual, days, QUANTILES)
    assert (shift < -5).all()  # every quantile moves down, the lower ones most
    assert shift[0] < shift[2]
    base, actual, days = issued_days(0.0)
    _, calm = live_figures(base, base, actual, days, QUANTILES)
    assert np.abs(calm).max() < np.abs(shift).min()


def naive_lead_days(victoria, half_width_quantile: float):
    """Synthetic issued forecasts derived from the Victoria 2014 sample: a median of the
    demand a week before (the seasonal naive's real errors) and a band of fixed half-width,
    the given quantile of the first four weeks' absolute errors. Eight weeks from
    1 November; returns (base, actual, day) of the first four and of the last four."""
    demand = victoria["demand_mw"]
    weeks = demand.loc["2014-11-01":"2014-12-26 23:30"]
    median = demand.shift(freq="7D").reindex(weeks.index).to_numpy()
    actual = weeks.to_numpy()
    day = weeks.index.normalize().asi8
    first = day < np.unique(day)[28]
    half = np.quantile(np.abs(actual - median)[first], half_width_quantile)
    base = np.column_stack([median - half, median, median + half])
    return (base[first], actual[first], day[first]), (base[~first], actual[~first])


def coverage(band: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean((actual >= band[:, 0]) & (actual <= band[:, 2])))


def test_later_days_shift_widens_a_band_that_misses_and_leaves_the_median(victoria):
    (base, actual, day), (later, later_actual) = naive_lead_days(victoria, 0.6)
    shift = lead_day_shift(base, actual, day, QUANTILES, lead=4)
    assert shift[1] == 0.0  # the model's median is kept
    assert shift[0] < -50 and shift[2] > 50
    before = coverage(later, later_actual)
    after = coverage(np.sort(later + shift, axis=1), later_actual)
    assert before < 0.7 and after > before + 0.08, (before, after)
    # Day 1 keeps the adaptive shift of the median too.
    np.testing.assert_array_equal(
        lead_day_shift(base, actual, day, QUANTILES, lead=1),
        adaptive_shift(base, actual, day, QUANTILES),
    )


def test_later_days_shift_narrows_a_band_too_wide_around_the_models_median(victoria):
    (base, actual, day), (later, later_actual) = naive_lead_days(victoria, 0.995)
    full = adaptive_shift(base, actual, day, QUANTILES)
    shift = lead_day_shift(base, actual, day, QUANTILES, lead=7)
    np.testing.assert_allclose(shift, full - full[1])
    assert shift[0] > 50 and shift[2] < -50
    before = coverage(later, later_actual)
    after = coverage(np.sort(later + shift, axis=1), later_actual)
    assert before > 0.95 and 0.85 < after < before, (before, after)
