"""The streams' egress rules against real connections on loopback: refused unless allowed, on redirects
and for archives a registry page names too, and before any packet for an address refused by name; the
settings' entries checked when loaded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from werkzeug.serving import make_server

from zootopia.config import EgressSettings, Services, Settings
from zootopia.mirror import create_app
from zootopia.records import Malformed, Record
from zootopia.sources import egress
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    redirect_to = ""

    def do_GET(self) -> None:
        _Handler.hits.append(f"{self.server.server_address[1]}{self.path}")  # type: ignore[index]
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", _Handler.redirect_to)
            self.end_headers()
            return
        body = b"archive bytes"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    """Two HTTP servers on loopback; their ports."""
    _Handler.hits = []
    started = [ThreadingHTTPServer(("127.0.0.1", 0), _Handler) for _ in range(2)]
    for server in started:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield started[0].server_address[1], started[1].server_address[1]
    for server in started:
        server.shutdown()
        server.server_close()


def test_loopback_is_refused_and_nothing_is_read(servers: tuple[int, int]) -> None:
    first, _ = servers
    with pytest.raises(
        requests.ConnectionError, match=r"refused by the egress rules: 127.0.0.1:\d+ \(127.0.0.1 is loopback\)"
    ):
        egress.session(EgressSettings()).get(f"http://127.0.0.1:{first}/archive.zip", timeout=5)
    assert _Handler.hits == []


def test_a_proxy_in_the_environment_is_not_a_way_around(
    servers: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = servers
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{second}")  # an allowed "proxy"
    session = egress.session(EgressSettings(allowed=[f"127.0.0.1:{second}"]))
    with pytest.raises(requests.ConnectionError, match=r"\(127.0.0.1 is loopback\)"):
        session.get(f"http://127.0.0.1:{first}/archive.zip", timeout=5)
    assert _Handler.hits == []


def test_an_allowed_address_and_port_is_read(servers: tuple[int, int]) -> None:
    first, _ = servers
    response = egress.session(EgressSettings(allowed=[f"127.0.0.1:{first}"])).get(
        f"http://localhost:{first}/archive.zip", timeout=5
    )
    assert response.content == b"archive bytes"


def test_a_redirect_to_a_refused_port_is_refused(servers: tuple[int, int]) -> None:
    first, second = servers
    _Handler.redirect_to = f"http://127.0.0.1:{second}/secret"
    session = egress.session(EgressSettings(allowed=[f"127.0.0.1:{first}"]))
    with pytest.raises(requests.ConnectionError, match=f"refused by the egress rules: 127.0.0.1:{second}"):
        session.get(f"http://127.0.0.1:{first}/redirect", timeout=5)
    assert _Handler.hits == [f"{first}/redirect"]


def test_an_allowed_network_reaches_both(servers: tuple[int, int]) -> None:
    first, second = servers
    _Handler.redirect_to = f"http://127.0.0.1:{second}/archive.zip"
    response = egress.session(EgressSettings(allowed=["127.0.0.0/8"])).get(f"http://127.0.0.1:{first}/redirect")
    assert response.content == b"archive bytes"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://10.0.0.7:9870/webhdfs/v1/?op=LISTSTATUS", "10.0.0.7 is private"),
        ("http://[::1]:9870/", "::1 is loopback"),
        ("http://224.0.0.1/", "224.0.0.1 is multicast"),
        ("http://0.0.0.0:9870/", "0.0.0.0 is unspecified"),
        ("https://[::ffff:127.0.0.1]/", "127.0.0.1 is loopback"),
        ("http://128.110.96.5:9870/", "128.110.96.5 is one of the cluster's own addresses"),
    ],
)
def test_refused_before_connecting(url: str, reason: str) -> None:
    """Refused by the address the name gives: no packet leaves (these addresses are never contacted)."""
    session = egress.session(EgressSettings(refused=["128.110.96.5"]))
    with pytest.raises(requests.ConnectionError, match=f"refused by the egress rules: .*\\({reason}\\)"):
        session.get(url, timeout=5)


def test_rules_allow_public_addresses() -> None:
    rules = egress.Rules(EgressSettings(refused=["128.110.96.0/24"]))
    assert rules.refusal("8.8.8.8", 443) is None
    assert rules.refusal("2001:4860:4860::8888", 443) is None
    assert rules.refusal("128.110.96.9", 443) == "128.110.96.9 is one of the cluster's own addresses"


@pytest.mark.parametrize("entry", ["node0", "10.0.0.5:http", "300.1.1.1", "10.0.0.0/33"])
def test_a_wrong_entry_is_a_settings_error(entry: str) -> None:
    with pytest.raises(ValueError, match=f"egress: '{entry}' is not an address, a network or an address:port"):
        Settings.from_dict({"egress": {"allowed": [entry]}})


def test_a_registry_page_naming_a_refused_host_has_its_archives_set_aside(data_dir: Path, tmp_path: Path) -> None:
    """The registry (allowed) lists archives on 169.254.169.254: each is set aside, refused before
    connecting, and the crawl goes on to the next; nothing is sent."""
    server = make_server("127.0.0.1", 0, create_app(data_dir, "http://169.254.169.254"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        services = Services(gbif=f"{base}/gbif", obis=f"{base}/obis", idigbio=f"{base}/idigbio", timeout_seconds=30)
        rules = EgressSettings(allowed=[f"127.0.0.1:{server.port}"])
        settings = replace(Settings(), services=services, egress=rules)
        cache = ContentCache(tmp_path / "cache", 10**9)
        with egress.session(settings.egress) as session:
            items = list(builtin_stream("https://gbif.org", settings, cache, session, EngineStats()))
    finally:
        server.shutdown()
    set_aside = [item for item in items if isinstance(item, Malformed)]
    assert [item for item in items if isinstance(item, Record)] == []
    assert len(set_aside) == len(list((data_dir / "gbif").glob("*.zip")))
    for item in set_aside:
        assert item.raw.startswith("http://169.254.169.254/gbif/")
        assert "refused by the egress rules: 169.254.169.254:80 (169.254.169.254 is link-local)" in item.reason
