"""The consumer's results, kept in memory: requests never wait for HDFS.

A background thread lists the windows directory every few seconds (through the consumer's own store) and reads only the
documents it has not seen; each request reads the current immutable snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from zootopia.consumer.documents import Cumulative

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRow:
    """One source in one window: the row of /window."""

    source: str
    records: int
    kingdoms: Mapping[str, int]
    species: int


@dataclass(frozen=True)
class Window:
    id: int
    records: int
    kingdoms: Mapping[str, int]
    species: int
    sources: Mapping[str, SourceRow]
    # Totals over windows 1..id.
    cumulative_kingdoms: Mapping[str, int]
    cumulative_sources: Mapping[str, int]
    cumulative_species: int

    def counts(self, by: str) -> dict[str, int]:
        """This window's lines of /count?by=..., name -> number."""
        if by == "kingdom":
            return dict(self.kingdoms)
        if by == "source":
            return {url: row.records for url, row in self.sources.items()}
        return {"Species": self.species}

    def cumulative(self, by: str) -> dict[str, int]:
        if by == "kingdom":
            return dict(self.cumulative_kingdoms)
        if by == "source":
            return dict(self.cumulative_sources)
        return {"Species": self.cumulative_species}


@dataclass(frozen=True)
class Snapshot:
    """Windows 1..n in order (contiguous: a later window is kept only once every earlier one is)."""

    windows: tuple[Window, ...] = ()
    totals: Cumulative = field(default_factory=Cumulative)
    # Answers rendered from this snapshot, filled by the API as they are asked for.
    rendered: dict[tuple[str, int | None, bool], bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def last(self) -> int:
        return self.windows[-1].id if self.windows else 0

    def window(self, window_id: int) -> Window | None:
        if 1 <= window_id <= len(self.windows):
            return self.windows[window_id - 1]
        return None

    def totals_of(self, by: str) -> dict[str, int]:
        """Totals over every window; an empty pipeline has no lines, except `Species 0`."""
        if self.windows:
            return self.windows[-1].cumulative(by)
        return {"Species": 0} if by == "totalSpecies" else {}

    def extended(self, documents: Iterable[Mapping[str, Any]]) -> Snapshot:
        """This snapshot with the next windows' documents (taken in window order) added."""
        windows = list(self.windows)
        totals = self.totals
        for document in sorted(documents, key=lambda d: int(d["window"])):
            previous = windows[-1] if windows else None
            totals = totals.after(document)  # refuses a gap
            windows.append(_window(document, totals, previous))
        return Snapshot(tuple(windows), totals)


def _window(document: Mapping[str, Any], totals: Cumulative, previous: Window | None) -> Window:
    kingdoms = {name: int(count) for name, count in document["kingdoms"].items()}
    cumulative_kingdoms = dict(previous.cumulative_kingdoms) if previous else {}
    for name, count in kingdoms.items():
        cumulative_kingdoms[name] = cumulative_kingdoms.get(name, 0) + count
    sources = {
        url: SourceRow(url, int(entry["records"]), dict(entry["kingdoms"]), int(entry["species"]))
        for url, entry in document["sources"].items()
    }
    return Window(
        id=int(document["window"]),
        records=int(document["records"]),
        kingdoms=kingdoms,
        species=int(document["species"]),
        sources=sources,
        cumulative_kingdoms=dict(sorted(cumulative_kingdoms.items())),
        cumulative_sources={url: entry.records for url, entry in sorted(totals.sources.items())},
        cumulative_species=totals.species,
    )


class DocumentSource(Protocol):
    """Where window documents are: the consumer's own store on HDFS (consumer/store.py) in production."""

    def window_ids(self) -> list[int]: ...

    def read_document(self, window: int) -> Mapping[str, Any]: ...


class Results:
    """The latest snapshot, refreshed by `refresh()` (called by a daemon thread every `interval` seconds)."""

    def __init__(self, documents: DocumentSource, interval: float) -> None:
        self.documents = documents
        self.interval = interval
        self.snapshot = Snapshot()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> Snapshot:
        """Reads the windows not held yet; starts over when HDFS holds fewer windows than memory (results reset)."""
        current = self.snapshot
        ids = self.documents.window_ids()
        if len(ids) < current.last or (ids and ids[: current.last] != list(range(1, current.last + 1))):
            current = Snapshot()
        new: list[Mapping[str, Any]] = []
        for number in ids[current.last :]:
            if number != current.last + len(new) + 1:
                break  # a window still being written: wait for it, never skip it
            new.append(self.documents.read_document(number))
        if new or current is not self.snapshot:
            self.snapshot = current.extended(new)
        return self.snapshot

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="results-refresh", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                self.last_error = None
            except Exception as error:  # HDFS down: keep serving the last snapshot, say why in /health
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("reading the window documents failed: %s", self.last_error)
            self._stop.wait(self.interval)
