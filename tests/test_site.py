"""Site-wide endpoints: health, schema, metrics, dashboard, error envelope."""

import pytest

pytestmark = pytest.mark.django_db


def test_liveness(client):
    assert client.get("/health/live").json() == {"status": "ok"}


def test_readiness_reports_each_dependency(client):
    response = client.get("/health/ready")
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "broker", "workers"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/forecasts/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_metrics_expose_project_metrics(client):
    body = client.get("/metrics").content.decode()  # the test client is 127.0.0.1
    assert "django_http_requests_total_by_method_total" in body
    assert "energy_forecast_batch_size" in body


def test_metrics_are_internal_only(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_BEARER_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    ok = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 200


def test_dashboard_requires_login(client, owner, city):
    assert client.get("/").status_code == 302
    client.force_login(owner)
    page = client.get("/")
    assert page.status_code == 200 and b"Melbourne" in page.content


def test_unknown_urls_get_the_json_error_envelope(client):
    response = client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_production_settings_pass_check_deploy():
    """`manage.py check --deploy` is clean with production settings (docs/architecture.md)."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "DJANGO_SECURE_SSL_REDIRECT": "1",
        "DJANGO_HSTS_SECONDS": "31536000",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_shows_the_dispatch_mode_and_its_shortfalls(client, owner, stranger, city):
    import pandas as pd

    from forecasts.models import ForecastRun
    from optimization.models import DispatchRun

    run = ForecastRun.objects.create(
        city=city, method="test", start=pd.Timestamp("2014-12-30 13:00", tz="UTC"),
        horizon_hours=24, quantiles=[0.05, 0.5, 0.95],
    )  # fmt: skip
    DispatchRun.objects.create(
        forecast_run=run,
        mode=DispatchRun.Mode.RESERVE,
        status=DispatchRun.Status.OPTIMAL_WITH_SHORTFALLS,
        curtailment_mwh=12.5,
        reserve_shortfall_mwh=3.5,
        shortfalls=[
            {
                "constraint": "min_renewable_share",
                "target": 0.6,
                "achieved": 0.42,
                "shortfall": 0.18,
                "unit": "share",
            }
        ],
    )
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert "reserve mode" in page
    assert "short: min_renewable_share" in page and "0.420 of 0.600 share" in page
    assert "reserve short MWh</th><td>3.5<" in page
    client.force_login(stranger)
    assert "min_renewable_share" not in client.get("/").content.decode()


def test_the_dashboard_costs_the_same_queries_for_one_city_or_five(
    client, owner, org, city, victoria
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_city
    from tests.optimization.test_services import forecast_run_for_day

    def page_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/").content.decode()
        return len(captured), page

    client.force_login(owner)
    forecast_run_for_day(city, victoria, "2014-03-15")
    one, page = page_queries()
    assert page.count("<polygon") == 1  # the city's forecast band
    for name in ("Geelong", "Ballarat", "Bendigo", "Shepparton"):
        forecast_run_for_day(make_city(org, name=name), victoria, "2014-03-16")
    five, page = page_queries()
    assert page.count("<polygon") == 5 and "Shepparton" in page
    assert five == one


def test_the_api_index_links_every_resource(client):
    response = client.get("/api/v1/")  # anyone may read it: paths, never data
    assert response.status_code == 200
    links = response.json()
    assert links["cities"] == "http://testserver/api/v1/cities/"
    assert links["auth_token"] == "http://testserver/api/v1/auth/token/"
    for name, url in links.items():
        path = url.removeprefix("http://testserver")
        # Every link resolves: a page, a login request, or "POST only".
        assert client.get(path).status_code in (200, 401, 405), name


def test_the_docs_page_answers_other_methods_with_the_envelope(client):
    response = client.options("/api/docs/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_swagger_ui_is_served_from_our_static_files(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_a_missing_multiprocess_directory_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys

    missing = tmp_path / "not-there"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "energy_site.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"PROMETHEUS_MULTIPROC_DIR={missing} is not a directory" in done.stderr
