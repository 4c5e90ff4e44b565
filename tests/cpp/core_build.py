"""Building the C++ core (unreal_plugin/WorldBridge/Source/WorldBridgeCore) for the tests: CMake into
the git-ignored build/ folder, with AddressSanitizer and UndefinedBehaviorSanitizer, at nice 10 and
two jobs (the machines that run the suite have few cores)."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE_SOURCE = REPO / "unreal_plugin" / "WorldBridge" / "Source" / "WorldBridgeCore"
BUILD_DIR = REPO / "build" / "worldbridge-core-asan"
BUILD_TIMEOUT_S = 900
JOBS = 2

needs_cpp_toolchain = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("protoc") is None or shutil.which("grpc_cpp_plugin") is None,
    reason="the C++ core's tools are absent: run `bash scripts/install.sh --dev` (Debian's cmake, "
    "libgrpc++-dev, protobuf-compiler-grpc, libprotobuf-dev, libgtest-dev)",
)


@dataclass(frozen=True)
class CoreBuild:
    build_dir: Path
    seconds: float  # wall time of configure + build in this run (small when nothing changed)

    @property
    def stream_program(self) -> Path:
        return self.build_dir / "worldbridge-core-stream"


def _run(args: list[str], log: Path) -> None:
    with log.open("ab") as out:
        niced = ["nice", "-n", "10", *args]
        done = subprocess.run(niced, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed (exit {done.returncode}); the end of {log}:\n{log.read_text()[-4000:]}")


def build_core() -> CoreBuild:
    """Configure (once) and build the library, its tests and the program with the sanitizers on."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    log = BUILD_DIR / "build.log"
    log.write_text("")
    started = time.monotonic()
    if not (BUILD_DIR / "CMakeCache.txt").exists():
        options = ["-DCMAKE_BUILD_TYPE=Debug", "-DWORLDBRIDGE_SANITIZE=ON"]
        _run(["cmake", "-S", str(CORE_SOURCE), "-B", str(BUILD_DIR), *options], log)
    _run(["cmake", "--build", str(BUILD_DIR), f"-j{JOBS}"], log)
    return CoreBuild(BUILD_DIR, time.monotonic() - started)
