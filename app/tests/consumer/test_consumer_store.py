"""Window documents packed by the consumer: every window readable at every step, also across crashes.

The store talks to HdfsCLI's client; here that client keeps files in a dict (the same calls, the same
not-found and overwrite rules). The packs on a real HDFS are checked by the molecule scenario.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from api_memory import history
from hdfs import HdfsError

from zootopia.api.results import Results, Window
from zootopia.config import ConsumerSettings, HdfsSettings
from zootopia.consumer.store import WindowStore

ROOT = "/zootopia"
HISTORY = history(23)


class FilesClient:
    """HdfsCLI's calls the store makes, over a dict of path -> bytes (directories are implied)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.mtime = 0
        self.fail_on: str | None = None  # a call name that raises once, as a crash there would
        self.reads: list[str] = []  # the paths read, in order

    def _crash(self, call: str) -> None:
        if self.fail_on == call:
            self.fail_on = None
            raise RuntimeError(f"crash in {call}")

    def status(self, path: str, strict: bool = True) -> dict[str, Any] | None:
        if path in self.files:
            return {"type": "FILE", "modificationTime": hash((path, self.files[path]))}
        if any(name.startswith(path + "/") for name in self.files):
            return {"type": "DIRECTORY", "modificationTime": 0}
        if strict:
            raise HdfsError(f"File does not exist: {path}")
        return None

    def list(self, path: str) -> list[str]:
        return sorted({name[len(path) + 1 :].split("/")[0] for name in self.files if name.startswith(path + "/")})

    @contextmanager
    def read(self, path: str) -> Iterator[io.BytesIO]:
        self.reads.append(path)
        if path not in self.files:
            raise HdfsError(f"File does not exist: {path}")
        yield io.BytesIO(self.files[path])

    def write(self, path: str, data: bytes, overwrite: bool = False) -> None:
        assert overwrite or path not in self.files
        self._crash("write")
        self.files[path] = data

    def _rename(self, path: str, destination: str, renameoptions: str) -> None:
        assert renameoptions == "OVERWRITE"
        self._crash("rename")
        self.files[destination] = self.files.pop(path)

    def delete(self, path: str, recursive: bool = False) -> bool:
        self._crash("delete")
        return self.files.pop(path, None) is not None

    def makedirs(self, path: str) -> None:
        pass


def _store() -> tuple[WindowStore, FilesClient]:
    store = WindowStore(HdfsSettings(root=ROOT))
    client = FilesClient()
    store.client = client
    return store, client


def _singles(client: FilesClient) -> list[str]:
    return [name for name in client.files if name.startswith(f"{ROOT}/windows/")]


def _packs(client: FilesClient) -> list[str]:
    return [name.rsplit("/", 1)[1] for name in client.files if name.startswith(f"{ROOT}/windows-packed/")]


@pytest.mark.parametrize("every", [1, 4, 5, 30])
def test_every_window_stays_readable_and_old_ones_are_packed(every: int) -> None:
    store, client = _store()
    for document in HISTORY:
        window = int(document["window"])
        store.write_document(document)
        store.pack_older(window, every)
        # The window just written and the ones since the last full run are single files, at most every + 1.
        assert len(_singles(client)) == (window - 1) % every + 1 <= every + 1
        assert len(_packs(client)) == (window - 1) // every
        assert store.window_ids() == list(range(1, window + 1))
    fresh, _ = _store()
    fresh.client = client  # a reader that never saw the packs made
    assert [fresh.read_document(w) for w in range(1, 24)] == HISTORY
    assert fresh.document(24) is None
    assert not any(name.endswith(".tmp") for name in client.files)


@pytest.mark.parametrize("crash", ["write", "rename", "delete"])
def test_a_crash_while_packing_loses_nothing_and_the_replay_finishes(crash: str) -> None:
    store, client = _store()
    for document in HISTORY[:8]:
        store.write_document(document)
        store.pack_older(int(document["window"]), 4)
    store.write_document(HISTORY[8])
    client.fail_on = crash
    with pytest.raises(RuntimeError, match=f"crash in {crash}"):
        store.pack_older(9, 4)
    assert [store.read_document(w) for w in range(1, 10)] == HISTORY[:9]
    # Spark replays the batch: the same window written again, then packed again.
    store.write_document(HISTORY[8])
    assert store.pack_older(9, 4) == (
        [] if crash == "delete" else [f"{ROOT}/windows-packed/windows-000005-000008.jsonl"]
    )
    assert _packs(client) == ["windows-000001-000004.jsonl", "windows-000005-000008.jsonl"]
    assert _singles(client) == [f"{ROOT}/windows/window-000009.json"]
    assert [store.read_document(w) for w in range(1, 10)] == HISTORY[:9]


def test_single_files_of_another_pack_size_stay_readable() -> None:
    store, client = _store()
    for document in HISTORY[:7]:
        store.write_document(document)
        store.pack_older(int(document["window"]), 3)  # packs 1-3 and 4-6
    store.write_document(HISTORY[7])
    store.pack_older(8, 100)  # not at a run's end for 100: nothing happens
    store.write_document(HISTORY[8])
    store.pack_older(9, 4)  # 5-8 would overlap 4-6: left as single files
    assert _packs(client) == ["windows-000001-000003.jsonl", "windows-000004-000006.jsonl"]
    assert [store.read_document(w) for w in range(1, 10)] == HISTORY[:9]


def test_the_api_serves_packed_windows_as_any_other() -> None:
    store, _ = _store()
    for document in HISTORY:
        store.write_document(document)
        store.pack_older(int(document["window"]), 4)
    results = Results(store, interval=60, recent=3)
    snapshot = results.refresh()
    assert snapshot.last == 23
    assert [w.id for w in snapshot.recent] == [21, 22, 23]
    assert [window.id for window in results.read_range(1, 23)] == list(range(1, 24))
    assert results.window(6) == Window.of(HISTORY[5])


def test_a_pack_is_downloaded_once_and_a_line_out_of_place_is_named() -> None:
    store, client = _store()
    for document in HISTORY[:9]:
        store.write_document(document)
        store.pack_older(int(document["window"]), 4)
    client.reads.clear()
    assert [store.read_document(w) for w in (4, 1, 3, 2)] == [HISTORY[3], HISTORY[0], HISTORY[2], HISTORY[1]]
    pack = f"{ROOT}/windows-packed/windows-000001-000004.jsonl"
    assert client.reads.count(pack) == 1
    # A pack whose lines are not its windows in order (written by hand, say) is an error naming the pack.
    lines = client.files[pack].splitlines(keepends=True)
    client.files[pack] = b"".join([lines[1], lines[0], *lines[2:]])
    with pytest.raises(LookupError, match=f"{pack} does not hold window 1 on its line 1"):
        store.read_document(1)


@pytest.mark.parametrize("every", [0, -1, 1.5, False])
def test_the_pack_size_is_checked(every: object) -> None:
    with pytest.raises(ValueError, match=r"consumer\.documents_per_pack must be an integer of at least 1"):
        ConsumerSettings(documents_per_pack=every)  # type: ignore[arg-type]


class SafeModeClient(FilesClient):
    """A NameNode that refuses `refusals` writes as in safe mode, then takes them."""

    def __init__(
        self, refusals: int, message: str = "Cannot create directory /zootopia. Name node is in safe mode."
    ) -> None:
        super().__init__()
        self.refusals = refusals
        self.message = message
        self.calls = 0

    def makedirs(self, path: str) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise HdfsError(self.message)


def test_a_consumer_start_waits_out_the_namenodes_safe_mode() -> None:
    store, _ = _store()
    store.client = client = SafeModeClient(refusals=2)
    assert store.wait_writable(timeout=5, pause=0.01) > 0
    assert client.calls == 3
    store.client = client = SafeModeClient(refusals=0)
    assert store.wait_writable(timeout=5, pause=0.01) == 0.0
    assert client.calls == 1


def test_safe_mode_past_the_bound_and_any_other_refusal_are_raised() -> None:
    store, _ = _store()
    store.client = SafeModeClient(refusals=10**6)
    with pytest.raises(HdfsError, match="safe mode"):
        store.wait_writable(timeout=0.05, pause=0.01)
    store.client = client = SafeModeClient(refusals=1, message="Permission denied: user=zootopia")
    with pytest.raises(HdfsError, match="Permission denied"):
        store.wait_writable(timeout=5, pause=0.01)
    assert client.calls == 1
