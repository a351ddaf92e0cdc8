#!/usr/bin/env bash
# Installs everything ccpay needs to build, run and test on Debian 12, then configures
# and builds it. Idempotent: when every package is present it only rebuilds.
#
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

debian_packages=(
  build-essential cmake pkg-config git ca-certificates
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
  grpc-proto liblmdb-dev lmdb-utils libcurl4-openssl-dev libssl-dev openssl
  libjansson-dev libinih-dev libcmocka-dev clang libclang-rt-14-dev curl
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js may come from another source (with npm bundled); install Debian's only when absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# buf (its `buf curl` is the end-to-end client), its version pinned in package.json and
# package-lock.json. Not `npm ci`: npm 11 leaves other platforms' optional buf binaries
# out of the lock and then refuses it as out of sync; --no-save keeps the lock as it is.
if [ ! -x node_modules/.bin/buf ]; then
  echo "setup: installing @bufbuild/buf from npm"
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" != "--no-build" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
fi
