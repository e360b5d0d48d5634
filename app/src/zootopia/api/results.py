"""The consumer's results as the API holds them: memory bounded whatever the number of windows.

A worker keeps the last `api.recent_windows` windows, one window per hour of history (its running totals
give the hour's figures, see api/history.py) and a small cache of older windows read on demand.
Each window's document carries the running totals up to it, so any window is served from its
own document. A background thread looks for the next document every few seconds (two WebHDFS
calls when nothing is new); each request reads the current immutable snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from zootopia.lru import Lru

log = logging.getLogger(__name__)

# Older windows asked for by /window?id=N or in a short range (/count?windows=N past the recent ones), kept in
# case they are asked for again: a dashboard asks the same range every few seconds.
OLDER_CACHED = 64
# Documents read at once when an answer runs through older windows (/count?windows=all).
READ_AHEAD = 32


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
    processed_at: str
    trigger_seconds: int
    records: int
    kingdoms: Mapping[str, int]
    species: int
    sources: Mapping[str, SourceRow]
    # Totals over windows 1..id.
    cumulative_records: int
    cumulative_kingdoms: Mapping[str, int]
    cumulative_sources: Mapping[str, int]
    cumulative_species: int

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Window:
        """The window of one document, running totals included."""
        number = int(document["window"])
        totals = document["cumulative"]
        if "kingdoms" not in totals or "sources" not in totals:
            raise ValueError(
                f"window {number}'s document has no running totals per kingdom and source: an older consumer "
                "wrote it; to serve these results, start them over (remove the results root on HDFS)"
            )
        return cls(
            id=number,
            processed_at=str(document["processed_at"]),
            trigger_seconds=int(document["trigger_seconds"]),
            records=int(document["records"]),
            kingdoms={name: int(count) for name, count in document["kingdoms"].items()},
            species=int(document["species"]),
            sources={
                url: SourceRow(url, int(entry["records"]), dict(entry["kingdoms"]), int(entry["species"]))
                for url, entry in document["sources"].items()
            },
            cumulative_records=int(totals["records"]),
            cumulative_kingdoms={name: int(count) for name, count in sorted(totals["kingdoms"].items())},
            cumulative_sources={url: int(entry["records"]) for url, entry in sorted(totals["sources"].items())},
            cumulative_species=int(totals["species"]),
        )

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


def windows_per_hour(trigger_seconds: int) -> int:
    return max(1, 3600 // max(1, trigger_seconds))


@dataclass(frozen=True)
class Snapshot:
    """What a worker holds: the recent windows (ending at the last one) and one window per hour before."""

    recent: tuple[Window, ...] = ()
    # Windows hour, 2 x hour, ... (hour = windows per hour at the trigger of the first document read).
    hourly: tuple[Window, ...] = ()
    hour: int = 1
    # How many recent windows it keeps.
    keep: int = 360
    # Answers rendered from this snapshot, filled by the API as they are asked for.
    rendered: dict[tuple[str, int | None, bool], bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def last(self) -> int:
        return self.recent[-1].id if self.recent else 0

    @property
    def first_recent(self) -> int:
        return self.recent[0].id if self.recent else 1

    def window(self, window_id: int) -> Window | None:
        """A recent window, None for any other."""
        index = window_id - self.first_recent
        return self.recent[index] if 0 <= index < len(self.recent) else None

    def totals_of(self, by: str) -> dict[str, int]:
        """Totals over every window; an empty pipeline has no lines, except `Species 0`."""
        if self.recent:
            return self.recent[-1].cumulative(by)
        return {"Species": 0} if by == "totalSpecies" else {}

    def extended(self, windows: list[Window]) -> Snapshot:
        """This snapshot with the next windows (in order, the first one right after `last`) added."""
        if not windows:
            return self
        if windows[0].id != self.last + 1:
            raise ValueError(f"window {windows[0].id} does not follow window {self.last}")
        hour = self.hour if self.recent else windows_per_hour(windows[0].trigger_seconds)
        return Snapshot(
            recent=(*self.recent, *windows)[-self.keep :],
            hourly=(*self.hourly, *(w for w in windows if w.id % hour == 0)),
            hour=hour,
            keep=self.keep,
        )


class DocumentSource(Protocol):
    """Where window documents are: the consumer's own store on HDFS (consumer/store.py) in production."""

    def has_document(self, window: int) -> bool: ...

    def read_document(self, window: int) -> Mapping[str, Any]: ...


def last_window(has_document: Callable[[int], bool]) -> int:
    """The last window written, in about 2 log2(n) lookups: documents are always windows 1..n."""
    if not has_document(1):
        return 0
    low, high = 1, 2
    while has_document(high):
        low, high = high, high * 2
    while high - low > 1:  # has_document(low) and not has_document(high)
        middle = (low + high) // 2
        low, high = (middle, high) if has_document(middle) else (low, middle)
    return low


class Results:
    """The latest snapshot, refreshed by `refresh()` (called by a daemon thread every `interval` seconds)."""

    def __init__(self, documents: DocumentSource, interval: float, recent: int = 360) -> None:
        self.documents = documents
        self.interval = interval
        self.recent = recent
        self.snapshot = Snapshot(keep=recent)
        self.last_error: str | None = None
        self._older: Lru[int, Window] = Lru(OLDER_CACHED)
        self._reader = ThreadPoolExecutor(max_workers=READ_AHEAD // 4, thread_name_prefix="results-read")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> Snapshot:
        """Takes the windows written since; starts over when the last one held is gone (results reset)."""
        current = self.snapshot
        if current.last and not self.documents.has_document(current.last):
            current = Snapshot(keep=self.recent)
            self._older.clear()
        if not current.last:
            current = self._loaded()
        new: list[Window] = []
        # A window still being written is not there yet: the next refresh takes it, never a later one.
        while self.documents.has_document(current.last + len(new) + 1):
            new.append(self._read(current.last + len(new) + 1))
        if new or current is not self.snapshot:
            self.snapshot = current.extended(new)
        return self.snapshot

    def _loaded(self) -> Snapshot:
        """A snapshot of what is written now, read as the recent windows plus one window per hour before."""
        last = last_window(self.documents.has_document)
        if not last:
            return Snapshot(keep=self.recent)
        first_recent = max(1, last - self.recent + 1)
        # Read, never taken from the snapshot this one replaces (after a reset its windows are gone) nor kept
        # in the cache of older windows (these are the recent ones).
        recent = list(self._read_all(range(first_recent, last + 1)))
        hour = windows_per_hour(recent[0].trigger_seconds)
        hourly = list(self._read_all(range(hour, first_recent, hour)))
        return Snapshot(tuple(recent), (*hourly, *(w for w in recent if w.id % hour == 0)), hour, self.recent)

    def window(self, window_id: int) -> Window | None:
        """Any window written so far: recent ones from memory, older ones read (and a few kept)."""
        if not 1 <= window_id <= self.snapshot.last:
            return None
        return next(self.read_range(window_id, window_id))

    def read_range(self, first: int, last: int) -> Iterator[Window]:
        """Windows first..last in order, read ahead a few at a time: memory bounded whatever the range. The older
        windows of a range that fits in the cache are kept there (a longer one would only push them out)."""
        snapshot = self.snapshot
        cache = self._older if last - first < OLDER_CACHED else None
        for start in range(first, last + 1, READ_AHEAD):
            block = range(start, min(last, start + READ_AHEAD - 1) + 1)
            held = [snapshot.window(number) or (cache.get(number) if cache else None) for number in block]
            missing = [number for number, window in zip(block, held) if window is None]
            read = dict(zip(missing, self._read_all(missing)))
            if cache is not None:
                for number, window in read.items():
                    cache.put(number, window)
            yield from (window or read[number] for number, window in zip(block, held))

    def _read_all(self, numbers: Sequence[int]) -> Iterator[Window]:
        for start in range(0, len(numbers), READ_AHEAD):
            yield from self._reader.map(self._read, numbers[start : start + READ_AHEAD])

    def _read(self, window: int) -> Window:
        return Window.of(self.documents.read_document(window))

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
