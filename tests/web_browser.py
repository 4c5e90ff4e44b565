"""Headless Chromium driving the web viewer, for tests/api/test_web_viewer.py and the docs screenshots.

A thin client of ``web/tests/viewer_driver.mjs`` (playwright-core with Debian's ``chromium``):
one JSON command a line in, one JSON reply a line out.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = WEB / "tests" / "viewer_driver.mjs"


class DriverError(RuntimeError):
    pass


def missing_tools() -> str | None:
    """Why the browser tests cannot run here, or None. They fail (never skip) on this."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (`bash scripts/install.sh --dev` does)"
    if shutil.which("node") is None:
        return "node is missing: install Node 20+ (`bash scripts/install.sh --dev` does)"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing: run `npm ci --prefix web`"
    return None


class ViewerDriver:
    def __init__(self, log_path: Path) -> None:
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            ["node", str(DRIVER)], cwd=WEB, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        self._replies: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(b"")

    def call(self, cmd: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        """Run one driver command; raises DriverError with the driver's words when it fails.
        The reply is awaited a little longer than the command's own ``timeoutMs``."""
        if timeout_s is None:
            timeout_s = args.get("timeoutMs", 30_000) / 1000 + 30.0
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        self.process.stdin.flush()
        try:
            line = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            raise DriverError(f"the browser driver did not answer {cmd!r} within {timeout_s} s") from None
        if not line:
            raise DriverError(f"the browser driver exited (code {self.process.poll()}) during {cmd!r}")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise DriverError(f"{cmd}: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(DriverError):
                self.call("quit", timeout_s=20)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> ViewerDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
