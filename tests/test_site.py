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
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert "energy_forecast_batch_size" in body


def test_dashboard_requires_login(client, owner, city):
    assert client.get("/").status_code == 302
    client.force_login(owner)
    page = client.get("/")
    assert page.status_code == 200 and b"Melbourne" in page.content


def test_unknown_urls_get_the_json_error_envelope(client):
    response = client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
