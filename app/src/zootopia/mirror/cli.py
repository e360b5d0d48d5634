"""`zootopia mirror serve`: the arguments and the entry the package CLI calls."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from zootopia.mirror.app import serve
from zootopia.mirror.idigbio import SEARCH_WINDOW


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, required=True, help="the biodiversity data directory (read only)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8088, help="port to listen on (default: %(default)s)")
    parser.add_argument("--base-url", required=True, help="how clients reach the mirror, e.g. http://172.30.80.10:8088")
    parser.add_argument(
        "--idigbio-search-window",
        type=int,
        default=SEARCH_WINDOW,
        help="no iDigBio search page reaches past this many hits (default: %(default)s, the real API's)",
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir: Path = args.data_dir
    if not (data_dir / "gbif").is_dir() or not (data_dir / "obis").is_dir() or not (data_dir / "idigbio").is_dir():
        logging.getLogger(__name__).error("%s has no gbif/, obis/ and idigbio/ directories", data_dir)
        return 2
    if args.idigbio_search_window < 1:
        logging.getLogger(__name__).error("--idigbio-search-window must be at least 1")
        return 2
    serve(data_dir, args.host, args.port, args.base_url, args.idigbio_search_window)
    return 0
