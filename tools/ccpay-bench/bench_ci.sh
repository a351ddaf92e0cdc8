#!/usr/bin/env bash
# The CI step of ccpay-bench: every scenario for about 2 s against real processes
# (procsim, ccpayd, the Stripe adapter), so the tool never rots. It checks only that the
# tool ran, reported every scenario with no error, and that no process logged a
# sanitizer report: no timing is asserted (figures come from longer runs,
# docs/BENCHMARKS.md).
#
# Usage: tools/ccpay-bench/bench_ci.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$1
out=$(mktemp /tmp/ccpay-bench-ci.XXXXXX)
trap 'rm -f "$out"' EXIT

status=0
"$here/bench.sh" --build-dir "$build" -- --duration 2 --concurrency 32 --preload-orders 200 \
  --flow-rate 100 >"$out" 2>&1 || status=$?
cat "$out"
[ "$status" -eq 0 ] || { echo "bench_ci: ccpay-bench run failed ($status)" >&2; exit 1; }
for scenario in baseline get-order create-order csr-flow csr-flow-paced stream; do
  line=$(grep "^result scenario=$scenario " "$out" || true)
  [ -n "$line" ] || { echo "bench_ci: no result for $scenario" >&2; exit 1; }
  case "$line" in
    *" errors=0 "*) ;;
    *) echo "bench_ci: $scenario had errors: $line" >&2; exit 1 ;;
  esac
  case "$line" in
    *" ok=0 "*) echo "bench_ci: $scenario completed nothing: $line" >&2; exit 1 ;;
  esac
done
echo "bench_ci: every scenario ran and reported"
