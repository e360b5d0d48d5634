"""The driver's side of HDFS (WebHDFS through HdfsCLI): window documents, read and written whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hdfs import InsecureClient

from zootopia.config import HdfsSettings
from zootopia.consumer import documents
from zootopia.consumer.layout import Layout, window_of_file


class WindowStore:
    """`timeout` (seconds) bounds each WebHDFS call; None waits as long as the NameNode takes (the job's choice)."""

    def __init__(self, settings: HdfsSettings, timeout: float | None = None) -> None:
        self.layout = Layout(settings.root)
        self.client = InsecureClient(settings.url, user=settings.user, timeout=timeout)

    def exists(self, path: str) -> bool:
        return self.client.status(path, strict=False) is not None

    def window_ids(self) -> list[int]:
        """The ids of the window documents written so far, in order."""
        return self.numbered(self.layout.windows, window_of_file)

    def numbered(self, directory: str, number_of: Callable[[str], int | None]) -> list[int]:
        """The numbers `number_of` reads from the names in `directory` (others skipped), in order; [] if none."""
        if not self.exists(directory):
            return []
        numbers = (number_of(name) for name in self.client.list(directory))
        return sorted(number for number in numbers if number is not None)

    def has_document(self, window: int) -> bool:
        return self.exists(self.layout.window_document(window))

    def document(self, window: int) -> dict[str, Any] | None:
        """The document of `window`, or None if it has not been written."""
        if not self.has_document(window):
            return None
        return self.read_document(window)

    def documents_before(self, window: int) -> list[dict[str, Any]]:
        """Every window document of a window earlier than `window`, in window order."""
        return [self.read_document(number) for number in self.window_ids() if number < window]

    def read_document(self, window: int) -> dict[str, Any]:
        with self.client.read(self.layout.window_document(window)) as reader:
            document: dict[str, Any] = json.loads(reader.read().decode("utf-8"))
        return document

    def write_document(self, document: dict[str, Any]) -> str:
        """Writes the document under a temp name and renames it over any older one in one NameNode call."""
        window = int(document["window"])
        temp = self.layout.window_document_temp(window)
        final = self.layout.window_document(window)
        self.client.makedirs(self.layout.windows)
        self.client.write(temp, data=documents.dumps(document), overwrite=True)
        # HdfsCLI's rename() refuses an existing target; WebHDFS RENAME with renameoptions=OVERWRITE
        # replaces it atomically, so readers see the old document or the new one, never neither.
        self.client._rename(temp, destination=final, renameoptions="OVERWRITE")
        return final
