"""In-memory stand-ins for the API's two collaborators (HDFS documents, the Kafka registry), for HTTP-layer tests.

The documents are built by the consumer's own build_document, so they have the real shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from zootopia.consumer.documents import Cumulative, KingdomCount, SpeciesCount, build_document
from zootopia.streams.registry import Source, normalize, source_id

GBIF, OBIS = "https://gbif.org", "https://obis.org"


def documents() -> list[dict[str, Any]]:
    """Window 1 empty (as the consumer writes it), 2 and 3 with records."""
    windows = [
        ([], {}, SpeciesCount(0, 0)),
        (
            [
                KingdomCount(GBIF, "gbif", "Animalia", 50),
                KingdomCount(GBIF, "gbif", "Plantae", 7),
                KingdomCount(OBIS, "obis", "Animalia", 20),
            ],
            {GBIF: SpeciesCount(30, 30), OBIS: SpeciesCount(5, 5)},
            SpeciesCount(34, 34),
        ),
        (
            [KingdomCount(GBIF, "gbif", "Fungi", 3), KingdomCount(GBIF, "gbif", "Animalia", 1)],
            {GBIF: SpeciesCount(4, 2)},
            SpeciesCount(4, 2),
        ),
    ]
    documents: list[dict[str, Any]] = []
    previous = Cumulative()
    for number, (counts, by_source, overall) in enumerate(windows, start=1):
        document = build_document(
            number,
            trigger_seconds=120,
            counts=counts,
            rejects=0,
            species_by_source=by_source,
            species_overall=overall,
            previous=previous,
            processed_at=datetime(2026, 11, 25, tzinfo=timezone.utc),
        )
        documents.append(document)
        previous = previous.after(document)
    return documents


def history(windows: int, trigger_seconds: int = 120) -> list[dict[str, Any]]:
    """`windows` documents with varied counts and new species, as the consumer writes them."""
    written: list[dict[str, Any]] = []
    previous = Cumulative()
    for number in range(1, windows + 1):
        counts = [KingdomCount(GBIF, "gbif", "Animalia", number % 7 + 1)]
        if number % 3:
            counts.append(KingdomCount(OBIS, "obis", "Plantae", number % 3))
        by_source = {GBIF: SpeciesCount(2, number % 2), OBIS: SpeciesCount(1, 1)} if number % 3 else {}
        document = build_document(
            number,
            trigger_seconds=trigger_seconds,
            counts=counts,
            rejects=0,
            species_by_source=by_source or {GBIF: SpeciesCount(2, number % 2)},
            species_overall=SpeciesCount(3, number % 2 + (1 if number % 3 else 0)),
            previous=previous,
            processed_at=datetime(2026, 11, 25, tzinfo=timezone.utc) + timedelta(seconds=number * trigger_seconds),
        )
        written.append(document)
        previous = previous.after(document)
    return written


class MemoryDocuments:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = {int(d["window"]): d for d in documents}

    def has_document(self, window: int) -> bool:
        return window in self.documents

    def read_document(self, window: int) -> Mapping[str, Any]:
        return self.documents[window]


class MemoryStreams:
    def __init__(self) -> None:
        self.active: list[Source] = []

    def sources(self) -> list[Source]:
        return list(self.active)

    def add(self, url: str) -> tuple[Source, bool]:
        for source in self.active:
            if source.url == url:
                return source, False
        seq = len(self.active)
        source = Source(source_id(url), url, "gbif", f"node{seq}", seq, "2026-11-25T00:00:00+00:00")
        self.active.append(source)
        return source, True

    def remove(self, url: str) -> Source | None:
        for source in self.active:
            if source.url == normalize(url):
                self.active.remove(source)
                return source
        return None
