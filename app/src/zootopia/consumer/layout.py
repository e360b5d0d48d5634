"""Where the consumer keeps its results on HDFS.

LAYOUT = the tree under the configured root (settings.hdfs.root, e.g. /zootopia):

    windows/window-000001.json   one JSON document per window (window id = Spark batch id + 1),
                                 written atomically (temp name, then rename over the old one), after
                                 the window's rejects and before its species pairs (job.py)
    windows-packed/windows-000001-000720.jsonl
                                 the documents of windows 1..720, one per line, written once a window
                                 after them is written; their single files are then deleted. Every
                                 window is in exactly one of the two places (store.py)
    species/window=1/            parquet (source, scientificName): the pairs first seen in window 1
    species-compacted/upto=40/   parquet: every pair first seen in windows 1..40, written once the
                                 partitions since the previous compacted set are many enough; the
                                 partitions it holds are then deleted. The newest set plus the
                                 partitions after it is every species seen so far (see species.py)
    rejects/window=1/            text, one raw Kafka value per line: the values that were not a JSON object
                                 (only for windows that had rejects)
    checkpoints/consumer/        Spark's checkpoint (offsets and commit logs) of the streaming query
    .warm-up/                    parquet: the consumer's warm-up pairs, written and deleted at its start
                                 (warmup.py); never read as results

Every path of a window is overwritten by its id, so a batch Spark replays after a crash (same batch id,
same offsets) rewrites the same results instead of adding to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WINDOW_FILE = re.compile(r"^window-([0-9]{6,})\.json$")
_SPECIES_PARTITION = re.compile(r"^window=([1-9][0-9]*)$")
_SPECIES_COMPACTED = re.compile(r"^upto=([1-9][0-9]*)$")
_WINDOW_PACK = re.compile(r"^windows-([0-9]{6,})-([0-9]{6,})\.jsonl$")


@dataclass(frozen=True)
class Layout:
    root: str

    @property
    def windows(self) -> str:
        return self._join("windows")

    @property
    def species(self) -> str:
        return self._join("species")

    @property
    def rejects(self) -> str:
        return self._join("rejects")

    @property
    def checkpoint(self) -> str:
        return self._join("checkpoints/consumer")

    def window_document(self, window: int) -> str:
        return f"{self.windows}/{window_file_name(window)}"

    def window_document_temp(self, window: int) -> str:
        # Hidden name: a reader listing windows/ never takes a half-written file for a window.
        return f"{self.windows}/.{window_file_name(window)}.tmp"

    @property
    def windows_packed(self) -> str:
        return self._join("windows-packed")

    def window_pack(self, first: int, last: int) -> str:
        return f"{self.windows_packed}/{window_pack_name(first, last)}"

    def window_pack_temp(self, first: int, last: int) -> str:
        return f"{self.windows_packed}/.{window_pack_name(first, last)}.tmp"

    @property
    def species_compacted(self) -> str:
        return self._join("species-compacted")

    def species_partition(self, window: int) -> str:
        return f"{self.species}/window={window}"

    def species_compacted_set(self, upto: int) -> str:
        return f"{self.species_compacted}/upto={upto}"

    def species_compacted_temp(self, upto: int) -> str:
        # Renamed to species_compacted_set(upto) once whole: a set is there complete or not at all.
        return f"{self.species_compacted}/.upto={upto}.tmp"

    @property
    def warm_up(self) -> str:
        return self._join(".warm-up")

    def rejects_partition(self, window: int) -> str:
        return f"{self.rejects}/window={window}"

    def _join(self, relative: str) -> str:
        return self.root.rstrip("/") + "/" + relative


def window_id(batch_id: int) -> int:
    """Windows count from 1; Spark's batch ids from 0 and stay the same when a batch is replayed."""
    if batch_id < 0:
        raise ValueError(f"batch id must not be negative: {batch_id}")
    return batch_id + 1


def window_file_name(window: int) -> str:
    if window < 1:
        raise ValueError(f"window ids start at 1: {window}")
    return f"window-{window:06d}.json"


def window_of_file(name: str) -> int | None:
    """The window id a file name of windows/ stands for, None for anything else (temp files included)."""
    match = _WINDOW_FILE.match(name)
    return int(match.group(1)) if match else None


def window_of_partition(name: str) -> int | None:
    """The window of a species/ directory name (window=N), None for anything else."""
    match = _SPECIES_PARTITION.match(name)
    return int(match.group(1)) if match else None


def upto_of_compacted(name: str) -> int | None:
    """The last window a species-compacted/ directory name (upto=N) holds, None for anything else (temp)."""
    match = _SPECIES_COMPACTED.match(name)
    return int(match.group(1)) if match else None


def window_pack_name(first: int, last: int) -> str:
    if not 1 <= first <= last:
        raise ValueError(f"a pack holds windows first..last with 1 <= first <= last, not {first}..{last}")
    return f"windows-{first:06d}-{last:06d}.jsonl"


def windows_of_pack(name: str) -> range | None:
    """The windows a windows-packed/ file name holds, None for anything else (temp files included)."""
    match = _WINDOW_PACK.match(name)
    return range(int(match.group(1)), int(match.group(2)) + 1) if match else None
