#!/usr/bin/env bash
# Configures and builds Teller (Release) into build/; extra arguments go to the CMake configure.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${TELLER_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
