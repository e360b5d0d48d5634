"""iDigBio past the search window: a recordset of more records than the search pages, streamed whole.

The mirror runs in this process on loopback with the real API's window (10,000)
and one more recordset, without an archive link, of `--records` copies of the
recorded records, each under a uuid (and occurrenceID) of its own. The built-in
engine streams the iDigBio seed from it as a stream would (crawl, cache, read).
Printed: records streamed against the recordset's size and the distinct copies
among them, the search requests and the largest offset + limit asked (a request
past the window would be refused with a 400), records/s, and the process's peak
RSS. Run with the controller's virtualenv (`.venv/bin/python`) or a node's.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from werkzeug.serving import make_server

from zootopia.config import Services, Settings
from zootopia.mirror import create_app
from zootopia.mirror.idigbio import SEARCH_WINDOW, scale_recordset_uuid
from zootopia.records import DWC, Malformed, Record
from zootopia.sources.cache import ContentCache
from zootopia.sources.engine import EngineStats, builtin_stream

OCCURRENCE_ID = DWC + "occurrenceID"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="shared/data/biodiversity")
    parser.add_argument("--records", type=int, default=60000, help="size of the recordset without an archive")
    parser.add_argument("--window", type=int, default=SEARCH_WINDOW, help="the search's result window")
    parser.add_argument("--cache-bytes", type=int, default=256 * 1024 * 1024, help="the stream's cache bound")
    args = parser.parse_args()

    searches: list[dict[str, str]] = []
    statuses: Counter[int] = Counter()
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def recording(status: str, headers: list[tuple[str, str]], *rest: object) -> object:
            if "/v2/search/records" in environ["PATH_INFO"]:
                searches.append(dict(parse_qsl(environ.get("QUERY_STRING", ""))))
                statuses[int(status.split()[0])] += 1
            return start_response(status, headers, *rest)

        app: Any = holder["app"]
        result: Iterable[bytes] = app(environ, recording)
        return result

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    base = f"http://127.0.0.1:{server.port}"
    loading = time.monotonic()
    holder["app"] = create_app(args.data_dir, base, idigbio_window=args.window, idigbio_scale_records=args.records)
    loaded = time.monotonic() - loading
    threading.Thread(target=server.serve_forever, daemon=True).start()
    services = Services(idigbio=f"{base}/idigbio", idigbio_search_window=args.window, timeout_seconds=120)
    settings = Settings(services=services)
    stats = EngineStats()
    copies: Counter[str] = Counter()
    searched = 0
    malformed = 0
    with tempfile.TemporaryDirectory() as work, requests.Session() as session:
        cache = ContentCache(Path(work), args.cache_bytes)
        started = time.monotonic()
        for item in builtin_stream("https://idigbio.org", settings, cache, session, stats):
            if isinstance(item, Record) and item.content_id.startswith("line:json:"):
                searched += 1
                copies[item.fields.get(OCCURRENCE_ID) or ""] += 1
            elif isinstance(item, Malformed):
                malformed += 1
        seconds = time.monotonic() - started
        asked = [int(query.get("offset", 0)) + int(query.get("limit", 0)) for query in searches]
        engine_statuses = dict(statuses)
        # What paging by offset alone, as the crawl did before, gets past the window.
        naive = session.get(
            f"{base}/idigbio/v2/search/records",
            params={"rq": json.dumps({"recordset": scale_recordset_uuid(args.records)}), "offset": args.window},
            timeout=60,
        )
    server.shutdown()
    print(
        json.dumps(
            {
                "recordset_records": args.records,
                "search_window": args.window,
                "records_through_the_search": searched,
                "distinct_copies_through_the_search": len(copies),
                "copies_sent_twice": sum(1 for n in copies.values() if n > 1),
                "records_in_all": stats.records,
                "resources_set_aside": malformed,
                "search_requests": len(asked),
                "search_statuses": engine_statuses,
                "largest_offset_plus_limit": max(asked, default=0),
                "offset_paging_past_the_window": f"{naive.status_code}: {naive.json().get('error')}",
                "seconds": round(seconds, 1),
                "records_per_second": round(stats.records / seconds) if seconds else None,
                "mirror_load_seconds": round(loaded, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
