"""The window document: assembled on the driver from the few rows Spark collects, plus the running totals.

Cumulative records and rejects add this window to the previous window's document; cumulative species
add the names this window saw first (found by Spark against the species partitions of earlier windows).
Each document also carries the running totals of every source and kingdom seen so far, so one document,
the last, restores the totals after a restart, however many windows came before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class KingdomCount:
    """Valid records of one source on one topic under one kingdom."""

    source: str
    topic: str
    kingdom: str
    records: int


@dataclass(frozen=True)
class SpeciesCount:
    """Distinct names in the window and how many of them no earlier window had (per source, or overall)."""

    species: int
    new_species: int


@dataclass(frozen=True)
class SourceTotals:
    records: int
    species: int


@dataclass(frozen=True)
class Cumulative:
    """Totals over windows 1..window (window 0: before the first one)."""

    window: int = 0
    records: int = 0
    species: int = 0
    rejects: int = 0
    sources: Mapping[str, SourceTotals] = field(default_factory=dict)
    kingdoms: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> Cumulative:
        """The totals after the given window documents, taken in window order."""
        state = cls()
        for document in sorted(documents, key=lambda d: int(d["window"])):
            state = state.after(document)
        return state

    @classmethod
    def from_last_document(cls, document: Mapping[str, Any]) -> Cumulative | None:
        """The totals after `document` alone; None for a document written before it carried them all."""
        totals = document["cumulative"]
        if "sources" not in totals or "kingdoms" not in totals:
            return None
        sources = {url: SourceTotals(int(e["records"]), int(e["species"])) for url, e in totals["sources"].items()}
        kingdoms = {name: int(count) for name, count in totals["kingdoms"].items()}
        return cls(
            int(document["window"]),
            int(totals["records"]),
            int(totals["species"]),
            int(totals["rejects"]),
            sources,
            kingdoms,
        )

    def after(self, document: Mapping[str, Any]) -> Cumulative:
        """The totals once `document` (the next window's) is counted in."""
        window = int(document["window"])
        if window != self.window + 1:
            # A missing document would silently drop its records from every later total.
            raise ValueError(f"window {window} follows window {self.window}: the documents in between are missing")
        sources = _source_totals(self.sources, document["sources"])
        kingdoms = _added(self.kingdoms, document["kingdoms"])
        totals = document["cumulative"]
        return Cumulative(
            window, int(totals["records"]), int(totals["species"]), int(totals["rejects"]), sources, kingdoms
        )


def build_document(
    window: int,
    *,
    trigger_seconds: int,
    counts: Iterable[KingdomCount],
    rejects: int,
    species_by_source: Mapping[str, SpeciesCount],
    species_overall: SpeciesCount,
    previous: Cumulative,
    processed_at: datetime,
) -> dict[str, Any]:
    """The document of `window`; `previous` must hold the totals up to the window before."""
    if previous.window != window - 1:
        raise ValueError(f"window {window} needs the totals of window {window - 1}, not of window {previous.window}")
    kingdoms: dict[str, int] = {}
    by_source: dict[str, dict[str, int]] = {}
    topics: dict[str, set[str]] = {}
    for count in counts:
        kingdoms[count.kingdom] = kingdoms.get(count.kingdom, 0) + count.records
        source_kingdoms = by_source.setdefault(count.source, {})
        source_kingdoms[count.kingdom] = source_kingdoms.get(count.kingdom, 0) + count.records
        topics.setdefault(count.source, set()).add(count.topic)
    records = sum(kingdoms.values())
    sources: dict[str, Any] = {}
    for url in sorted(by_source):
        source_records = sum(by_source[url].values())
        species = species_by_source.get(url, SpeciesCount(0, 0))
        before = previous.sources.get(url, SourceTotals(0, 0))
        sources[url] = {
            # One topic per source by the topic rules; a source seen on several lists them all.
            "topic": ",".join(sorted(topics[url])),
            "records": source_records,
            "kingdoms": _sorted(by_source[url]),
            "species": species.species,
            "new_species": species.new_species,
            "cumulative_records": before.records + source_records,
            "cumulative_species": before.species + species.new_species,
        }
    return {
        "window": window,
        "batch_id": window - 1,
        "processed_at": processed_at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "trigger_seconds": trigger_seconds,
        "records": records,
        "rejects": rejects,
        "kingdoms": _sorted(kingdoms),
        "species": species_overall.species,
        "new_species": species_overall.new_species,
        "sources": sources,
        "cumulative": {
            "records": previous.records + records,
            "species": previous.species + species_overall.new_species,
            "rejects": previous.rejects + rejects,
            # Every source and kingdom so far: grows with them, never with the number of windows.
            "kingdoms": _sorted(_added(previous.kingdoms, kingdoms)),
            "sources": {
                url: {"records": totals.records, "species": totals.species}
                for url, totals in sorted(_source_totals(previous.sources, sources).items())
            },
        },
    }


def _added(counts: Mapping[str, int], more: Mapping[str, int]) -> dict[str, int]:
    total = dict(counts)
    for name, count in more.items():
        total[name] = total.get(name, 0) + int(count)
    return total


def _source_totals(previous: Mapping[str, SourceTotals], window: Mapping[str, Any]) -> dict[str, SourceTotals]:
    """The previous totals of every source, with a window document's sources' new cumulative figures."""
    totals = dict(previous)
    for url, entry in window.items():
        totals[url] = SourceTotals(int(entry["cumulative_records"]), int(entry["cumulative_species"]))
    return totals


def dumps(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _sorted(counts: Mapping[str, int]) -> dict[str, int]:
    return {name: counts[name] for name in sorted(counts)}
