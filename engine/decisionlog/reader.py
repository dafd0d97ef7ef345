"""Read a decision-log directory back: records in stream and file order, problems kept.

Files are grouped by stream (`decisions-<stream>-<index>.jsonl`) and read by index. A last
line without its LF at the end of a stream's last file is a *torn* line (a writer killed
mid-write): it is reported and skipped, never an error. Any other line that is not a JSON
object is a *corrupt* line, reported with its file and line number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.decisionlog.writer import FILE_PREFIX, FILE_SUFFIX

_NAME = re.compile(re.escape(FILE_PREFIX) + r"([0-9a-f]{32})-([0-9]{6})" + re.escape(FILE_SUFFIX))
TORN, CORRUPT = "torn", "corrupt"


@dataclass(frozen=True, slots=True)
class LogEntry:
    origin: str  # FILE:LINE
    stream: str
    index: int  # file index in the stream
    record: dict[str, Any] | None
    problem: str = ""  # set when record is None
    kind: str = ""  # torn | corrupt


def log_files(directory: Path) -> dict[str, list[tuple[int, Path]]]:
    """Files of each stream, by index; streams sorted (by start time)."""
    streams: dict[str, list[tuple[int, Path]]] = {}
    for path in sorted(directory.iterdir()) if directory.is_dir() else ():
        m = _NAME.fullmatch(path.name)
        if m and path.is_file():
            streams.setdefault(m.group(1), []).append((int(m.group(2)), path))
    return {s: sorted(files) for s, files in sorted(streams.items())}


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "invalid UTF-8"
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, f"not JSON ({exc})" if isinstance(exc, json.JSONDecodeError) \
            else "nested too deeply"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    return data, ""


def _file_entries(stream: str, index: int, path: Path, last: bool) -> Iterator[LogEntry]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    for n, raw in enumerate(complete, start=1):
        record, why = _parse(raw)
        yield LogEntry(f"{path}:{n}", stream, index, record, why, CORRUPT if why else "")
    if tail:  # no final LF: written partly
        n = len(complete) + 1
        why = "torn last line (the writer stopped mid-record)" if last \
            else "line without its end inside the stream"
        yield LogEntry(f"{path}:{n}", stream, index, None, why, TORN if last else CORRUPT)


def read_log(directory: Path) -> Iterator[LogEntry]:
    """Every line of every stream under `directory`; raises OSError if it cannot be read."""
    for stream, files in log_files(directory).items():
        for k, (index, path) in enumerate(files):
            yield from _file_entries(stream, index, path, last=k == len(files) - 1)
