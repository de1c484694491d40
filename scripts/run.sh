#!/usr/bin/env bash
# The main job: installs what is missing (Debian 12 packages), builds the release preset and
# starts nextier. Until `nextier serve` lands it runs `nextier --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target nextier

if ./build/release/app/nextier --help | grep -q '^  serve'; then
  exec ./build/release/app/nextier serve "$@"
fi
exec ./build/release/app/nextier --help
