"""Start `echri serve` for real on 127.0.0.1 (a free port) and stop it; cases of the fixtures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
MASK_KEY = "test-mask-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log_dir: Path | None
    stderr: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def output(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not get ready in time")


@contextmanager
def running(tmp: Path, *args: str, log: bool = True, env: dict[str, str] | None = None,
            policy_dir: Path | None = None) -> Iterator[Server]:
    """A server process for the duration of the block (SIGTERM, then SIGKILL, at the end)."""
    port = free_port()
    log_dir = tmp / "log" if log else None
    cmd = [sys.executable, "-m", "engine", "serve", "--port", str(port),
           "--policy-dir", str(policy_dir or ROOT / "policies"), "--log-level", "warning"]
    if log_dir is not None:
        cmd += ["--log-dir", str(log_dir)]
    stderr = tmp / f"server-{port}.err"
    environment = {**os.environ, "ECHRI_LOG_KEY": MASK_KEY, **(env or {})}
    with stderr.open("wb") as err:
        process = subprocess.Popen([*cmd, *args], cwd=ROOT, env=environment,
                                   stdout=subprocess.DEVNULL, stderr=err)
    server = Server(process, f"http://127.0.0.1:{port}", log_dir, stderr)
    try:
        wait_ready(server.url, process)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def fixture_cases() -> list[tuple[str, dict[str, Any], str | None]]:
    """(file, case, pinned policy version) of every fixture."""
    out = []
    for path in sorted((ROOT / "fixtures").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("case"), dict):
            out.append((path.relative_to(ROOT).as_posix(), data["case"],
                        data.get("policy_version")))
    return out


def cli_batch(cases: list[dict[str, Any]], tmp: Path, *args: str) -> list[bytes]:
    """`echri evaluate --batch` output lines for `cases`, `line` dropped (the CLI's bytes).

    The real command, run in this process (click's runner) to save an interpreter start.
    """
    from click.testing import CliRunner

    from engine.cli import main

    source = tmp / f"cases-{len(list(tmp.iterdir()))}.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    run = CliRunner().invoke(main, ["evaluate", "--batch", str(source), "--policy-dir",
                                    str(ROOT / "policies"), *args])
    out = []
    for n, line in enumerate(run.stdout_bytes.splitlines(), start=1):
        prefix = b'{"line":%d,' % n
        out.append(b"{" + line[len(prefix):] if line.startswith(prefix) else line)
    return out


def decision_bytes(response: httpx.Response) -> bytes:
    """The decision body inside the envelope, as sent (no re-serialisation)."""
    text = response.content
    marker = b'"decision": '
    start = text.index(marker) + len(marker)
    assert text.endswith(b"}")
    return text[start:-1]
