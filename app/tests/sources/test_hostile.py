"""Hostile archives, built from the real NRM archive: each bound refuses what passes it, names the bound,
and what is safe to read goes on; memory stays bounded by the bound, not by the input."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from zootopia.config import LimitSettings, Settings
from zootopia.records import REJECT_RAW_CHARS, Malformed, Position, Record
from zootopia.sources.readers import ArchiveError, read_dwca
from zootopia.streams.producer import oversized

NRM = "gbif/nrm-herpetology-dwca-20180905.zip"
ROWS = 4956
MEBIBYTE = 1024 * 1024


def members(data_dir: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(data_dir / NRM) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, content: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in content.items():
            archive.writestr(name, data)
    return path


def read(path: Path, limits: LimitSettings | None = None) -> tuple[list[Record], list[Malformed]]:
    records: list[Record] = []
    malformed: list[Malformed] = []
    for item in read_dwca(path, "0" * 64, limits=limits or LimitSettings()):
        (records if isinstance(item, Record) else malformed).append(item)  # type: ignore[arg-type]
    return records, malformed


def test_the_default_bounds_pass_every_real_row(data_dir: Path) -> None:
    records, malformed = read(data_dir / NRM)
    assert (len(records), malformed) == (ROWS, [])
    assert Settings().limits == LimitSettings()


@pytest.mark.parametrize(
    ("declaration", "refusal"),
    [
        # Entity expansion: a few hundred bytes that expand to millions of characters.
        (
            '<!DOCTYPE a [<!ENTITY x "xxxxxxxxxxxxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;&x;&x;">'
            '<!ENTITY z "&y;&y;&y;&y;&y;&y;&y;&y;&y;&y;">]>',
            "EntitiesForbidden",
        ),
        # An external entity: a file of the node.
        ('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "EntitiesForbidden"),
    ],
)
def test_meta_xml_declaring_entities_is_refused(data_dir: Path, tmp_path: Path, declaration: str, refusal: str) -> None:
    content = members(data_dir)
    content["meta.xml"] = declaration.encode() + content["meta.xml"].split(b"?>", 1)[-1]
    path = write_zip(tmp_path / "entities.zip", content)
    with pytest.raises(ArchiveError, match=f"meta.xml refused: {refusal}"):
        read(path)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_meta_xml_over_its_bound_is_refused_without_reading_it_whole(data_dir: Path, tmp_path: Path, kind: str) -> None:
    content = members(data_dir)
    content["meta.xml"] = content["meta.xml"] + b" " * (4 * MEBIBYTE)  # valid XML, 4 MiB
    if kind == "zip":
        path = write_zip(tmp_path / "big-meta.zip", content)
    else:
        path = tmp_path / "big-meta.tar.gz"
        with tarfile.open(path, "w:gz") as archive:
            for name, data in content.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    with pytest.raises(ArchiveError, match=r"meta.xml is \d+ bytes, over limits.meta_xml_bytes \(1048576\)"):
        read(path)


@pytest.mark.parametrize("terminator", ["\\n", ";"])
def test_a_line_over_its_bound_is_one_reject_and_the_next_rows_go_on(
    data_dir: Path, tmp_path: Path, terminator: str
) -> None:
    """A 64 MiB line against a 1 MiB bound: one reject that names the bound, its raw text the first 64 KiB,
    and every other row a record; the reader's memory stays a few MiB, not the line's size."""
    content = members(data_dir)
    lines = content["occurrence.txt"].split(b"\n")
    lines.insert(100, b"x" * (64 * MEBIBYTE))
    if terminator == ";":
        content["meta.xml"] = content["meta.xml"].replace(b'linesTerminatedBy="\\n"', b'linesTerminatedBy=";"')
        assert b'linesTerminatedBy=";"' in content["meta.xml"]
        lines = [line.replace(b";", b",") for line in lines]
    content["occurrence.txt"] = (b"\n" if terminator == "\\n" else b";").join(lines)
    path = write_zip(tmp_path / "long-line.zip", content)
    records = 0
    malformed: list[Malformed] = []
    tracemalloc.start()
    try:
        for item in read_dwca(path, "0" * 64):  # the records counted, not kept: the reader's memory alone
            if isinstance(item, Record):
                records += 1
            else:
                malformed.append(item)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == ROWS
    assert len(malformed) == 1
    assert malformed[0].reason == f"a line of {64 * MEBIBYTE} bytes, over limits.line_bytes ({MEBIBYTE})"
    assert malformed[0].position is not None
    assert malformed[0].position.line == 101
    assert len(malformed[0].raw) == REJECT_RAW_CHARS
    assert peak < 8 * MEBIBYTE, f"peak {peak} bytes while reading past a 64 MiB line"


def test_a_field_over_its_bound_sets_aside_its_row(data_dir: Path, tmp_path: Path) -> None:
    content = members(data_dir)
    lines = content["occurrence.txt"].split(b"\n")
    fields = lines[9].split(b"\t")
    fields[3] = b"y" * 5000
    lines[9] = b"\t".join(fields)
    content["occurrence.txt"] = b"\n".join(lines)
    path = write_zip(tmp_path / "long-field.zip", content)
    records, malformed = read(path, LimitSettings(field_chars=4096))
    assert len(records) == ROWS - 1
    assert [(m.position.line if m.position else 0, m.reason) for m in malformed] == [
        (10, "a field of 5000 characters, over limits.field_chars (4096)")
    ]


def test_a_core_file_that_expands_past_the_ratio_is_refused(data_dir: Path, tmp_path: Path) -> None:
    content = members(data_dir)
    content["occurrence.txt"] = content["occurrence.txt"] + b"\t" * (50 * MEBIBYTE)  # deflates ~1000x
    path = write_zip(tmp_path / "bomb.zip", content)
    read(data_dir / NRM, LimitSettings(compression_ratio=20))  # the real core expands 8 times
    with pytest.raises(ArchiveError, match=r"expands \d+ times .* over limits.compression_ratio \(20\)"):
        read(path, LimitSettings(compression_ratio=20))


def test_a_tar_gz_that_unpacks_past_the_ratio_is_refused_before_unpacking(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bomb.tar.gz"
    content = members(data_dir)
    content["padding.bin"] = bytes(50 * MEBIBYTE)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ArchiveError, match=r"unpack to \d+ bytes, over limits.compression_ratio \(20\)"):
        list(read_dwca(path, "0" * 64, work_dir=work, limits=LimitSettings(compression_ratio=20)))
    assert list(work.iterdir()) == []


def test_a_record_over_its_bound_becomes_a_reject_naming_it() -> None:
    record = Record(
        {"http://rs.tdwg.org/dwc/terms/occurrenceRemarks": "z" * 300_000}, "id", "type", Position("r", "m", 7)
    )
    value = record.to_json()
    reject = oversized(record, value, 256 * 1024)
    assert reject.reason == f"a record of {len(value)} bytes, over limits.record_bytes (262144)"
    assert reject.position == record.position
    assert len(reject.raw) == REJECT_RAW_CHARS


@pytest.mark.parametrize("name", ["meta_xml_bytes", "line_bytes", "field_chars", "record_bytes", "compression_ratio"])
def test_a_bound_that_is_not_a_count_is_a_settings_error(name: str) -> None:
    with pytest.raises(ValueError, match=f"limits.{name} must be an integer of at least 1"):
        Settings.from_dict({"limits": {name: 0}})
