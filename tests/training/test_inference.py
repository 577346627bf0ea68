import numpy as np
import pandas as pd
import pytest

from cities.selectors import observation_frame_for_city
from errors import DomainError
from tests.factories import make_city
from training.inference import SUPPORTED_QUANTILES, ForecastRequest, ForecastResult, forecast_many
from training.services import model_version_train

DEC_30 = pd.Timestamp("2014-12-29 13:00", tz="UTC")  # local midnight, Melbourne


@pytest.fixture
def empty_city(org):
    return make_city(org, "Nowhere", timezone="Australia/Sydney", latitude=-33.9, longitude=151.2)


@pytest.fixture
def trained_city(city_with_history, settings):
    settings.TRAINING_ITERATIONS = 60
    model_version_train(city=city_with_history)
    return city_with_history


def request_for(city, key, start=DEC_30, horizon=24, quantiles=(0.05, 0.5, 0.95)):
    return ForecastRequest(
        key=key, city=city, start=start, horizon_hours=horizon, quantiles=quantiles
    )


def test_batch_isolates_a_failing_request(trained_city, empty_city):
    results = forecast_many([request_for(trained_city, "a"), request_for(empty_city, "b")])
    good, bad = results
    assert isinstance(good, ForecastResult) and good.key == "a"
    assert good.quality == "normal" and good.model_version.city_id == trained_city.pk
    assert len(good.index) == 48 and good.index[0] == DEC_30
    assert (good.values[0.05] <= good.values[0.5]).all()
    assert (good.values[0.5] <= good.values[0.95]).all()
    actual = observation_frame_for_city(
        trained_city, DEC_30, good.index[-1] + pd.Timedelta("30min")
    )
    mape = np.mean(np.abs(good.values[0.5] - actual["demand_mw"].to_numpy()) / actual["demand_mw"])
    assert mape < 0.15
    assert isinstance(bad, DomainError) and bad.code == "insufficient_data"


def test_batched_answers_equal_single_answers(trained_city):
    requests = [
        request_for(trained_city, 1),
        request_for(
            trained_city,
            2,
            start=DEC_30 - pd.Timedelta(days=3),
            horizon=36,
            quantiles=SUPPORTED_QUANTILES,
        ),
    ]
    together = forecast_many(requests)
    alone = [forecast_many([r])[0] for r in requests]
    for batched, single in zip(together, alone, strict=True):
        assert batched.key == single.key and list(batched.values) == list(single.values)
        for q in batched.values:
            np.testing.assert_allclose(batched.values[q], single.values[q])
    assert len(together[1].index) == 72


def test_forecast_ignores_later_observations(trained_city):
    from cities.models import Observation

    before = forecast_many([request_for(trained_city, "x")])[0]
    Observation.objects.filter(city=trained_city, timestamp__gte=DEC_30).update(demand_mw=1.0)
    after = forecast_many([request_for(trained_city, "x")])[0]
    np.testing.assert_array_equal(before.values[0.5], after.values[0.5])


def test_no_model_gives_flagged_fallback(city_with_history):
    (result,) = forecast_many([request_for(city_with_history, "f")])
    assert result.quality == "fallback" and result.method == "seasonal-profile"
    assert result.model_version is None and "no active model" in result.quality_reason
    assert (result.values[0.05] < result.values[0.95]).all()


def test_model_city_with_a_gap_before_start_falls_back(trained_city):
    from cities.models import Observation

    Observation.objects.filter(
        city=trained_city, timestamp__gte=DEC_30 - pd.Timedelta(days=4)
    ).delete()
    (result,) = forecast_many([request_for(trained_city, "g")])
    assert result.quality == "fallback" and "week" in result.quality_reason


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"horizon": 0}, "invalid_horizon"),
        ({"horizon": 169}, "invalid_horizon"),
        ({"quantiles": (0.05, 0.95)}, "invalid_quantiles"),
        ({"quantiles": (0.5, 0.33)}, "invalid_quantiles"),
        ({"start": DEC_30 + pd.Timedelta(minutes=10)}, "misaligned_start"),
    ],
)
def test_bad_requests_get_their_own_error(city_with_history, change, code):
    bad = request_for(city_with_history, "bad", **change)
    results = forecast_many([bad, request_for(city_with_history, "ok")])
    assert isinstance(results[0], DomainError) and results[0].code == code
    assert isinstance(results[1], ForecastResult)


def test_the_selected_model_serves_and_a_day_without_weather_uses_the_no_weather_variant(
    trained_city,
):
    from cities.models import Observation
    from training.deployed import algorithm_name

    model_version = trained_city.model_versions.get(status="active")
    variants = model_version.params["variants"]

    def expected(variant):
        members = [m["family"] for m in variants[variant]["members"]]
        return algorithm_name(variants[variant]["candidate"], members)

    with_weather = forecast_many([request_for(trained_city, "w")])[0]
    assert with_weather.method == expected("weather")
    # No weather forecast for the day: the model that needs none answers, still banded.
    Observation.objects.filter(city=trained_city, timestamp__gte=DEC_30).update(temperature_c=None)
    without = forecast_many([request_for(trained_city, "n")])[0]
    assert without.method == expected("no_weather") and without.quality == "normal"
    assert (without.values[0.05] < without.values[0.95]).all()
    assert (without.values[0.05] <= without.values[0.5]).all()


def test_an_hourly_city_in_another_time_zone_gets_its_dst_day(org, victoria, settings):
    from tests.factories import load_observations

    berlin = make_city(org, "Berlin", country="DE", timezone="Europe/Berlin", resolution_minutes=60)
    load_observations(berlin, victoria.loc["2014-10-01":].resample("60min").mean())
    model_version = model_version_train(city=berlin)
    # Clocks go back on 26 October 2014 in Berlin: that local day has 25 hours.
    start = pd.Timestamp("2014-10-26", tz="Europe/Berlin").tz_convert("UTC")
    (result,) = forecast_many([request_for(berlin, "dst", start=start, horizon=25)])
    assert result.quality == "normal" and result.model_version == model_version
    assert len(result.index) == 25 and result.index[1] - result.index[0] == pd.Timedelta("1h")
    local_hours = result.index.tz_convert("Europe/Berlin").hour
    assert list(local_hours[:4]) == [0, 1, 2, 2]  # 02:00 happens twice
    assert (result.values[0.05] <= result.values[0.5]).all()
    assert (result.values[0.5] <= result.values[0.95]).all()
    actual = victoria["demand_mw"].resample("60min").mean().reindex(result.index).to_numpy()
    assert np.mean(np.abs(result.values[0.5] - actual) / actual) < 0.1


def test_requests_starting_at_any_hour_share_one_feature_pass(trained_city, monkeypatch):
    # Each history runs to the end of its last target's local day, so forecasts of one
    # city agree on every value their features read and take the merged pass, whatever
    # hour they start at; their answers are those of each forecast made alone.
    from training import features

    alone_calls = []
    original = features.build_feature_frame

    def counted(*args, **kwargs):
        alone_calls.append(args[2])
        return original(*args, **kwargs)

    requests = [
        request_for(trained_city, k, start=DEC_30 - pd.Timedelta(hours=5 * k + 1)) for k in range(4)
    ]
    alone = [forecast_many([r])[0] for r in requests]
    monkeypatch.setattr(features, "build_feature_frame", counted)
    together = forecast_many(requests)
    assert alone_calls == []  # none was built on its own
    for batched, single in zip(together, alone, strict=True):
        assert batched.quality == "normal" and batched.weather == "observations"
        for q in batched.values:
            np.testing.assert_allclose(batched.values[q], single.values[q], rtol=1e-9)
