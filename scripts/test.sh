#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the debug preset (ASan + UBSan) and runs
# ctest. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# playwright-core for the browser tests, exactly as pinned in the lockfile (npm registry only).
# A copy of the lockfile beside node_modules tells whether they still match.
if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.nextier-lock.json; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
  cp tests/browser/package-lock.json tests/browser/node_modules/.nextier-lock.json
fi
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug "$@"
