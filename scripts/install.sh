#!/usr/bin/env bash
# Installs everything WorldBridge needs into ./.venv (and, with --dev, the test tools).
# Works on a fresh Debian machine with Python 3.11; run as root (or with sudo available) when
# system packages are missing.
#   bash scripts/install.sh          # the server, CLI and demo
#   bash scripts/install.sh --dev --blender   # and Blender 5.0's bpy in ./.venv-blender (about 1 GB),
#                                    # which tests/blender uses to open exported files in Blender
#   bash scripts/install.sh --dev    # plus pytest, ruff, grpcio-tools, the npm format checkers, the
#                                    # browser tests' tools (web/'s npm packages, Debian's chromium),
#                                    # the Godot web runtime (tests/godot's npm package) and the C++
#                                    # core's toolchain (Debian's cmake, gRPC, protobuf, GoogleTest)
# The server serves the web viewer from its committed build (bridge/api/viewer/): running it needs
# neither Node nor a browser; only --dev (tests, rebuilding the viewer) does.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
blender=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --blender) blender=1 ;;
    *) echo "install.sh: unknown option $arg (use --dev, --blender)" >&2; exit 2 ;;
  esac
done

apt_install() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
  apt_install python3-venv
fi
if [[ $dev -eq 1 ]] && ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
# The browser tests drive Debian's chromium through playwright-core (never a downloaded browser).
if [[ $dev -eq 1 ]] && [[ ! -x /usr/bin/chromium ]]; then
  apt_install chromium
fi

# The C++ core of the Unreal plugin is built and tested by tests/cpp with Debian's toolchain,
# gRPC, protobuf, GoogleTest, zstd and zlib (nothing is downloaded from elsewhere).
if [[ $dev -eq 1 ]] && ! { command -v cmake && command -v g++ && command -v grpc_cpp_plugin \
    && [[ -f /usr/include/gtest/gtest.h && -f /usr/include/zstd.h ]]; } >/dev/null 2>&1; then
  apt_install cmake g++ make pkg-config libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
    libgtest-dev libzstd-dev zlib1g-dev
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch first: an unpinned torch pulls several GB of CUDA packages.
.venv/bin/python -m pip install -q "torch==2.13.0"
if [[ $dev -eq 1 ]]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
  if [[ -f tests/js/package-lock.json ]]; then
    npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
  fi
  # The Godot 4.6 web export template the Godot tests run GDScript in (tests/godot/README.md).
  npm ci --prefix tests/godot --no-audit --no-fund --loglevel=error
  # The viewer's sources, bundler and playwright-core (`npm run build --prefix web` rebuilds it).
  npm ci --prefix web --no-audit --no-fund --loglevel=error
else
  .venv/bin/python -m pip install -q -e .
fi
# Blender as a Python module, in its own environment (it pins its own numpy): opt-in, ~1 GB.
if [[ $blender -eq 1 ]]; then
  [[ -x .venv-blender/bin/python ]] || python3 -m venv .venv-blender
  .venv-blender/bin/python -m pip install -q "bpy==5.0.1"
fi
echo "installed into $(pwd)/.venv" >&2
