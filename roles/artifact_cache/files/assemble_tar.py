#!/usr/bin/env python3
"""Pack directories into one tar whose bytes depend only on the files' contents.

The maven artifact source assembles Kafka, Hadoop and Spark trees from jars
and a PyPI sdist; their checksums are pinned in the repository, so the tar
must be byte-for-byte reproducible: sorted entries, fixed owner and time,
modes reduced to 0644/0755, no compression (the jars already are).

    assemble_tar.py --out kafka.tar --add build/libs:kafka_2.13-3.1.0/libs
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path, PurePosixPath

FIXED_MTIME = 0


def _mapping(spec: str) -> tuple[Path, PurePosixPath]:
    source, sep, target = spec.rpartition(":")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"expected SOURCE_DIR:ARCHIVE_DIR, got {spec!r}")
    return Path(source), PurePosixPath(target)


def _info(name: PurePosixPath, *, directory: bool, executable: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(str(name))
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory or executable else 0o644
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def entries(mappings: list[tuple[Path, PurePosixPath]]) -> dict[PurePosixPath, Path | None]:
    """Archive path -> source file (None for a directory), for every mapped tree."""
    found: dict[PurePosixPath, Path | None] = {}
    for source, target in mappings:
        if not source.is_dir():
            raise FileNotFoundError(f"{source} is not a directory")
        for parent in (*reversed(target.parents[:-1]), target):
            found[parent] = None
        for path in source.rglob("*"):
            name = target / path.relative_to(source).as_posix()
            if name in found and found[name] is not None:
                raise ValueError(f"{name} is mapped twice")
            found[name] = None if path.is_dir() else path
    return found


def write_tar(out: Path, mappings: list[tuple[Path, PurePosixPath]]) -> None:
    members = entries(mappings)
    partial = out.with_name(out.name + ".partial")
    try:
        _write_members(partial, members)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)


def _write_members(partial: Path, members: dict[PurePosixPath, Path | None]) -> None:
    with tarfile.open(partial, "w", format=tarfile.GNU_FORMAT) as archive:
        for name in sorted(members, key=str):
            source = members[name]
            if source is None:
                archive.addfile(_info(name, directory=True, executable=False))
                continue
            data = source.read_bytes()
            executable = bool(source.stat().st_mode & 0o111)
            info = _info(name, directory=False, executable=executable, size=len(data))
            archive.addfile(info, io.BytesIO(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="tar file to write")
    parser.add_argument("--add", type=_mapping, action="append", required=True, metavar="SRC:DEST")
    args = parser.parse_args(argv)
    try:
        write_tar(args.out, args.add)
    except (OSError, ValueError) as error:
        print(f"assemble_tar: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
