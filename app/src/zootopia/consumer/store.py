"""The driver's side of HDFS (WebHDFS through HdfsCLI): window documents, read and written whole.

A window's document is a file of its own until the window is old enough to be packed with its
neighbours (`pack_older`): then it is a line of one windows-packed/ file, so the files under the
results root grow with the windows divided by the pack size. Readers ask for a window by its id
and never need to know which of the two places holds it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

from hdfs import HdfsError, InsecureClient

from zootopia.config import HdfsSettings
from zootopia.consumer import documents
from zootopia.consumer.layout import Layout, window_of_file, windows_of_pack
from zootopia.lru import Lru

log = logging.getLogger(__name__)
# The last pack read, kept as its raw text: a reader going through older windows in order downloads
# each pack once and parses only the lines it asks for (720 parsed documents took several MiB, the bulk
# of an API worker's memory, and the allocator kept them after they were dropped).
PACKS_CACHED = 1


class WindowStore:
    """`timeout` (seconds) bounds each WebHDFS call; None waits as long as the NameNode takes (the job's choice)."""

    def __init__(self, settings: HdfsSettings, timeout: float | None = None) -> None:
        self.layout = Layout(settings.root)
        self.client = InsecureClient(settings.url, user=settings.user, timeout=timeout)
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._packs: list[range] | None = None
        self._packs_read: Lru[tuple[str, int], _Pack] = Lru(PACKS_CACHED)

    def exists(self, path: str) -> bool:
        return self.client.status(path, strict=False) is not None

    def window_ids(self) -> list[int]:
        """The ids of the windows written so far (single or packed), in order."""
        packed = [window for held in self._pack_ranges(fresh=True) for window in held]
        return sorted({*self.numbered(self.layout.windows, window_of_file), *packed})

    def numbered(self, directory: str, number_of: Callable[[str], int | None]) -> list[int]:
        """The numbers `number_of` reads from the names in `directory` (others skipped), in order; [] if none."""
        if not self.exists(directory):
            return []
        numbers = (number_of(name) for name in self.client.list(directory))
        return sorted(number for number in numbers if number is not None)

    def has_document(self, window: int) -> bool:
        return self.exists(self.layout.window_document(window)) or self._pack_of(window) is not None

    def document(self, window: int) -> dict[str, Any] | None:
        """The document of `window`, or None if it has not been written."""
        if not self.has_document(window):
            return None
        return self.read_document(window)

    def documents_before(self, window: int) -> list[dict[str, Any]]:
        """Every window document of a window earlier than `window`, in window order."""
        return [self.read_document(number) for number in self.window_ids() if number < window]

    def read_document(self, window: int) -> dict[str, Any]:
        # Read first, no status call before: a window not (or no longer) a file of its own is in its pack.
        try:
            with self.client.read(self.layout.window_document(window)) as reader:
                document: dict[str, Any] = json.loads(reader.read().decode("utf-8"))
            return document
        except HdfsError as error:
            held = self._pack_of(window)
            if held is None:
                raise LookupError(f"no document of window {window} under {self.layout.root}: {error}") from error
        return self._pack_document(held, window)

    def write_document(self, document: dict[str, Any]) -> str:
        """Writes the document under a temp name and renames it over any older one in one NameNode call."""
        window = int(document["window"])
        temp = self.layout.window_document_temp(window)
        final = self.layout.window_document(window)
        self.client.makedirs(self.layout.windows)
        self.client.write(temp, data=documents.dumps(document), overwrite=True)
        self._replace(temp, final)
        return final

    def wait_writable(self, timeout: float, pause: float = 2.0) -> float:
        """Waits until the NameNode takes writes under the root; the seconds waited (0 if it took the first).
        A NameNode refuses every write in safe mode, for about 30 s after it starts (the block reports, then
        dfs.namenode.safemode.extension), and a consumer restarted with HDFS met it in its warm-up. Any other
        refusal, or safe mode past `timeout` seconds, is raised."""
        started = time.monotonic()
        refused = False
        while True:
            try:
                self.client.makedirs(self.layout.root)  # refused in safe mode even when it exists
                return time.monotonic() - started if refused else 0.0
            except HdfsError as error:
                if "safe mode" not in str(error).lower() or time.monotonic() - started + pause > timeout:
                    raise
                log.info("HDFS is in safe mode, writes wait: %s", error)
                refused = True
            time.sleep(pause)

    def pack_older(self, window: int, every: int) -> list[str]:
        """Once `window` is written right after a run of `every` windows, packs the runs of single files before it.

        A run is written to its pack (temp name, then rename) before its single files are deleted, so a
        crash at any point leaves each window readable; the replayed window finishes the job. Runs are
        aligned on `every` (1..every, every+1..2 x every, ...); single files left from a different
        `every` that do not fill a run stay as they are and are still read.
        """
        if window < 2 or (window - 1) % every:
            return []
        singles = set(self.numbered(self.layout.windows, window_of_file))
        packed: list[str] = []
        for first in sorted({(number - 1) // every * every + 1 for number in singles if number < window}):
            held = range(first, first + every)
            path = self.layout.window_pack(held[0], held[-1])
            if not self.exists(path):
                if not all(number in singles for number in held):
                    log.warning("windows %d-%d are not all single files: not packed", held[0], held[-1])
                    continue
                lines = [json.dumps(self.read_document(number), ensure_ascii=False) + "\n" for number in held]
                temp = self.layout.window_pack_temp(held[0], held[-1])
                self.client.makedirs(self.layout.windows_packed)
                self.client.write(temp, data="".join(lines).encode("utf-8"), overwrite=True)
                self._replace(temp, path)
                with self._lock:
                    self._packs = None
                packed.append(path)
            for number in held:
                if number in singles:
                    self.client.delete(self.layout.window_document(number))
        return packed

    def _replace(self, temp: str, final: str) -> None:
        # HdfsCLI's rename() refuses an existing target; WebHDFS RENAME with renameoptions=OVERWRITE
        # replaces it atomically, so readers see the old file or the new one, never neither.
        self.client._rename(temp, destination=final, renameoptions="OVERWRITE")

    def _pack_of(self, window: int) -> range | None:
        """The pack holding `window`: from the cached listing, listed again when it has no answer."""
        for fresh in (False, True):
            for held in self._pack_ranges(fresh):
                if window in held:
                    return held
        return None

    def _pack_ranges(self, fresh: bool) -> list[range]:
        with self._lock:
            if self._packs is not None and not fresh:
                return self._packs
        names = self.client.list(self.layout.windows_packed) if self.exists(self.layout.windows_packed) else []
        ranges = [held for held in map(windows_of_pack, names) if held is not None]
        with self._lock:
            self._packs = ranges
        return ranges

    def _pack_document(self, held: range, window: int) -> dict[str, Any]:
        path = self.layout.window_pack(held[0], held[-1])
        # By path and modification time: a pack written again after a results reset is read again.
        key = (path, self.client.status(path)["modificationTime"])
        # One pack read at a time: threads reading ahead would otherwise each download the same pack.
        with self._reading:
            pack = self._packs_read.get(key)
            if pack is None:
                with self.client.read(path) as reader:
                    pack = _Pack(reader.read())
                self._packs_read.put(key, pack)
        # Only the line asked for is parsed: pack_older writes a pack's windows in order, a line each.
        index = window - held[0]
        line = pack.line(index)
        document: dict[str, Any] = json.loads(line) if line else {}
        if document.get("window") != window:
            raise LookupError(f"{path} does not hold window {window} on its line {index + 1}")
        return document


class _Pack:
    """A pack's text as one bytes object and where each line starts: no object per line (720 small
    allocations a pack left the API worker's heap fragmented)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        # Where each line starts, then where a line after the last would start (one past its newline).
        self.starts = array("q", [0])
        end = raw.find(b"\n")
        while end != -1:
            self.starts.append(end + 1)
            end = raw.find(b"\n", end + 1)
        if self.starts[-1] < len(raw):  # a last line without its newline
            self.starts.append(len(raw) + 1)

    def line(self, index: int) -> bytes:
        """Line `index` (from 0) without its newline; b"" past the last line."""
        if not 0 <= index < len(self.starts) - 1:
            return b""
        return self.raw[self.starts[index] : self.starts[index + 1] - 1]
