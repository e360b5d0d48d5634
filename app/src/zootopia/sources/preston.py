"""The Preston engine: the original command chain, when Preston is installed.

    preston track --seed URL | clean-cache | preston json-stream

`clean-cache` is done here between the two processes: each time `track`
reports new content, the Preston data folder is pruned to its newest
archives, so disk use stays bounded. json-stream's lines become Records (or
Malformed) exactly as the built-in engine's do.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from zootopia.config import Settings
from zootopia.records import StreamItem, parse_stream_line

log = logging.getLogger(__name__)


class PrestonError(RuntimeError):
    """Preston exited with an error: the stream is retried from its last progress."""


def prune(data_dir: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest files of Preston's content store; returns what was deleted."""
    files = sorted((path for path in data_dir.rglob("*") if path.is_file()), key=lambda path: path.stat().st_mtime)
    doomed = files[:-keep] if keep > 0 else files
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def preston_stream(source_url: str, settings: Settings, work_dir: Path) -> Iterator[StreamItem]:
    """Rows of every archive Preston finds from `source_url`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [settings.preston.java, "-jar", settings.preston.jar]
    with (work_dir / "preston.log").open("wb") as errors:
        track = subprocess.Popen(
            [*command, "track", "--seed", source_url], cwd=work_dir, stdout=subprocess.PIPE, stderr=errors
        )
        stream = subprocess.Popen(
            [*command, "json-stream"], cwd=work_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
        assert track.stdout is not None
        assert stream.stdin is not None
        assert stream.stdout is not None
        pipe = threading.Thread(
            target=_clean_cache, args=(track.stdout, stream.stdin, work_dir / "data", settings.preston.keep_archives)
        )
        pipe.start()
        try:
            for line in stream.stdout:
                if line.strip():
                    yield parse_stream_line(line)
        finally:
            pipe.join()
            failures = {name: process.wait() for name, process in (("track", track), ("json-stream", stream))}
    failed = {name: code for name, code in failures.items() if code != 0}
    if failed:
        raise PrestonError(f"preston exited with {failed}; see {work_dir / 'preston.log'}")


def _clean_cache(provenance: IO[bytes], json_stream: IO[bytes], data_dir: Path, keep: int) -> None:
    """Pass track's provenance on to json-stream, pruning the store whenever new content arrived."""
    try:
        for line in provenance:
            json_stream.write(line)
            if b"hasVersion" in line and data_dir.is_dir():
                json_stream.flush()
                prune(data_dir, keep)
    except BrokenPipeError:
        log.warning("json-stream stopped reading the provenance")
    finally:
        with contextlib.suppress(BrokenPipeError):
            json_stream.close()
