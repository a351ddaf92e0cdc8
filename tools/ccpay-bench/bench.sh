#!/usr/bin/env bash
# Runs ccpay-bench against real processes on loopback: ccpay-procsim, then ccpayd with one
# card adapter (Stripe) pointed at it, a fresh admin token made offline, and the load
# generator; then stops ccpayd (which stops its adapter) and procsim, by pid.
#
# Usage: tools/ccpay-bench/bench.sh [--build-dir DIR] [--data-dir DIR] [--keep]
#                                   [--ccpayd-arg ARG]... [-- ccpay-bench flags...]
#   --build-dir DIR  where bin/ccpayd and friends are (default: ./build)
#   --data-dir DIR   an existing data directory (e.g. filled by ccpay-admin load);
#                    default: a fresh one in the run directory
#   --keep           keep the run directory (logs, data) and print its path
#   --ccpayd-arg ARG one more argument for ccpayd (repeatable)
#   --ccpayd-wrapper CMD run ccpayd under CMD (split on spaces), e.g. for a profile:
#                    "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out"
#   --adapter-threads N  the Stripe adapter's worker threads, i.e. processor calls in
#                    flight (default: the adapter's own default)
# Everything after `--` goes to ccpay-bench (see ccpay-bench --help). Every process is
# bounded: ccpay-bench ends by itself; the servers are stopped when it does (SIGTERM,
# then SIGKILL after 20 s).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build
data_dir=
keep=0
ccpayd_args=()
adapter_threads=
wrapper=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$(cd "$2" && pwd); shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --ccpayd-arg) ccpayd_args+=("$2"); shift 2 ;;
    --adapter-threads) adapter_threads=$2; shift 2 ;;
    --ccpayd-wrapper) read -r -a wrapper <<<"$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

run_dir=$(mktemp -d /tmp/ccpay-bench.XXXXXX)
chmod 700 "$run_dir"
[ -n "$data_dir" ] || data_dir=$run_dir/data
mkdir -p "$data_dir" "$run_dir/procsim" "$run_dir/sockets"
chmod 700 "$data_dir" "$run_dir/sockets"

ccpayd_pid=
procsim_pid=
# Stops one process we started: SIGTERM, then SIGKILL after 20 s.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
finish() {
  stop_pid "$ccpayd_pid"
  ccpayd_pid=
  stop_pid "$procsim_pid"
  procsim_pid=
  if [ "$keep" = 1 ]; then echo "bench.sh: run directory kept: $run_dir" >&2; else rm -rf "$run_dir"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

wait_for_file() { # FILE PID TENTHS
  for _ in $(seq 1 "$3"); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

"$build/bin/ccpay-procsim" --listen 127.0.0.1:0 --dir "$run_dir/procsim" \
  --port-file "$run_dir/procsim.port" --log-level warn >>"$run_dir/procsim.log" 2>&1 &
procsim_pid=$!
if ! wait_for_file "$run_dir/procsim.port" "$procsim_pid" 100; then
  echo "bench.sh: ccpay-procsim did not start" >&2
  cat "$run_dir/procsim.log" >&2
  exit 1
fi
procsim_port=$(cat "$run_dir/procsim.port")

(
  umask 077
  cat >"$run_dir/stripe.ini" <<INI
[processor]
base_url = https://127.0.0.1:$procsim_port
ca_file = $run_dir/procsim/ca.pem
secret_key = sk_test_procsim
INI
  cat >"$run_dir/ccpayd.ini" <<INI
[gateway]
socket_dir = $run_dir/sockets

[adapter.stripe]
config = $run_dir/stripe.ini
log_file = $run_dir/adapter-stripe.log
${adapter_threads:+threads = $adapter_threads}
INI
)

# An admin token made offline (ccpayd keeps only its hash).
(umask 077; "$build/bin/ccpay-admin" token create --data-dir "$data_dir" --role admin \
  --agent bench-admin >"$run_dir/token")

"${wrapper[@]}" "$build/bin/ccpayd" --config "$run_dir/ccpayd.ini" --listen 127.0.0.1:0 --plaintext \
  --data-dir "$data_dir" --port-file "$run_dir/ccpayd.port" "${ccpayd_args[@]}" \
  >>"$run_dir/ccpayd.log" 2>&1 &
ccpayd_pid=$!
if ! wait_for_file "$run_dir/ccpayd.port" "$ccpayd_pid" 600; then
  echo "bench.sh: ccpayd did not start" >&2
  tail -50 "$run_dir/ccpayd.log" >&2
  exit 1
fi
port=$(cat "$run_dir/ccpayd.port")
# The adapter must be up before the first card payment.
for _ in $(seq 1 300); do
  grep -q "event=adapter_up processor=stripe" "$run_dir/ccpayd.log" && break
  sleep 0.1
done
grep -q "event=adapter_up processor=stripe" "$run_dir/ccpayd.log" ||
  { echo "bench.sh: the stripe adapter did not come up" >&2; tail -50 "$run_dir/ccpayd.log" >&2; exit 1; }

echo "# ccpayd pid $ccpayd_pid on 127.0.0.1:$port, data $data_dir; procsim pid $procsim_pid"
status=0
"$build/bin/ccpay-bench" --target "127.0.0.1:$port" --token-file "$run_dir/token" "$@" || status=$?
# RssAnon is ccpayd's own memory; RssFile counts the database's pages mapped in (page
# cache shared with the kernel, reclaimable, and inflated by the kernel's fault-around).
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$ccpayd_pid/status" 2>/dev/null || echo "?"; }
echo "# ccpayd resident memory: $(status_kb VmRSS) kB (anonymous $(status_kb RssAnon) kB," \
  "database pages mapped $(status_kb RssFile) kB), peak $(status_kb VmHWM) kB"
echo "# database: $(du -sb "$data_dir/data.mdb" | cut -f1) bytes"
# A sanitizer build's report in any server log fails the run.
if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$run_dir"/*.log >/dev/null 2>&1; then
  echo "bench.sh: a sanitizer report in the servers' logs:" >&2
  grep -hE -A20 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$run_dir"/*.log | head -80 >&2
  [ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ]; then
  echo "bench.sh: ccpay-bench exited $status; the end of ccpayd's log:" >&2
  tail -30 "$run_dir/ccpayd.log" >&2
fi
exit "$status"
