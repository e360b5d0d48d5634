"""Deterministic Darwin Core Archives (meta.xml + occurrence.txt) built from OBIS occurrence records."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from typing import Any

from zootopia.mirror.dwc_terms import DWC_TERMS
from zootopia.records import DWC, OCCURRENCE

CORE_FILE = "occurrence.txt"
# Fixed member metadata: the same records always give the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Inside a tab separated, unquoted file these would split a value into columns or lines.
_SEPARATORS = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def cell(value: object) -> str | None:
    """The text of a field, or None when it has none: lists, dicts and nulls are left out."""
    if value is None or isinstance(value, (list, dict)):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text.translate(_SEPARATORS)


def columns(records: list[dict[str, Any]]) -> list[str]:
    """The Darwin Core terms some record has a value for, sorted."""
    present = {key for record in records for key, value in record.items() if key in DWC_TERMS and cell(value)}
    return sorted(present)


def meta_xml(terms: list[str]) -> str:
    fields = "".join(f'    <field index="{index}" term="{DWC}{term}"/>\n' for index, term in enumerate(terms, 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<archive xmlns="http://rs.tdwg.org/dwc/text/">\n'
        '  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""'
        f' ignoreHeaderLines="1" rowType="{OCCURRENCE}">\n'
        f"    <files><location>{CORE_FILE}</location></files>\n"
        '    <id index="0"/>\n'
        f"{fields}"
        "  </core>\n"
        "</archive>\n"
    )


def core_text(records: list[dict[str, Any]], terms: list[str]) -> str:
    """One header line, then one row per record sorted by id; column 0 is the record id."""
    lines = ["\t".join(["id", *terms])]
    for record in sorted(records, key=lambda record: str(record["id"])):
        row = [cell(record["id"]) or ""] + [cell(record.get(term)) or "" for term in terms]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def build(records: list[dict[str, Any]]) -> bytes:
    """The archive's bytes: members sorted by name, fixed timestamps and permissions."""
    terms = columns(records)
    members = {"meta.xml": meta_xml(terms), CORE_FILE: core_text(records, terms)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name].encode("utf-8"))
    return buffer.getvalue()


class ArchiveCache:
    """Archives built on first request and kept: each costs a zip build, all together a few MB."""

    def __init__(self, records_by_key: dict[str, list[dict[str, Any]]]) -> None:
        self._records = records_by_key
        self._built: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        records = self._records.get(key)
        if records is None:
            return None
        with self._lock:
            if key not in self._built:
                self._built[key] = build(records)
            return self._built[key]
