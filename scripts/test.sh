#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the debug preset (ASan + UBSan), runs ctest
# and then the libFuzzer targets (scripts/fuzz.sh, its own clang build in build/fuzz). Exits
# non-zero when any test fails or any fuzz target finds something. Arguments go to ctest only.
#
#   NEXTIER_SKIP_FUZZ=1        skip the fuzzing step (quick local runs); CI leaves it unset
#   NEXTIER_FUZZ_SECONDS=N     seconds each fuzz target runs (default 60, what CI runs)
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
if [ "${NEXTIER_SKIP_FUZZ:-0}" = 1 ]; then
  echo "test.sh: NEXTIER_SKIP_FUZZ=1: the fuzz targets are not run"
else
  bash scripts/fuzz.sh "${NEXTIER_FUZZ_SECONDS:-60}"
fi
