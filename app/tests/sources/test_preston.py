"""The Preston engine's plumbing and output handling, with a stand-in for `java -jar preston.jar`.

Preston itself cannot be installed here. The stand-in behaves as the two
commands do on the outside: `track` prints provenance and stores content in
./data, `json-stream` reads provenance on stdin and prints one json-stream
line per row. The lines are made from a real archive's rows, in both the
0.3.5 and the 0.3.10 spelling, mixed with malformed ones.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from zootopia.config import PrestonSettings, Settings
from zootopia.records import DWC, KINGDOM, Malformed, Record
from zootopia.sources.preston import PrestonError, preston_stream

STAND_IN = """#!{python}
import os, sys, time
args = sys.argv[3:]
if args[0] == "track":
    os.makedirs("data/ab", exist_ok=True)
    for n in range(5):
        with open(f"data/ab/content{{n}}", "w") as out:
            out.write("x" * 10)
        os.utime(f"data/ab/content{{n}}", (1000 + n, 1000 + n))
        print(f"<{{args[2]}}> <http://purl.org/pav/hasVersion> <hash://sha256/{{n:064d}}> .", flush=True)
    sys.exit(int(os.environ.get("TRACK_EXIT", "0")))
if args[0] == "json-stream":
    provenance = sys.stdin.read()
    assert provenance.count("hasVersion") == 5, provenance
    print("provenance goes to stderr", file=sys.stderr)
    with open(os.environ["LINES"], encoding="utf-8") as lines:
        sys.stdout.write(lines.read())
"""


def _real_lines(archive: Path, rows: int) -> list[str]:
    """json-stream lines for the first rows of the archive's occurrence core, in both Preston spellings."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with zipfile.ZipFile(archive) as bundle:
        text = bundle.read("occurrence.txt").decode("utf-8")
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    lines = []
    for number, row in enumerate(reader, start=2):
        if number > rows + 1:
            break
        fields = {DWC + name: value for name, value in zip(header, row)}
        content_id = f"line:zip:hash://sha256/{digest}!/occurrence.txt!/L{number}"
        if number % 2:
            fields["http://www.w3.org/ns/prov#wasDerivedFrom"] = content_id
            fields["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"] = DWC + "Occurrence"
        else:
            fields.update({"contentId": content_id, "rowType": DWC + "Occurrence"})
        lines.append(json.dumps(fields))
    return lines


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Settings:
    stand_in = tmp_path / "java"
    stand_in.write_text(STAND_IN.format(python=sys.executable))
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    lines = _real_lines(data_dir / "gbif" / "nrm-herpetology-dwca-20180905.zip", 300)
    lines[10:10] = ["{broken", "", '"a string"']
    (tmp_path / "lines.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("LINES", str(tmp_path / "lines.jsonl"))
    return replace(Settings(), preston=PrestonSettings(java=str(stand_in), jar="preston.jar", keep_archives=2))


def test_rows_become_records_malformed_lines_are_set_aside(settings: Settings, tmp_path: Path) -> None:
    items = list(preston_stream("https://gbif.org", settings, tmp_path / "work"))
    records = [item for item in items if isinstance(item, Record)]
    malformed = [item for item in items if isinstance(item, Malformed)]
    assert len(records) == 300
    assert [record.position.line for record in records] == list(range(2, 302))
    assert {record.fields[KINGDOM] for record in records} == {"Animalia"}
    assert {record.row_type for record in records} == {DWC + "Occurrence"}
    assert len(malformed) == 2


def test_clean_cache_keeps_only_the_newest_archives(settings: Settings, tmp_path: Path) -> None:
    list(preston_stream("https://gbif.org", settings, tmp_path / "work"))
    kept = sorted(path.name for path in (tmp_path / "work" / "data").rglob("*") if path.is_file())
    assert kept == ["content3", "content4"]


def test_a_failing_preston_raises_after_its_rows(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACK_EXIT", "3")
    stream = preston_stream("https://gbif.org", settings, tmp_path / "work")
    with pytest.raises(PrestonError, match="track"):
        list(stream)
