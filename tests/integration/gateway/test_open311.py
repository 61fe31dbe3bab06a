"""Open311 GeoReport v2 against the spec's own examples (wiki.open311.org/GeoReport_v2), each in
JSON and XML: discovery, services, a service definition, POST a request (the spec's example
form, with this community's service code and building), GET requests with the example's filters,
one request, a token, and the error format (the spec's "Invalid api_key" example)."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import requests

# The spec's POST example, field for field; only the service code and the building are ours.
SPEC_POST = {"api_key": None, "jurisdiction_id": "city.gov", "service_code": "sanitation",
             "lat": "37.76524078", "long": "-122.4212043", "address_string": "1234 5th street",
             "email": "smit333@sfgov.edu", "device_id": "tt222111", "account_id": "123456",
             "first_name": "john", "last_name": "smith", "phone": "111111111",
             "description": "A large sofa has been illegally dumped in the middle of the road.",
             "media_url": "http://test.com/image.jpg", "attribute[building]": "B1"}


@pytest.fixture
def open311(base_url, admin, community, accounts):
    accounts("open311-app", "community_admin")
    key = admin.ok("POST", "/v1/accounts/open311-app/api-keys")["api_key"]
    return base_url + "/open311/v2", key


def xml_of(response):
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_names_the_spec_and_both_formats(open311):
    base, _ = open311
    doc = requests.get(f"{base}/discovery.json", timeout=30).json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["formats"] == ["text/xml", "application/json"]
    root = xml_of(requests.get(f"{base}/discovery.xml", timeout=30))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_services_and_a_definition_in_both_formats(open311):
    base, _ = open311
    services = requests.get(f"{base}/services.json", timeout=30).json()
    noise = next(s for s in services if s["service_code"] == "noise")
    assert set(noise) == {"service_code", "service_name", "description", "metadata", "type", "keywords",
                          "group"}
    assert noise["service_name"] == "噪音扰民" and noise["type"] == "realtime" and noise["metadata"] is True
    root = xml_of(requests.get(f"{base}/services.xml", timeout=30))
    assert root.tag == "services" and root.find("service/service_code") is not None
    assert {s.findtext("service_code") for s in root} == {s["service_code"] for s in services}
    definition = requests.get(f"{base}/services/noise.json", timeout=30).json()
    assert definition["service_code"] == "noise"
    building = next(a for a in definition["attributes"] if a["code"] == "building")
    assert building["required"] is True and building["datatype"] == "string" and building["variable"] is True
    root = xml_of(requests.get(f"{base}/services/noise.xml", timeout=30))
    assert root.tag == "service_definition" and root.find("attributes/attribute/code").text == "building"
    missing = requests.get(f"{base}/services/001.json", timeout=30)
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_spec_post_example_creates_an_incident_and_is_tracked(open311, admin, fmt):
    base, key = open311
    posted = requests.post(f"{base}/requests.{fmt}", data={**SPEC_POST, "api_key": key}, timeout=30)
    assert posted.status_code == 201, posted.text
    if fmt == "json":
        [created] = posted.json()
        request_id, token = created["service_request_id"], created["token"]
        assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    else:
        created = xml_of(posted).find("request")
        request_id, token = created.findtext("service_request_id"), created.findtext("token")
    incident = admin.ok("GET", f"/v1/incidents/{request_id}")  # a real incident of grid_events
    assert incident["category"] == "sanitation" and incident["grid_code"] == "G1"
    assert incident["location"] == {"lat": 37.76524078, "lng": -122.4212043}
    assert incident["description"] == SPEC_POST["description"]

    [one] = requests.get(f"{base}/requests/{request_id}.json", params={"api_key": key}, timeout=30).json()
    assert one["service_request_id"] == request_id and one["status"] == "open"
    assert one["service_code"] == "sanitation" and one["service_name"] == "环境卫生"
    assert one["lat"] == 37.76524078 and one["long"] == -122.4212043
    assert one["media_url"] == "http://test.com/image.jpg" and one["address"] == "B1"
    assert datetime.fromisoformat(one["requested_datetime"]).tzinfo is not None
    root = xml_of(requests.get(f"{base}/requests/{request_id}.xml", params={"api_key": key}, timeout=30))
    assert root.tag == "service_requests" and root.findtext("request/status") == "open"
    [by_token] = requests.get(f"{base}/tokens/{token}.json", timeout=30).json()
    assert by_token == {"service_request_id": request_id, "token": token}


def test_get_requests_with_the_spec_filters_and_closed_status(open311, admin):
    base, key = open311
    ids = [requests.post(f"{base}/requests.json", data={**SPEC_POST, "api_key": key, "service_code": code},
                         timeout=30).json()[0]["service_request_id"] for code in ("sanitation", "noise")]
    admin.ok("POST", f"/v1/incidents/{ids[1]}/reject", json={"reason": "非本社区事务"})
    now = datetime.now(UTC)
    window = {"start_date": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_date": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    opened = requests.get(f"{base}/requests.json", params={"api_key": key, **window, "status": "open"},
                          timeout=30).json()
    assert [r["service_request_id"] for r in opened] == [ids[0]]
    closed = requests.get(f"{base}/requests.json", params={"api_key": key, "status": "closed"},
                          timeout=30).json()
    assert closed[0]["service_request_id"] == ids[1] and closed[0]["status_notes"] == "非本社区事务"
    by_code = requests.get(f"{base}/requests.xml", params={"api_key": key, "service_code": "noise"},
                           timeout=30)
    assert [r.findtext("service_request_id") for r in xml_of(by_code)] == [ids[1]]
    by_ids = requests.get(f"{base}/requests.json", timeout=30,
                          params={"api_key": key, "service_request_id": ",".join(ids)}).json()
    assert {r["service_request_id"] for r in by_ids} == set(ids)
    too_old = requests.get(f"{base}/requests.json", params={
        "api_key": key, "start_date": "2010-05-24T00:00:00Z", "end_date": "2010-06-24T00:00:00Z"}, timeout=30)
    assert too_old.json() == []  # the spec's example window: nothing from 2010 here


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_in_the_spec_format(open311, fmt):
    base, key = open311
    bad_key = requests.post(f"{base}/requests.{fmt}", data={**SPEC_POST, "api_key": "xyz"}, timeout=30)
    assert bad_key.status_code == 403
    no_building = requests.post(f"{base}/requests.{fmt}", timeout=30, data={
        **{k: v for k, v in SPEC_POST.items() if k != "attribute[building]"}, "api_key": key})
    assert no_building.status_code == 400
    unknown = requests.get(f"{base}/requests/INC-000000-NONE.{fmt}", params={"api_key": key}, timeout=30)
    assert unknown.status_code == 404
    for response, code in ((bad_key, 403), (no_building, 400), (unknown, 404)):
        if fmt == "json":
            assert response.json() == [{"code": code, "description": response.json()[0]["description"]}]
        else:
            root = xml_of(response)
            assert root.tag == "errors" and root.findtext("error/code") == str(code)
            assert root.findtext("error/description")
    assert "api_key" in (bad_key.json()[0]["description"] if fmt == "json"
                         else xml_of(bad_key).findtext("error/description"))
