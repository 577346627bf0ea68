"""Training test helpers: small fits, artifacts in a temporary media root."""

from types import SimpleNamespace

import pytest

from training.artifacts import artifact_cache_clear

# Ten weeks of Victoria ending on 2014-12-31: enough for lags, calibration and a backtest.
TEN_WEEKS = slice("2014-10-22", None)
FAST_FAMILIES = ["catboost", "catboost-no-weather", "seasonal-naive"]


@pytest.fixture(autouse=True)
def _small_training(settings, tmp_path):
    settings.TRAINING_ITERATIONS = 150
    settings.TRAINING_BACKTEST_DAYS = 7
    settings.TRAINING_CALIBRATION_DAYS = 7
    settings.TRAINING_REFIT_DAYS = 7
    # The statistical model costs ~0.6 s per forecast day: tests that need it ask for it.
    settings.TRAINING_FAMILIES = FAST_FAMILIES
    settings.MEDIA_ROOT = tmp_path / "media"
    artifact_cache_clear()
    yield
    artifact_cache_clear()


@pytest.fixture
def melbourne():
    """A City stand-in for the pure (database-free) feature and model tests."""
    return SimpleNamespace(
        pk=None, timezone="Australia/Melbourne", country="AU", resolution_minutes=30
    )
