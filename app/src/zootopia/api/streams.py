"""Starting and stopping streams from the API: the registry (a compacted Kafka topic) behind an allow-list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol, TypeVar

from zootopia.config import Settings
from zootopia.streams import registry
from zootopia.streams.registry import Source

T = TypeVar("T")


class Streams(Protocol):
    def sources(self) -> list[Source]: ...

    def add(self, url: str) -> tuple[Source, bool]: ...

    def remove(self, url: str) -> Source | None: ...


class RegistryUnavailableError(RuntimeError):
    """Kafka did not answer: the request changed nothing and can be repeated."""


class RegistryStreams:
    """The registry of the cluster: the streams agents start and stop the units it lists."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def sources(self) -> list[Source]:
        return self._call(registry.sources, self.settings)

    def add(self, url: str) -> tuple[Source, bool]:
        return self._call(registry.add, self.settings, url)

    def remove(self, url: str) -> Source | None:
        return self._call(registry.remove, self.settings, url)

    @staticmethod
    def _call(function: Callable[..., T], *args: object) -> T:
        try:
            return function(*args)
        except registry.SourceError:
            raise
        except Exception as error:  # kafka-python raises its own errors, TimeoutError and AssertionError
            message = f"the stream registry (Kafka) did not answer: {type(error).__name__}"
            raise RegistryUnavailableError(message) from error


class AllowList:
    """The URLs /addSource may start a stream for, compared in the registry's normal form."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = frozenset(registry.normalize(url) for url in urls)

    def allowed(self, url: str) -> str | None:
        """The normal form of `url` when it is allowed, else None (nothing is fetched either way)."""
        try:
            normal = registry.normalize(url)
        except registry.SourceError:
            return None
        return normal if normal in self.urls else None


def describe(source: Source) -> dict[str, Any]:
    fields = asdict(source)
    return {key: fields[key] for key in ("url", "node", "topic", "added_at")}
