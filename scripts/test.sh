#!/usr/bin/env bash
# Sets everything up and runs every test: unit, integration (the real ccpayd as a process)
# and end-to-end (buf curl through server reflection), first in the release build, then
# again in a build with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh

jobs=$(nproc)
echo "== tests (RelWithDebInfo build) =="
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== tests (ASan + UBSan build) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCCPAY_SANITIZE=ON -DCMAKE_C_COMPILER=clang \
  >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
