"""The recovery plan's third step on the running stack: `manage.py warm_cache` loads the
active models and has the inference workers answer each city's day-ahead forecast."""

import gzip
import subprocess
import sys

import pandas as pd
import pytest

from tests.deploy.conftest import _wait_job
from tests.deploy.processes import ROOT, http

pytestmark = pytest.mark.needs_server


def _recent_history(stack) -> None:
    """SYNTHETIC: Victoria's last five weeks of 2014 moved forward by whole weeks so that
    they end before today; a day-ahead forecast for tomorrow needs recent history."""
    from cities.sample_data import sample_frame

    frame = sample_frame()[["demand_mw", "temperature_c"]].iloc[-35 * 48 :]
    now = pd.Timestamp.now(tz="UTC")
    weeks = (now - frame.index[-1]).days // 7
    frame.index = (frame.index + pd.Timedelta(weeks=weeks)).tz_convert("Australia/Melbourne")
    frame.index = frame.index.tz_localize(None)
    body = gzip.compress(frame.rename_axis("timestamp").to_csv().encode())
    answer = http(
        "POST",
        f"{stack.base}/api/v1/cities/{stack.city['id']}/observations/",
        body=body,
        headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "application/gzip"},
    )
    assert answer.status == 202, answer.body[:300]
    _wait_job(stack, answer.json()["job"])


def test_warm_cache_gets_a_fresh_forecast_for_every_active_city(stack):
    _recent_history(stack)
    done = subprocess.run(
        [sys.executable, "manage.py", "warm_cache", "--wait", "60"],
        cwd=ROOT,
        env=stack.processes["exporter"].env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 active models load; 1 day-ahead forecasts requested: 1 succeeded" in done.stdout
