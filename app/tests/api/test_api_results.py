"""The API's in-memory results: new windows picked up, never one out of order, a wiped store starts over."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from api_memory import MemoryDocuments, documents

from zootopia.api.results import Results
from zootopia.api.serve import gunicorn_command, read_token


class CountingDocuments(MemoryDocuments):
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        super().__init__(documents)
        self.reads: list[int] = []

    def read_document(self, window: int) -> Mapping[str, Any]:
        self.reads.append(window)
        return super().read_document(window)


def test_refresh_reads_only_new_windows() -> None:
    written = documents()
    store = CountingDocuments(written[:1])
    results = Results(store, interval=60)
    assert results.refresh().last == 1
    store.documents.update({3: written[2]})
    # Window 3 without window 2 (still being written): not taken yet.
    assert results.refresh().last == 1
    store.documents.update({2: written[1]})
    snapshot = results.refresh()
    assert snapshot.last == 3
    assert store.reads == [1, 2, 3]
    assert snapshot.totals_of("totalSpecies") == {"Species": 36}


def test_unchanged_store_keeps_the_same_snapshot() -> None:
    results = Results(MemoryDocuments(documents()), interval=60)
    first = results.refresh()
    assert results.refresh() is first


def test_wiped_store_starts_over() -> None:
    store = MemoryDocuments(documents())
    results = Results(store, interval=60)
    assert results.refresh().last == 3
    store.documents = {1: documents()[0]}
    snapshot = results.refresh()
    assert snapshot.last == 1
    assert snapshot.totals_of("source") == {}
    assert snapshot.totals_of("totalSpecies") == {"Species": 0}


def test_background_refresh_keeps_the_last_snapshot_on_errors() -> None:
    class Failing(MemoryDocuments):
        def has_document(self, window: int) -> bool:
            raise ConnectionError("namenode down")

    results = Results(Failing([]), interval=0.01)
    results.start()
    try:
        for _ in range(200):
            if results.last_error:
                break
            time.sleep(0.01)
    finally:
        results.stop()
    assert results.last_error == "ConnectionError: namenode down"
    assert results.snapshot.last == 0


def test_token_file(tmp_path: Path) -> None:
    assert read_token("") == ""
    path = tmp_path / "token"
    path.write_text("abc\n", encoding="utf-8")
    assert read_token(str(path)) == "abc"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        read_token(str(path))


def test_gunicorn_command_serves_tls_only_with_certificate_and_key() -> None:
    plain = gunicorn_command("0.0.0.0:10001", 2, 8, None, None)
    assert "--certfile" not in plain
    assert plain[-1] == "zootopia.api.serve:wsgi()"
    assert int(plain[plain.index("--keep-alive") + 1]) > 5  # longer than the dashboard's refresh
    # A token given as ?token= never reaches the access log: paths only, no request line or query.
    log_format = plain[plain.index("--access-logformat") + 1]
    assert "%(U)s" in log_format
    assert "%(r)s" not in log_format
    assert "%(q)s" not in log_format
    tls = gunicorn_command("0.0.0.0:10001", 2, 8, "/c.pem", "/k.pem")
    assert tls[tls.index("--certfile") + 1] == "/c.pem"
    assert tls[tls.index("--keyfile") + 1] == "/k.pem"
    with pytest.raises(ValueError, match="both"):
        gunicorn_command("0.0.0.0:10001", 2, 8, "/c.pem", None)


def test_a_short_range_past_the_recent_windows_is_read_once() -> None:
    written = documents()  # windows 1..3
    store = CountingDocuments(written)
    results = Results(store, interval=60, recent=1)
    results.refresh()
    store.reads.clear()
    for _ in range(3):  # /count?windows=3, asked again and again: windows 1 and 2 read once, 3 held
        assert [window.id for window in results.read_range(1, 3)] == [1, 2, 3]
    assert sorted(store.reads) == [1, 2]
    assert results.window(2) is not None  # /window?id=2: from the same cache
    assert sorted(store.reads) == [1, 2]


def test_a_range_longer_than_the_cache_is_read_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("zootopia.api.results.OLDER_CACHED", 2)  # a range of 3 does not fit
    store = CountingDocuments(documents())
    results = Results(store, interval=60, recent=1)
    results.refresh()
    store.reads.clear()
    for _ in range(2):
        assert [window.id for window in results.read_range(1, 3)] == [1, 2, 3]
    assert sorted(store.reads) == [1, 1, 2, 2]


def test_a_wiped_store_is_read_anew_not_from_the_snapshot_it_replaces() -> None:
    written = documents()
    store = MemoryDocuments(written)
    results = Results(store, interval=60)  # holds windows 1..3
    assert results.refresh().last == 3
    rewritten = {**written[1], "window": 1}  # a new window 1, with records, where the old one had none
    store.documents = {1: rewritten}
    snapshot = results.refresh()
    assert snapshot.last == 1
    fresh = Results(MemoryDocuments([rewritten]), interval=60).refresh()
    assert snapshot.totals_of("source") == fresh.totals_of("source")
    assert snapshot.totals_of("source") != {}
