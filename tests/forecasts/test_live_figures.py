"""The live scores and the adaptive interval shift of issued forecasts (numeric part)."""

from __future__ import annotations

import numpy as np

from forecasts.live_accuracy import live_figures

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
