#!/usr/bin/env bash
# The main job: installs what is missing (Debian 12 packages), builds the release preset and
# starts `nextier serve` on the embedded default (LMDB under ./data, sandbox providers, the
# shipped workflows and web UI). It prints the URL and the API keys to sign in with.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target nextier
exec ./build/release/app/nextier serve "$@"
