"""A minimal Language Server Protocol client over stdio, for tests/test_editor_schemas.py."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any, BinaryIO


class LspClient:
    """Talks JSON-RPC to a language server process; answers its configuration requests."""

    def __init__(self, command: list[str], settings: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.settings = settings
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    @staticmethod
    def _read(stream: BinaryIO) -> dict[str, Any]:
        length = 0
        while True:
            line = stream.readline()
            if not line:
                raise EOFError("language server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data: dict[str, Any] = json.loads(stream.read(length))
        return data

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        self.next_id += 1
        my_id = self.next_id
        self._send({"id": my_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            msg = self._read(self.proc.stdout)
            if "method" in msg and "id" in msg:  # a request from the server
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [self.settings.get(i.get("section", ""))
                              for i in msg["params"]["items"]]
                self._send({"id": msg["id"], "result": result})
            elif "method" in msg:
                self.notifications.append(msg)
            elif msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(msg["error"])
                return msg.get("result")
        raise TimeoutError(method)

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
            self.proc.wait(timeout=5)
        except Exception:  # best effort, then kill our own process
            self.proc.kill()
            self.proc.wait()
