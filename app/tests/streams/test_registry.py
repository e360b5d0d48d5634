"""Sources are checked before anything is written: what a source URL is, its id, its topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zootopia import cli, config
from zootopia.streams import registry


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://gbif.org/", "https://gbif.org"),
        (" https://obis.org ", "https://obis.org"),
        ("http://172.30.80.10:8088/gbif/archives/a.zip", "http://172.30.80.10:8088/gbif/archives/a.zip"),
        ("https://idigbio.org/?q=1", "https://idigbio.org/?q=1"),
    ],
)
def test_normalize_keeps_the_url_and_trims_seeds(given: str, normal: str) -> None:
    assert registry.normalize(given) == normal


@pytest.mark.parametrize("bad", ["gbif.org", "ftp://gbif.org", "", "https://", "file:///etc/passwd"])
def test_what_is_not_an_http_url_is_refused(bad: str) -> None:
    with pytest.raises(registry.SourceError, match="http"):
        registry.normalize(bad)


def test_source_id_is_a_stable_systemd_instance_name() -> None:
    ident = registry.source_id("https://gbif.org")
    assert ident == registry.source_id("https://gbif.org")
    assert ident != registry.source_id("https://obis.org")
    assert len(ident) == 16
    assert set(ident) <= set("0123456789abcdef")


def test_topic_rules_match_the_host_and_its_subdomains() -> None:
    settings = config.Settings()
    assert config.topic_for("https://gbif.org", settings) == "gbif"
    assert config.topic_for("https://api.obis.org/v3/dataset", settings) == "obis"
    assert config.topic_for("https://search.idigbio.org/v2", settings) == "idigbio"
    assert config.topic_for("https://notgbif.org", settings) is None
    assert config.topic_for("http://172.30.80.10:8088/gbif/archives/a.zip", settings) is None


def test_unknown_settings_are_refused_with_their_names(tmp_path: Path) -> None:
    path = tmp_path / "zootopia.json"
    path.write_text(json.dumps({"kafka": {"bootstrap_server": ["x:9092"]}}))
    with pytest.raises(ValueError, match="bootstrap_server"):
        config.load(path)
    path.write_text(json.dumps({"engine": "curl"}))
    with pytest.raises(ValueError, match="builtin or preston"):
        config.load(path)


def test_the_cli_refuses_a_bad_source_before_touching_kafka(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["streams", "add", "not a url"]) == 2
    assert "http(s) URL" in capsys.readouterr().err
