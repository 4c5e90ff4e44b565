"""Start a real ``worldbridge serve`` in a child process on a free loopback port (demo, benches, tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 60.0


@dataclass
class ServerProcess:
    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path
    http_port: int | None = None  # None when the server runs without HTTP (--http-port -1)
    token: str | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        if self.http_port is None:
            raise RuntimeError("this server runs without HTTP")
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM and wait: the server stops gracefully; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no goodbye, as a crash would."""
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    data_dir: Path,
    workers: int | None = None,
    extra_args: list[str] | None = None,
    http: bool = True,
    token: str | None = None,
    cpus: set[int] | None = None,
) -> ServerProcess:
    """``http``: also serve HTTP/WebSocket on a free port; ``cpus``: pin the server (and its
    workers) to these cores, as benches that state a core count do."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    args = [sys.executable, "-m", "bridge", "serve", "--port", "0", "--data", str(data_dir)]
    args += ["--http-port", "0" if http else "-1"]
    if token:
        args += ["--token", token]
    if workers:
        args += ["--workers", str(workers)]
    args += extra_args or []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = log_path.open("ab")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=env)
    if cpus and hasattr(os, "sched_setaffinity"):
        # Before the server has imported anything, so every worker it spawns inherits the cores.
        os.sched_setaffinity(process.pid, cpus)
    log.close()
    assert process.stdout is not None
    # The server's first stdout line is its ready line; readline blocks, so bound it with a timer.
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not line or not line[0]:
        process.kill()
        process.wait()
        raise RuntimeError(f"the server did not start; see {log_path}:\n{log_path.read_text()[-2000:]}")
    ready = json.loads(line[0])
    http_port = ready.get("http_port")
    return ServerProcess(
        process, int(ready["port"]), data_dir, log_path, int(http_port) if http_port is not None else None, token
    )
