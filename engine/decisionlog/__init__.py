"""The decision log: one JSON line per decision, hash-chained, with personal data masked.

    writer = LogWriter(LogConfig(Path("log/")), masker)
    writer.append(build_record(...))
    report = verify_log(Path("log/"))

Steps (one module each): ids (UUIDv7 decision ids) → masking (keyed HMAC of configured
JSON pointers) → record (the record and its canonical hash) → writer (append-only files,
fsync policy, rotation, hash chain) → committer (group commit: the service's log thread
for fsync `always`) → reader (records back, torn lines skipped) → verify
(the chain of every stream). The format is described in README.md, "Decision log".
"""

from engine.decisionlog.ids import uuid7
from engine.decisionlog.masking import DEFAULT_MASK_PATHS, MASK_MODES, Masker, MaskingError
from engine.decisionlog.reader import LogEntry, read_log
from engine.decisionlog.record import GENESIS, build_record, case_digest, record_hash
from engine.decisionlog.verify import VerifyReport, verify_log
from engine.decisionlog.writer import LogConfig, LogWriter

__all__ = [
    "DEFAULT_MASK_PATHS",
    "GENESIS",
    "MASK_MODES",
    "LogConfig",
    "LogEntry",
    "LogWriter",
    "Masker",
    "MaskingError",
    "VerifyReport",
    "build_record",
    "case_digest",
    "read_log",
    "record_hash",
    "uuid7",
    "verify_log",
]
