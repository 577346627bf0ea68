"""Content negotiation (httpapi/negotiation.py): the shortcut for plain JSON clients
answers as DRF's negotiation would, and everything else is still negotiated."""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", " application/json "])
def test_plain_json_clients_get_json(owner_client, city, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    answer = owner_client.get("/api/v1/cities/", **headers)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert json.loads(answer.content)["results"][0]["name"] == city.name


def test_other_media_types_are_negotiated_by_drf(owner_client, city):
    html = owner_client.get("/api/v1/cities/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    indented = owner_client.get("/api/v1/cities/", HTTP_ACCEPT="application/json; indent=4")
    assert indented.status_code == 200 and b'\n    "' in indented.content
    refused = owner_client.get("/api/v1/cities/", HTTP_ACCEPT="application/xml")
    assert refused.status_code == 406
    assert refused.json()["error"]["code"] == "not_acceptable"
    # ?format= overrides even a plain Accept: not taken by the shortcut.
    forced = owner_client.get("/api/v1/cities/", {"format": "api"}, HTTP_ACCEPT="*/*")
    assert forced.status_code == 200 and forced["Content-Type"].startswith("text/html")
