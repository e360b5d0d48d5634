"""The API's HTTP contract over in-memory window documents and registry (the deployed one is checked in molecule)."""

from __future__ import annotations

from typing import Any

import pytest
from api_memory import GBIF, MemoryDocuments, MemoryStreams, documents
from flask.testing import FlaskClient

from zootopia.api.app import create_app
from zootopia.api.health import Health
from zootopia.api.results import Results
from zootopia.api.streams import AllowList

TOKEN = "s3cret-token-of-the-tests"


@pytest.fixture
def streams() -> MemoryStreams:
    return MemoryStreams()


def _client(streams: MemoryStreams, token: str = "", health: Health | None = None) -> FlaskClient:
    results = Results(MemoryDocuments(documents()), interval=60)
    results.refresh()
    health = health or Health({"kafka": lambda: {"status": "ok"}}, timeout=1)
    allow = AllowList(["https://gbif.org", "https://obis.org/", "https://idigbio.org"])
    return create_app(results, streams, allow, health, token).test_client()


@pytest.fixture
def client(streams: MemoryStreams) -> FlaskClient:
    return _client(streams)


def _text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.mimetype == "text/plain"
    return response.text


def _json(client: FlaskClient, url: str) -> Any:  # noqa: ANN401  # the body's JSON, any shape
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.mimetype == "application/json"
    return response.get_json()


def test_add_source_starts_an_allowed_stream_once(client: FlaskClient, streams: MemoryStreams) -> None:
    assert _text(client, "/addSource?url=https://gbif.org") == ""
    assert _text(client, "/addSource?url=https://gbif.org/") == ""
    assert [source.url for source in streams.active] == [GBIF]


@pytest.mark.parametrize(
    "url", ["https://example.org", "http://gbif.org", "https://gbif.org.evil.net", "file:///etc/passwd", "gbif", " "]
)
def test_add_source_refuses_what_is_not_allowed(client: FlaskClient, streams: MemoryStreams, url: str) -> None:
    text = _text(client, f"/addSource?url={url}", 400)
    assert text.count("\n") == 1
    assert "allowed source" in text or "Missing parameter 'url'" in text
    assert streams.active == []


def test_remove_and_list_sources(client: FlaskClient) -> None:
    assert _text(client, "/listSources") == ""
    _text(client, "/addSource?url=https://obis.org")
    _text(client, "/addSource?url=https://gbif.org")
    assert _text(client, "/listSources") == "https://obis.org\nhttps://gbif.org\n"
    assert _text(client, "/removeSource?url=https://obis.org") == ""
    assert _text(client, "/removeSource?url=https://obis.org", 400) == "'https://obis.org' is not an active source\n"
    assert _text(client, "/removeSource?url=not-a-url", 400).startswith("a source is an http(s) URL")
    assert _text(client, "/listSources") == "https://gbif.org\n"


def test_count_totals(client: FlaskClient) -> None:
    assert _text(client, "/count?by=source") == "https://gbif.org 61\nhttps://obis.org 20\n"
    assert _text(client, "/count?by=kingdom") == "Animalia 71\nFungi 3\nPlantae 7\n"
    assert _text(client, "/count?by=totalSpecies") == "Species 36\n"


def test_count_per_window(client: FlaskClient) -> None:
    assert _text(client, "/count?by=kingdom&windows=1") == "3 Animalia 1\n3 Fungi 3\n"
    assert _text(client, "/count?by=source&windows=all") == (
        "2 https://gbif.org 57\n2 https://obis.org 20\n3 https://gbif.org 4\n"
    )
    assert _text(client, "/count?by=totalSpecies&windows=2") == "2 Species 34\n3 Species 4\n"
    # More windows than there are: all of them.
    assert _text(client, "/count?by=totalSpecies&windows=99") == "1 Species 0\n2 Species 34\n3 Species 4\n"


def test_count_as_json_carries_the_running_totals(client: FlaskClient) -> None:
    body = _json(client, "/count?by=totalSpecies&windows=all")
    assert body == {
        "by": "totalSpecies",
        "windows": [
            {"window": 1, "counts": {"Species": 0}, "cumulative": {"Species": 0}},
            {"window": 2, "counts": {"Species": 34}, "cumulative": {"Species": 34}},
            {"window": 3, "counts": {"Species": 4}, "cumulative": {"Species": 36}},
        ],
    }
    totals = _json(client, "/count?by=kingdom")
    assert totals == {"by": "kingdom", "counts": {"Animalia": 71, "Fungi": 3, "Plantae": 7}}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("by=species", "Invalid value 'species' for 'by': use one of source, kingdom, totalSpecies"),
        ("", "Missing parameter 'by' (one of source, kingdom, totalSpecies)"),
        ("by=kingdom&windows=0", "Invalid value '0' for 'windows'"),
        ("by=kingdom&windows=-2", "Invalid value '-2' for 'windows'"),
        ("by=kingdom&windows=²", "Invalid value '²' for 'windows'"),
        ("by=kingdom&kee=1", "Unrecognized parameter 'kee'"),
        ("by=kingdom&by=source", "Parameter 'by' is given more than once"),
    ],
)
def test_count_refusals(client: FlaskClient, query: str, message: str) -> None:
    assert _text(client, f"/count?{query}", 400).startswith(message)


def test_window_table(client: FlaskClient) -> None:
    assert _text(client, "/window?id=2") == "2 https://gbif.org 7 50 0 30\n2 https://obis.org 0 20 0 5\n"
    assert _text(client, "/window?id=1") == ""
    body = _json(client, "/window?id=3")
    assert body == {"window": 3, "rows": [{"source": GBIF, "plants": 0, "animals": 1, "fungi": 3, "species": 4}]}


@pytest.mark.parametrize(
    ("query", "status"), [("id=4", 404), ("id=0", 400), ("id=x", 400), ("", 400), ("id=1&x=2", 400)]
)
def test_window_refusals(client: FlaskClient, query: str, status: int) -> None:
    text = _text(client, f"/window?{query}", status)
    assert text.endswith("\n")
    assert text.count("\n") == 1


def test_unknown_paths_and_methods(client: FlaskClient) -> None:
    assert _text(client, "/nope", 404) == "No such path: /nope\n"
    response = client.post("/count?by=kingdom")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert _json(client, "/nope") == {"error": "No such path: /nope"}


@pytest.mark.parametrize("path", ["/count?by=kingdom", "/listSources", "/health", "/openapi.json", "/nope"])
def test_token_is_required_everywhere(streams: MemoryStreams, path: str) -> None:
    client = _client(streams, token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    expected = 404 if path == "/nope" else 200
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == expected


def test_the_dashboards_page_needs_no_token_and_refuses_one_in_its_url(streams: MemoryStreams) -> None:
    """The page holds no data (its calls carry the token, taken from the URL's fragment, which is never sent)."""
    client = _client(streams, token=TOKEN)
    page = client.get("/")
    assert page.status_code == 200
    assert b"location.hash" in page.data
    assert client.get(f"/?token={TOKEN}").status_code == 401


def test_a_token_in_the_url_or_a_form_is_refused_even_when_right(streams: MemoryStreams) -> None:
    """A leaked link carries nothing: the right token in a query string or a form is refused, and says how."""
    client = _client(streams, token=TOKEN)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for response in (
        client.get(f"/count?by=totalSpecies&token={TOKEN}"),
        client.get(f"/count?by=totalSpecies&token={TOKEN}", headers=bearer),
        client.post("/removeSource", data={"url": "https://gbif.org", "token": TOKEN}, headers=bearer),
    ):
        assert response.status_code == 401
        assert "Authorization: Bearer header" in response.text
    assert client.get("/count?by=totalSpecies", headers=bearer).text == "Species 36\n"


def test_sources_change_by_post_forms_too(streams: MemoryStreams) -> None:
    """The original's GET stays; a POST with the fields in a form body does the same."""
    client = _client(streams)
    added = client.post("/addSource", data={"url": "https://gbif.org"}, headers={"Accept": "application/json"})
    assert added.status_code == 200, added.text
    assert added.get_json()["created"] is True
    assert client.get("/listSources").text == "https://gbif.org\n"
    assert client.post("/addSource?url=https://gbif.org").status_code == 400  # fields in the body only
    assert client.post("/addSource", data={"url": "https://evil.example"}).status_code == 400
    assert client.post("/removeSource", data={"url": "https://gbif.org"}).status_code == 200
    assert client.get("/listSources").text == ""


def test_an_oversized_form_is_refused_unread(streams: MemoryStreams) -> None:
    response = _client(streams).post("/addSource", data={"url": "https://gbif.org/" + "x" * 20_000})
    assert response.status_code == 413
    assert _client(streams).get("/listSources").text == ""


def test_every_answer_carries_the_security_headers(streams: MemoryStreams) -> None:
    client = _client(streams, token=TOKEN)
    for path, headers in (("/count?by=kingdom", {"Authorization": f"Bearer {TOKEN}"}), ("/listSources", {})):
        response = client.get(path, headers=headers, base_url="https://localhost")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    # The page's own script, by its hash, and nothing from elsewhere.
    assert "script-src 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "connect-src 'self'" in policy


def test_health_reports_each_component(streams: MemoryStreams) -> None:
    def broken() -> dict[str, Any]:
        raise ConnectionError("refused")

    healthy = _client(streams, health=Health({"kafka": lambda: {"status": "ok"}}, timeout=1))
    assert healthy.get("/health").text == "status ok\nkafka ok\n"
    sick = _client(streams, health=Health({"kafka": lambda: {"status": "ok"}, "hdfs": broken}, timeout=1))
    response = sick.get("/health", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.get_json()["components"]["hdfs"] == {"status": "down", "error": "ConnectionError: refused"}


def test_openapi_describes_every_route(client: FlaskClient) -> None:
    described = _json(client, "/openapi.json")
    app = client.application
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert set(described["paths"]) == routes
    for path, item in described["paths"].items():
        assert set(item) == ({"get", "post"} if path in ("/addSource", "/removeSource") else {"get"}), path
        for operation in item.values():
            assert "401" not in operation["responses"]  # no token configured
    assert "security" not in described


def test_openapi_parameters_are_the_accepted_ones(client: FlaskClient) -> None:
    described = _json(client, "/openapi.json")
    for path, item in described["paths"].items():
        names = [parameter["name"] for parameter in item["get"].get("parameters", [])]
        assert "token" not in names
        if names:
            # Each described parameter is accepted (no "Unrecognized parameter").
            query = "&".join(f"{name}=1" for name in names)
            assert "Unrecognized" not in client.get(f"{path}?{query}").text, path
        assert "Unrecognized parameter 'zz'" in client.get(f"{path}?zz=1").text


def test_dashboard_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"<svg" in response.data or b"svg" in response.data


def test_openapi_names_the_allow_list_and_the_token(streams: MemoryStreams) -> None:
    client = _client(streams, token=TOKEN)
    described = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    url = described["paths"]["/addSource"]["get"]["parameters"][0]
    assert url["schema"]["enum"] == ["https://gbif.org", "https://idigbio.org", "https://obis.org"]
    form = described["paths"]["/addSource"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["schema"]["properties"]["url"]["enum"] == url["schema"]["enum"]
    assert described["security"] == [{"bearer": []}]
    for path, item in described["paths"].items():
        for operation in item.values():
            assert ("401" in operation["responses"]) == (path != "/"), path
    assert described["paths"]["/"]["get"]["security"] == []  # the page holds no data
