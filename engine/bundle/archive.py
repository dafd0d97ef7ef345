"""Deterministic tar.gz writing and bounded, safe reading of bundles.

Writing: entries sorted by name, regular files only, mtime 0, uid/gid 0, no owner names,
mode 0644, gzip header without name or time, so the same files give the same bytes.

Reading never trusts the archive: the compressed file and the decompressed stream are
bounded (a gzip or tar bomb stops at the limit), and only regular files with plain
relative names are accepted: no absolute paths, no `..`, no links, devices or FIFOs, no
duplicates. Members are read into memory and written out from there, so what is extracted
is exactly what was verified.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
TAR_BLOCK = 512


class UnsafeArchive(ValueError):
    """The archive has an entry or a size that is refused (path traversal, link, bomb)."""


class UnreadableArchive(ValueError):
    """The file is not a readable tar.gz."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_bundle_bytes: int = 64 * 1024 * 1024  # the .tar.gz on disk
    max_members: int = 10_000
    max_member_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 128 * 1024 * 1024  # all members, decompressed


DEFAULT_LIMITS = Limits()


def check_name(name: str) -> str:
    """`name` if it is a plain relative POSIX path (raises UnsafeArchive otherwise)."""
    if not name or name.startswith("/") or "\\" in name or len(name) > 1024:
        raise UnsafeArchive(f"unsafe entry name `{name[:200]}`")
    parts = name.split("/")
    if any(not _PART.fullmatch(p) or p in (".", "..") for p in parts):
        raise UnsafeArchive(f"unsafe entry name `{name[:200]}`")
    return name


def write_archive(files: Mapping[str, bytes], target: IO[bytes]) -> None:
    """Write `files` (name → bytes) as a deterministic tar.gz to `target`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(check_name(name))
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    with gzip.GzipFile(filename="", mode="wb", fileobj=target, mtime=0,
                       compresslevel=9) as gz:
        gz.write(raw.getvalue())


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Bounded(io.RawIOBase):
    """A read-only stream that refuses to yield more than `limit` bytes."""

    def __init__(self, inner: _Reader, limit: int):
        self.inner, self.limit, self.count = inner, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise UnsafeArchive(f"the archive expands to more than {self.limit} bytes")
        buffer[:len(data)] = data
        return len(data)


def read_archive(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Every member of the tar.gz at `path` (name → bytes), checked and bounded.

    Raises UnreadableArchive (not a tar.gz, cannot be read) or UnsafeArchive.
    """
    try:
        size = path.stat().st_size
        if size > limits.max_bundle_bytes:
            raise UnsafeArchive(f"the bundle is {size} bytes, over the limit of "
                                f"{limits.max_bundle_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableArchive(f"cannot read the bundle ({exc.strerror or exc})") from None
    # tar headers and padding add at most 3 blocks per member (pax header, header, padding),
    # the end of the archive is padded to a record, and tarfile reads a record ahead
    bound = (limits.max_total_bytes + (limits.max_members * 3 + 4) * TAR_BLOCK
             + 2 * tarfile.RECORDSIZE)
    stream = _Bounded(gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb"), bound)
    try:
        return _members(tarfile.open(fileobj=io.BufferedReader(stream), mode="r|"), limits)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableArchive(f"not a readable tar.gz ({exc})") from None


def _members(tar: tarfile.TarFile, limits: Limits) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    total = 0
    with tar:
        for info in tar:
            name = check_name(info.name.removesuffix("/") if info.isdir() else info.name)
            if info.isdir():
                continue  # a directory entry adds nothing; its files are checked one by one
            if not info.isreg():
                raise UnsafeArchive(f"`{name}` is not a regular file (links, devices and "
                                    "FIFOs are refused)")
            if name in out:
                raise UnsafeArchive(f"`{name}` appears twice in the archive")
            if len(out) >= limits.max_members:
                raise UnsafeArchive(f"more than {limits.max_members} files")
            if info.size > limits.max_member_bytes:
                raise UnsafeArchive(f"`{name}` is {info.size} bytes, over the limit of "
                                    f"{limits.max_member_bytes}")
            total += info.size
            if total > limits.max_total_bytes:
                raise UnsafeArchive(f"the files total more than {limits.max_total_bytes} bytes")
            member = tar.extractfile(info)
            content = member.read() if member is not None else b""
            if len(content) != info.size:
                raise UnreadableArchive(f"`{name}` is truncated")
            out[name] = content
    return out


def write_tree(files: Mapping[str, bytes], root: Path) -> None:
    """Write checked `files` below the (new, private) directory `root`; never follows links."""
    for name in sorted(files):
        target = root.joinpath(*check_name(name).split("/"))
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(files[name])
