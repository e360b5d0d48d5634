"""Expected results, computed straight from the published files, independently of the app's code.

Counting rules (the README's): kingdom stripped, matched case-insensitively to
its canonical spelling, empty or missing is "unspecified"; a species is a
stripped, non-empty scientificName, counted once per distinct string.
"""

from __future__ import annotations

import gzip
import json
import os
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("ZOOTOPIA_DATA_DIR", Path(__file__).resolve().parents[4] / "shared/data/biodiversity"))
CANONICAL = {
    name.lower(): name
    for name in ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria", "Archaea", "Protozoa", "Viruses")
}
DWC = "http://rs.tdwg.org/dwc/terms/"
TEXT = "{http://rs.tdwg.org/dwc/text/}"


def kingdom(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    return CANONICAL.get(text.lower(), text) if text else "unspecified"


def species(value: object) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text or None


@dataclass
class Truth:
    records: int = 0
    kingdoms: Counter[str] = field(default_factory=Counter)
    species: set[str] = field(default_factory=set)

    def add(self, rows: Iterable[tuple[object, object]]) -> Truth:
        for kingdom_value, name in rows:
            self.records += 1
            self.kingdoms[kingdom(kingdom_value)] += 1
            found = species(name)
            if found:
                self.species.add(found)
        return self


def _archive_rows(path: Path) -> Iterator[tuple[object, object]]:
    """(kingdom, scientificName) of every core row of a Darwin Core Archive, read by its meta.xml."""
    with zipfile.ZipFile(path) as archive:
        core = ET.fromstring(archive.read("meta.xml")).find(f"{TEXT}core")
        assert core is not None
        columns = {f.get("term"): int(f.get("index", "-1")) for f in core.iter(f"{TEXT}field")}
        location = core.find(f"{TEXT}files/{TEXT}location")
        assert location is not None
        assert location.text
        skip = int(core.get("ignoreHeaderLines", "0"))
        text = archive.read(location.text).decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines[skip:]:
        cells = line.rstrip("\r").split("\t")
        yield tuple(  # type: ignore[misc]
            cells[columns[term]] if columns.get(term, -1) in range(len(cells)) else None
            for term in (DWC + "kingdom", DWC + "scientificName")
        )


def archive(path: Path) -> Truth:
    """Any Darwin Core Archive's core rows."""
    return Truth().add(_archive_rows(path))


def gbif() -> Truth:
    truth = Truth()
    for path in sorted((DATA / "gbif").glob("*.zip")):
        truth.add(_archive_rows(path))
    return truth


def obis() -> Truth:
    records: dict[str, dict[str, object]] = {}
    with gzip.open(DATA / "obis/occurrence-mola-mola-10000.json.gz") as mola:
        pages = [json.load(mola), json.loads((DATA / "obis/occurrence-unfiltered-100.json").read_text())]
    for page in pages:
        for record in page["results"]:
            records.setdefault(record["id"], record)
    return Truth().add((r.get("kingdom"), r.get("scientificName")) for r in records.values())


def idigbio() -> Truth:
    """Records a recordset query can reach: the fullest recorded copy of each uuid that names its recordset."""
    copies: dict[str, list[dict[str, Any]]] = {}
    for item in json.loads((DATA / "idigbio/search-records-page.json").read_text())["items"]:
        copies.setdefault(item["uuid"], []).append({"data": item["data"], **item["indexTerms"]})
    for path in sorted((DATA / "idigbio/search-api-es-snapshots").glob("*.json")):
        snapshot = json.loads(path.read_text()).get("response_snapshot") or {}
        for hit in (snapshot.get("hits") or {}).get("hits", []):
            if hit.get("_type") == "records":
                copies.setdefault(hit["_id"], []).append(hit["_source"])
    reachable = []
    for versions in copies.values():
        fullest = max(versions, key=lambda copy: len(copy.get("data") or {}) + len(copy) - 1)
        if fullest.get("recordset"):
            reachable.append(fullest.get("data") or {})
    return Truth().add((r.get("dwc:kingdom"), r.get("dwc:scientificName")) for r in reachable)


def idigbio_dead_links() -> set[str]:
    """Recordsets of the recorded registry page whose archive link leads nowhere: they have a link, but
    no recorded record names them, so the mirror has no archive to serve there (404)."""
    registry = json.loads((DATA / "idigbio/registry-recordsets-page.json").read_text())["items"]
    named = set()
    for item in json.loads((DATA / "idigbio/search-records-page.json").read_text())["items"]:
        named.add(item["indexTerms"].get("recordset"))
    for path in sorted((DATA / "idigbio/search-api-es-snapshots").glob("*.json")):
        snapshot = json.loads(path.read_text()).get("response_snapshot") or {}
        for hit in (snapshot.get("hits") or {}).get("hits", []):
            if hit.get("_type") == "records":
                named.add(hit["_source"].get("recordset"))
    return {item["uuid"] for item in registry if item["data"].get("link") and item["uuid"] not in named}


def rejects_by_seed() -> dict[str, int]:
    """Resources each seed's stream sets aside: none of GBIF's or OBIS's; iDigBio's dead archive links."""
    return {"https://gbif.org": 0, "https://obis.org": 0, "https://idigbio.org": len(idigbio_dead_links())}


def by_seed() -> dict[str, Truth]:
    return {"https://gbif.org": gbif(), "https://obis.org": obis(), "https://idigbio.org": idigbio()}
