#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever the build, tests and benchmarks need and
# this machine lacks. Idempotent: a second run installs nothing and touches no package list.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev liblmdb-dev lmdb-utils capnproto libcapnp-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libssl-dev
  libspdlog-dev libcli11-dev libhowardhinnant-date-dev tzdata
  # libphonenumber-dev depends on Boost 1.74 dev packages, which conflict with 1.81;
  # TODO(deps): unpack its headers from the Debian package when the data hub needs it.
  sqlite3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
