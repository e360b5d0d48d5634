"""Consumer figures from the window documents on HDFS: processing rate and window latency.

A window's latency is how long after its values reached Kafka their counts
were on HDFS: from the newest value (the least any value waited) and from the
oldest (the most). Run on a cluster node with the app's virtualenv, after the
pipeline has processed something (e.g. the three seeds over the mirror).
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from typing import Any

from zootopia import config
from zootopia.consumer.store import WindowStore

LISTED_WINDOWS = 30


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def documents(settings: config.Settings) -> list[dict[str, Any]]:
    """Every window document, single or packed, through the consumer's own store."""
    store = WindowStore(settings.hdfs)
    return [store.read_document(window) for window in store.window_ids()]


def main() -> int:
    settings = config.load()
    busy = [doc for doc in documents(settings) if doc.get("timing", {}).get("first_value_at")]
    if not busy:
        print(json.dumps({"error": "no window with values and timings yet"}))
        return 1
    values = [doc["records"] + doc["rejects"] for doc in busy]
    seconds = [doc["timing"]["processing_seconds"] for doc in busy]
    newest = [(_time(doc["processed_at"]) - _time(doc["timing"]["last_value_at"])).total_seconds() for doc in busy]
    oldest = [(_time(doc["processed_at"]) - _time(doc["timing"]["first_value_at"])).total_seconds() for doc in busy]
    figures = {
        "windows_with_values": len(busy),
        "trigger_seconds": busy[-1]["trigger_seconds"],
        "values": sum(values),
        "processing_seconds": round(sum(seconds), 1),
        "values_per_s_while_processing": round(sum(values) / sum(seconds)),
        "largest_window": {"values": max(values), "seconds": seconds[values.index(max(values))]},
        "latency_s_newest_value": {"median": round(statistics.median(newest), 1), "max": round(max(newest), 1)},
        "latency_s_oldest_value": {"median": round(statistics.median(oldest), 1), "max": round(max(oldest), 1)},
        # By window, the last ones: the first after a start carry Spark's warm-up (and the streams' first burst).
        "latency_s_newest_value_by_window": {
            doc["window"]: round(late, 1) for doc, late in list(zip(busy, newest))[-LISTED_WINDOWS:]
        },
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
