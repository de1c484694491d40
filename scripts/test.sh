#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the debug preset (ASan + UBSan) and runs
# ctest. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug "$@"
