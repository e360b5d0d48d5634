"""A long history: a worker holds the same few windows at 1,000 and 3,000 windows and still serves each exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from api_memory import GBIF, MemoryDocuments, MemoryStreams, history
from flask.testing import FlaskClient

from zootopia.api import results as results_module
from zootopia.api.app import create_app
from zootopia.api.health import Health
from zootopia.api.history import buckets
from zootopia.api.results import Results, Window, last_window
from zootopia.api.streams import AllowList
from zootopia.config import ApiSettings

HISTORY = history(3_000)  # 2-minute windows: 30 a hour, 720 a day
RECENT_WINDOWS = 360


class CountingDocuments(MemoryDocuments):
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        super().__init__(documents)
        self.reads = 0
        self.lookups = 0

    def has_document(self, window: int) -> bool:
        self.lookups += 1
        return super().has_document(window)

    def read_document(self, window: int) -> Mapping[str, Any]:
        self.reads += 1
        return super().read_document(window)


def _client(results: Results) -> FlaskClient:
    health = Health({"kafka": lambda: {"status": "ok"}}, timeout=1)
    return create_app(results, MemoryStreams(), AllowList([GBIF]), health).test_client()


@pytest.mark.parametrize("windows", [0, 1, 2, 3, 1_000, 1_023, 1_024, 3_000])
def test_the_last_window_is_found_in_a_few_lookups(windows: int) -> None:
    calls: list[int] = []

    def has(window: int) -> bool:
        calls.append(window)
        return window <= windows

    assert last_window(has) == windows
    assert len(calls) <= 2 * max(1, windows).bit_length() + 2


@pytest.mark.parametrize("windows", [1_000, 3_000])
def test_a_worker_holds_the_recent_windows_and_one_per_hour(windows: int) -> None:
    store = CountingDocuments(HISTORY[:windows])
    snapshot = Results(store, interval=60).refresh()
    assert snapshot.last == windows
    assert [w.id for w in snapshot.recent] == list(range(windows - RECENT_WINDOWS + 1, windows + 1))
    assert [w.id for w in snapshot.hourly] == list(range(30, windows + 1, 30))
    # Reading: the recent windows, the hourly ones before them, and a few lookups; never every window.
    assert store.reads == RECENT_WINDOWS + (windows - RECENT_WINDOWS) // 30
    assert store.lookups < 40


def test_a_refresh_with_nothing_new_reads_nothing() -> None:
    store = CountingDocuments(HISTORY[:1_000])
    results = Results(store, interval=60)
    first = results.refresh()
    store.reads = store.lookups = 0
    assert results.refresh() is first
    assert (store.reads, store.lookups) == (0, 2)  # the last window still there, the next one not yet
    store.documents[1_001] = HISTORY[1_000]
    assert results.refresh().last == 1_001
    assert store.reads == 1


def test_every_window_is_served_exactly_old_or_recent() -> None:
    results = Results(MemoryDocuments(HISTORY), interval=60)
    results.refresh()
    client = _client(results)
    for number in (1, 29, 30, 1_500, 2_640, 2_641, 3_000):
        document = HISTORY[number - 1]
        assert results.window(number) == Window.of(document)
        rows = client.get(f"/window?id={number}", headers={"Accept": "application/json"}).get_json()["rows"]
        assert {row["source"]: row["animals"] for row in rows}[GBIF] == document["kingdoms"]["Animalia"]
    assert client.get("/window?id=3001").status_code == 404


def test_count_over_all_windows_is_streamed_and_exact() -> None:
    results = Results(MemoryDocuments(HISTORY), interval=60)
    results.refresh()
    client = _client(results)
    response = client.get("/count?by=source&windows=all", headers={"Accept": "application/json"})
    assert "Content-Length" not in response.headers  # streamed: its length is not known up front
    listed = response.get_json()["windows"]
    assert [w["window"] for w in listed] == list(range(1, 3_001))
    assert len(listed) == len(HISTORY)
    for item, document in zip(listed, HISTORY):  # no strict=: the app's tests run on Python 3.9 too
        assert item["counts"] == {url: entry["records"] for url, entry in document["sources"].items()}
        assert item["cumulative"] == {url: e["records"] for url, e in document["cumulative"]["sources"].items()}
    text = client.get("/count?by=totalSpecies&windows=2000").text.splitlines()
    assert text == [f"{d['window']} Species {d['species']}" for d in HISTORY[1_000:]]
    # Within the recent windows: rendered from memory once, the same bytes as streamed ones.
    recent = client.get("/count?by=kingdom&windows=300")
    assert recent.headers["Content-Length"] == str(len(recent.data))
    streamed = client.get("/count?by=kingdom&windows=400").text.splitlines()
    assert recent.text.splitlines() == streamed[-len(recent.text.splitlines()) :]


@pytest.mark.parametrize(("per", "size"), [("hour", 30), ("day", 720)])
def test_history_buckets_add_up_to_the_totals(per: str, size: int) -> None:
    results = Results(MemoryDocuments(HISTORY[:2_990]), interval=60)
    snapshot = results.refresh()
    listed = buckets(snapshot, per)
    assert [(b.first, b.last) for b in listed] == [
        (first, min(first + size - 1, 2_990)) for first in range(1, 2_991, size)
    ]
    for bucket in listed:
        inside = HISTORY[bucket.first - 1 : bucket.last]
        assert bucket.records == sum(d["records"] for d in inside)
        assert bucket.new_species == sum(d["new_species"] for d in inside)
        assert bucket.kingdoms == {
            name: total
            for name in ("Animalia", "Plantae")
            if (total := sum(d["kingdoms"].get(name, 0) for d in inside))
        }
        assert bucket.until == inside[-1]["processed_at"]
    assert listed[-1].species == HISTORY[2_989]["cumulative"]["species"]
    body = _client(results).get(f"/history?per={per}", headers={"Accept": "application/json"}).get_json()
    assert body["windows_per_bucket"] == size
    assert body["last"] == 2_990
    assert [b["records"] for b in body["buckets"]] == [b.records for b in listed]


def test_history_refuses_an_unknown_period() -> None:
    response = _client(Results(MemoryDocuments(HISTORY[:3]), interval=60)).get("/history?per=week")
    assert response.status_code == 400
    assert "Invalid value 'week' for 'per'" in response.text


def test_an_older_window_that_cannot_be_read_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryDocuments(HISTORY[:1_000])
    results = Results(store, interval=60)
    results.refresh()
    del store.documents[10]
    response = _client(results).get("/window?id=10")
    assert response.status_code == 503
    # The caller learns it is temporary; what failed inside goes to the journal only.
    assert response.text == "Window 10 could not be read now: try again in a minute\n"
    assert "KeyError" not in response.text
    # The cache of older windows stays bounded however many are asked for.
    for number in range(100, 300):
        assert results.window(number) is not None
    assert len(results._older) == results_module.OLDER_CACHED  # the bound itself


def test_a_document_without_running_totals_is_refused_with_the_way_out() -> None:
    old = {**HISTORY[0], "cumulative": {"records": 8, "species": 1, "rejects": 0}}
    results = Results(MemoryDocuments([old]), interval=60)
    with pytest.raises(ValueError, match="start them over"):
        results.refresh()


@pytest.mark.parametrize("recent", [0, -3, 2.5, True, "360"])
def test_recent_windows_must_be_a_positive_integer(recent: object) -> None:
    with pytest.raises(ValueError, match=r"api\.recent_windows must be an integer of at least 1"):
        ApiSettings(recent_windows=recent)  # type: ignore[arg-type]


def test_a_worker_keeps_the_configured_number_of_recent_windows() -> None:
    results = Results(MemoryDocuments(HISTORY[:100]), interval=60, recent=5)
    assert [w.id for w in results.refresh().recent] == [96, 97, 98, 99, 100]
    client = _client(results)
    # Answers over older windows read them: the same lines as the documents.
    lines = client.get("/count?by=totalSpecies&windows=20").text.splitlines()
    assert lines == [f"{d['window']} Species {d['species']}" for d in HISTORY[80:100]]
