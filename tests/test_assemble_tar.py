"""The reproducible packer behind the pinned checksums of the maven-assembled artifacts."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tarfile
import time
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "roles" / "artifact_cache" / "files" / "assemble_tar.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("assemble_tar", SCRIPT)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assemble_tar = _load()


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.jar").write_bytes(b"jar bytes")
    (root / "sub" / "tool").write_text("#!/bin/sh\necho hi\n")
    (root / "sub" / "tool").chmod(0o775)
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_files_give_the_same_bytes(tmp_path: Path) -> None:
    first = _tree(tmp_path / "one")
    second = _tree(tmp_path / "two")
    # Different times, owners' umask and creation order must not matter.
    os.utime(second / "a.jar", (time.time() - 10_000, time.time() - 10_000))
    (second / "sub" / "tool").chmod(0o700)
    assert assemble_tar.main(["--out", str(tmp_path / "1.tar"), "--add", f"{first}:top/libs"]) == 0
    assert assemble_tar.main(["--out", str(tmp_path / "2.tar"), "--add", f"{second}:top/libs"]) == 0
    assert _sha(tmp_path / "1.tar") == _sha(tmp_path / "2.tar")


def test_layout_and_normalised_metadata(tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    out = tmp_path / "out.tar"
    assert assemble_tar.main(["--out", str(out), "--add", f"{source}:top/libs", "--add", f"{source}/sub:top/bin"]) == 0
    with tarfile.open(out) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert sorted(members) == [
            "top",
            "top/bin",
            "top/bin/tool",
            "top/libs",
            "top/libs/a.jar",
            "top/libs/sub",
            "top/libs/sub/tool",
        ]
        assert members["top/libs/a.jar"].mode == 0o644
        assert members["top/bin/tool"].mode == 0o755
        assert {(m.uid, m.gid, m.mtime, m.uname) for m in members.values()} == {(0, 0, 0, "")}
        extracted = archive.extractfile("top/libs/a.jar")
        assert extracted is not None
        assert extracted.read() == b"jar bytes"
    assert not out.with_name("out.tar.partial").exists()


def test_a_file_mapped_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _tree(tmp_path / "src")
    out = tmp_path / "out.tar"
    assert assemble_tar.main(["--out", str(out), "--add", f"{source}:top", "--add", f"{source}:top"]) == 1
    assert "mapped twice" in capsys.readouterr().err
    assert not out.exists()


def test_a_missing_source_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert assemble_tar.main(["--out", str(tmp_path / "x.tar"), "--add", f"{tmp_path}/nope:top"]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_a_malformed_mapping_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        assemble_tar.main(["--out", str(tmp_path / "x.tar"), "--add", "no-colon"])
    assert exit_info.value.code == 2
