#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever the build, tests and benchmarks need and
# this machine lacks. Idempotent: a second run installs nothing and touches no package list.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev liblmdb-dev lmdb-utils capnproto libcapnp-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libssl-dev
  libspdlog-dev libcli11-dev libhowardhinnant-date-dev tzdata
  # libphonenumber: the runtime libraries and what its headers include (protobuf, abseil, ICU);
  # the headers themselves are unpacked below.
  libphonenumber8 libgeocoding8 libprotobuf-dev libabsl-dev libicu-dev
  # jemalloc: the allocator of the nextier executable and the benchmarks (cmake/NextierTargets).
  libjemalloc-dev
  sqlite3 wrk nginx-light
  # The browser tests: Debian's Chromium, driven by playwright-core from npm (tests/browser).
  chromium
  # The fuzz targets (scripts/fuzz.sh): clang with libFuzzer's runtime.
  clang libclang-rt-14-dev
)
# Node.js and npm for the browser tests: any installed Node.js (Debian's or another) is kept;
# Debian's packages are added only when the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# libphonenumber-dev depends on libboost-thread-dev, i.e. the Boost 1.74 dev packages, which
# conflict with libboost1.81-dev. All we need from it are the headers (Debian builds the library
# without Boost), so they are unpacked from the .deb into this prefix: the package is never
# installed and apt's state stays clean. CMake looks here (NEXTIER_PHONENUMBER_INCLUDE_DIR).
phonenumber_prefix=/opt/nextier/phonenumber

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
updated=0

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: every package is already installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  updated=1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f "$phonenumber_prefix/include/phonenumbers/phonenumberutil.h" ]; then
  echo "install-deps: libphonenumber headers are already in $phonenumber_prefix/include"
  exit 0
fi

echo "install-deps: unpacking the libphonenumber-dev headers into $phonenumber_prefix/include"
tmp=$($SUDO mktemp -d)
trap '$SUDO rm -rf "$tmp"' EXIT
# apt-get download fetches as the _apt user when it exists; let it write there.
$SUDO chmod 755 "$tmp"
if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$tmp"; fi
if ! (cd "$tmp" && $SUDO apt-get download -qq libphonenumber-dev); then
  if [ "$updated" -eq 1 ]; then exit 1; fi
  $SUDO apt-get update -qq
  (cd "$tmp" && $SUDO apt-get download -qq libphonenumber-dev)
fi
$SUDO dpkg-deb -x "$tmp"/libphonenumber-dev_*.deb "$tmp/root"
# Copied beside, then renamed: an interrupted run leaves no half set for the check above.
$SUDO mkdir -p "$phonenumber_prefix/include"
$SUDO rm -rf "$phonenumber_prefix/include/phonenumbers.partial" "$phonenumber_prefix/include/phonenumbers"
$SUDO cp -r "$tmp/root/usr/include/phonenumbers" "$phonenumber_prefix/include/phonenumbers.partial"
$SUDO mv "$phonenumber_prefix/include/phonenumbers.partial" "$phonenumber_prefix/include/phonenumbers"
