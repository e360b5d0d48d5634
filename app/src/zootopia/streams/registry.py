"""The set of active sources: a compacted Kafka topic, so it survives any process or node.

Each source runs on one node, assigned round-robin in the order sources were
added: the first on nodes[0], the second on nodes[1], and so on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from zootopia.config import Settings, topic_for
from zootopia.kafka_clients import producer, read_compacted
from zootopia.streams.progress import Progress


class SourceError(ValueError):
    """A source that cannot be added or removed, with the reason."""


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    topic: str
    node: str
    seq: int
    added_at: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")


def source_id(url: str) -> str:
    """A stable short name of a URL, usable as a systemd instance name."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def normalize(url: str) -> str:
    """The URL as given, trimmed; seeds without their trailing slash. Refuses what is not an http(s) URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"a source is an http(s) URL, not {url!r}")
    if parts.path in ("", "/") and not parts.query:
        url = f"{parts.scheme}://{parts.netloc}"
    return url


def sources(settings: Settings) -> list[Source]:
    """Every active source, in the order they were added."""
    values = read_compacted(settings, settings.kafka.sources_topic)
    found = [Source(**json.loads(value)) for value in values.values()]
    return sorted(found, key=lambda source: source.seq)


def with_progress(settings: Settings) -> list[tuple[Source, Progress]]:
    """Every active source with its stream's last committed progress (a fresh one before its first commit)."""
    saved = read_compacted(settings, settings.kafka.progress_topic)
    progress = {key: Progress.from_json(value) for key, value in saved.items()}
    return [(source, progress.get(source.id) or Progress(source.id)) for source in sources(settings)]


def add(settings: Settings, url: str, topic: str | None = None) -> tuple[Source, bool]:
    """Register a source; idempotent: an active URL is returned as it is, with False."""
    url = normalize(url)
    current = sources(settings)
    for source in current:
        if source.url == url:
            return source, False
    topic = topic or topic_for(url, settings)
    if topic is None:
        raise SourceError(f"no topic rule matches {url}; name one of {', '.join(settings.kafka.data_topics)}")
    if topic not in settings.kafka.data_topics:
        raise SourceError(f"unknown topic {topic!r}; the data topics are {', '.join(settings.kafka.data_topics)}")
    seq = max((source.seq for source in current), default=-1) + 1
    source = Source(
        id=source_id(url),
        url=url,
        topic=topic,
        node=settings.nodes[seq % len(settings.nodes)],
        seq=seq,
        added_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    _write(settings, source.id, source.to_json())
    return source, True


def remove(settings: Settings, url: str) -> Source | None:
    """Unregister a source (None when it was not active); its stream stops, what it sent stays counted."""
    url = normalize(url)
    for source in sources(settings):
        if source.url == url:
            _write(settings, source.id, None)
            return source
    return None


def _write(settings: Settings, key: str, value: bytes | None) -> None:
    client = producer(settings)
    try:
        client.send(settings.kafka.sources_topic, key=key.encode("utf-8"), value=value).get(timeout=60)
    finally:
        client.close()
