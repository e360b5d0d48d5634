"""The readers against the real archives and pages, and against damaged copies of them made here."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from dwca.read import DwCAReader

from zootopia.records import KINGDOM, OCCURRENCE, SCIENTIFIC_NAME, Malformed, Record, position_of
from zootopia.sources.readers import ArchiveError, read_dwca, read_idigbio_page

GBIF_DOWNLOAD = "gbif/gbif-download-0013147-250515123054153.zip"
NRM = "gbif/nrm-herpetology-dwca-20180905.zip"
CANONICAL = {name.lower(): name for name in ("Animalia", "Plantae", "Fungi", "Chromista", "Bacteria", "Archaea")}
CANONICAL.update({name.lower(): name for name in ("Protozoa", "Viruses")})


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kingdom(fields: Mapping[str, str | None]) -> str:
    value = (fields.get(KINGDOM) or "").strip()
    return CANONICAL.get(value.lower(), value) if value else "unspecified"


def records_of(path: Path) -> tuple[list[Record], list[Malformed]]:
    records, malformed = [], []
    for item in read_dwca(path, sha256_of(path)):
        if isinstance(item, Record):
            records.append(item)
        else:
            malformed.append(item)
    return records, malformed


def species(records: list[Record]) -> set[str]:
    return {name for name in ((r.fields.get(SCIENTIFIC_NAME) or "").strip() for r in records) if name}


def test_nrm_archive_gives_the_published_counts(data_dir: Path) -> None:
    records, malformed = records_of(data_dir / NRM)
    assert malformed == []
    assert len(records) == 4956
    assert Counter(kingdom(r.fields) for r in records) == {"Animalia": 4956}
    assert len(species(records)) == 1543


def test_gbif_download_gives_the_published_counts(data_dir: Path) -> None:
    records, malformed = records_of(data_dir / GBIF_DOWNLOAD)
    assert malformed == []
    assert len(records) == 7929
    assert Counter(kingdom(r.fields) for r in records) == {
        "Animalia": 6327,
        "Plantae": 1536,
        "Fungi": 31,
        "Chromista": 28,
        "incertae sedis": 6,
        "Bacteria": 1,
    }
    assert len(species(records)) == 1839


def test_content_ids_name_the_zip_the_core_file_and_contiguous_lines(data_dir: Path) -> None:
    path = data_dir / GBIF_DOWNLOAD
    sha = sha256_of(path)
    records, _ = records_of(path)
    positions = [position_of(r.content_id) for r in records]
    assert all(p is not None and p.resource == sha and p.member == "!/occurrence.txt" for p in positions)
    assert [p.line for p in positions if p is not None] == list(range(2, 2 + len(records)))
    assert [r.position for r in records] == positions
    assert {r.row_type for r in records} == {OCCURRENCE}
    assert records[0].content_id == f"line:zip:hash://sha256/{sha}!/occurrence.txt!/L2"


def test_fields_are_the_meta_xml_terms_of_the_row(data_dir: Path) -> None:
    path = data_dir / NRM
    records, _ = records_of(path)
    with zipfile.ZipFile(path) as archive:
        lines = archive.read("occurrence.txt").decode("utf-8").split("\n")
    # meta.xml maps column 12 to institutionCode and column 115 to scientificName (checked by hand).
    row = lines[100].split("\t")
    record = next(r for r in records if r.position.line == 101)
    assert record.fields["http://rs.tdwg.org/dwc/terms/institutionCode"] == row[12]
    assert record.fields[SCIENTIFIC_NAME] == row[115]


@pytest.mark.parametrize("name", [NRM, GBIF_DOWNLOAD])
def test_fields_equal_the_librarys_row_data(data_dir: Path, name: str) -> None:
    """Rows are mapped here, not by the library's row iterator: the values must be the same, defaults
    included, except a blank cell without a default: null, its key kept, as Preston's json-stream writes it."""
    records, _ = records_of(data_dir / name)
    with DwCAReader(str(data_dir / name), skip_metadata=True) as archive:
        rows = [{term: value if value != "" else None for term, value in row.data.items()} for row in archive]
    assert len(rows) == len(records)
    assert all(record.fields == row for record, row in zip(records, rows))
    assert all(set(record.fields) == set(rows[0]) for record in records)  # every term, blank or not
    assert sum(value is None for record in records for value in record.fields.values()) > len(records)
    if name == GBIF_DOWNLOAD:  # meta.xml gives geodeticDatum a default and no column
        assert {r.fields["http://rs.tdwg.org/dwc/terms/geodeticDatum"] for r in records} == {"WGS84"}


def rewrite_core(source: Path, target: Path, edit: dict[int, bytes], extra_lines: bytes = b"") -> None:
    """A copy of `source` whose core lines (1-based) in `edit` are replaced by the given bytes."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "occurrence.txt":
                lines = data.split(b"\n")
                for number, replacement in edit.items():
                    lines[number - 1] = replacement
                data = b"\n".join(lines) + extra_lines
            copy.writestr(info.filename, data)


def test_damaged_rows_are_set_aside_and_the_good_rows_still_come_out(data_dir: Path, tmp_path: Path) -> None:
    source = data_dir / NRM
    with zipfile.ZipFile(source) as archive:
        lines = archive.read("occurrence.txt").split(b"\n")
    damaged = tmp_path / "damaged.zip"
    rewrite_core(
        source,
        damaged,
        {
            10: b"\t".join(lines[9].split(b"\t")[:-5]),  # columns missing
            20: lines[19].replace(b"Animalia", b"Anim\xffalia"),  # not UTF-8
            30: lines[29] + b"\tsurplus",  # one column too many
            40: b"",  # a blank line is no row at all
        },
    )
    records, malformed = records_of(damaged)
    assert [(m.position.line if m.position else None) for m in malformed] == [10, 20, 30]
    assert "134 columns where the header has 139" in malformed[0].reason
    assert "not valid UTF-8" in malformed[1].reason
    assert "\ufffd" in malformed[1].raw
    assert "140 columns" in malformed[2].reason
    assert all(m.position is not None and m.position.resource == sha256_of(damaged) for m in malformed)
    assert len(records) == 4956 - 4
    good, _ = records_of(source)
    by_line = {r.position.line: r.fields for r in good}
    for record in records:
        assert record.fields == by_line[record.position.line]


def test_an_enclosed_csv_core_with_a_line_break_in_a_field(data_dir: Path, tmp_path: Path) -> None:
    """fieldsEnclosedBy: a row may span lines; its line is its first one and the next row's moves on."""
    with zipfile.ZipFile(data_dir / NRM) as archive:
        meta = archive.read("meta.xml").decode("utf-8")
        rows = [line.split("\t") for line in archive.read("occurrence.txt").decode("utf-8").split("\n")[:51]]
    rows[5][1] = "Physical\nObject"  # row 5 (line 6) now spans two lines
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    meta = meta.replace('fieldsTerminatedBy="\\t"', 'fieldsTerminatedBy=","')
    meta = meta.replace('fieldsEnclosedBy=""', 'fieldsEnclosedBy="&quot;"')
    path = tmp_path / "quoted.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.xml", meta)
        archive.writestr("occurrence.txt", text.getvalue())
    records, malformed = records_of(path)
    assert malformed == []
    assert len(records) == 50
    assert [r.position.line for r in records][3:7] == [5, 6, 8, 9]
    assert records[4].fields["http://purl.org/dc/terms/type"] == "Physical\nObject"
    assert {kingdom(r.fields) for r in records} == {"Animalia"}


def test_a_tar_gz_with_a_top_folder_and_a_broken_dataset_eml(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "nrm.tar.gz"
    with zipfile.ZipFile(data_dir / NRM) as original, tarfile.open(path, "w:gz") as archive:
        members = {name: original.read(name) for name in original.namelist()}
        members["dataset/0f1e.xml"] = b"<eml><unclosed>"  # per-dataset EML, as in GBIF downloads
        for name, data in members.items():
            info = tarfile.TarInfo(f"nrm/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    records, malformed = records_of(path)
    assert malformed == []
    assert len(records) == 4956
    assert records[0].content_id.endswith("!/occurrence.txt!/L2")


def test_not_an_archive_raises(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="neither a zip nor a tar"):
        list(read_dwca(data_dir / "README.md", "0" * 64))
    no_core = tmp_path / "no-core.zip"
    with zipfile.ZipFile(data_dir / NRM) as original, zipfile.ZipFile(no_core, "w") as copy:
        copy.writestr("meta.xml", original.read("meta.xml"))
        copy.writestr("eml.xml", original.read("eml.xml"))
    with pytest.raises(ArchiveError):
        list(read_dwca(no_core, "0" * 64))


def test_idigbio_records_page(data_dir: Path) -> None:
    path = data_dir / "idigbio/search-records-page.json"
    sha = sha256_of(path)
    items = list(read_idigbio_page(path, sha))
    page = json.loads(path.read_text(encoding="utf-8"))
    assert len(items) == len(page["items"]) == 2
    for number, (item, raw) in enumerate(zip(items, page["items"]), start=1):
        assert isinstance(item, Record)
        assert item.content_id == f"line:json:hash://sha256/{sha}!/items!/L{number}"
        assert position_of(item.content_id) == item.position
        assert item.row_type == OCCURRENCE
        # Lists (dwc:Identification, an extension) are no term value.
        dwc = {k.split(":", 1)[1] for k, v in raw["data"].items() if k.startswith("dwc:") and isinstance(v, str)}
        assert "Identification" in {k.partition(":")[2] for k in raw["data"]} - dwc
        assert {k.rsplit("/", 1)[1] for k in item.fields if k.startswith("http://rs.tdwg.org/")} == dwc
        assert item.fields["http://purl.org/dc/terms/references"] == raw["data"]["dcterms:references"]
        assert item.fields[SCIENTIFIC_NAME] == raw["data"]["dwc:scientificName"]
        assert kingdom(item.fields) == "unspecified"  # the two fossils carry no kingdom


def test_an_idigbio_item_without_data_is_malformed(data_dir: Path, tmp_path: Path) -> None:
    page = json.loads((data_dir / "idigbio/search-records-page.json").read_text(encoding="utf-8"))
    del page["items"][0]["data"]
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    items = list(read_idigbio_page(path, "1" * 64))
    assert isinstance(items[0], Malformed)
    assert items[0].position is not None
    assert items[0].position.line == 1
    assert isinstance(items[1], Record)
    assert items[1].position.line == 2
    path.write_text("<html>", encoding="utf-8")
    with pytest.raises(ArchiveError):
        list(read_idigbio_page(path, "1" * 64))
