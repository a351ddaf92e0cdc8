# shellcheck shell=bash
# The harness shared by the e2e scripts (customers_e2e.sh, orders_e2e.sh): ccpayd driven
# only with `buf curl` through server reflection (no .proto files), JSON in and out; node
# parses the replies.
#
# Use: a script runs `set -euo pipefail`, then `source "$(dirname "$0")/lib.sh" "$@"` with
# its own arguments, which must be CCPAYD BUF NODE (anything else exits 2 with a usage line).
#
# Sourcing sets:
#   CCPAYD BUF NODE  the three arguments (the daemon, buf, node)
#   CALL_TIMEOUT_S   bound on one buf curl (reflection included), in seconds
#   START_POLLS      x 0.1 s to wait for the port file
#   STOP_POLLS       x 0.1 s to wait for the exit after SIGTERM (the drain is 5 s)
#   WORK             a fresh temporary directory (mktemp -d /tmp/ccpay-e2e-XXXXXX) holding
#                    the data dir, port file, log and scratch files
#   LOG              $WORK/ccpayd.log, ccpayd's stdout and stderr
#   PID              the pid of the ccpayd this script started; "" when none is running
#   HELPER_PIDS      pids of other processes the script started (e.g. ccpay-procsim); the
#                    script appends to it
#   BUF_CACHE_DIR    (exported) $WORK/buf-cache, keeping buf's cache out of the home
#   ADMIN            ccpay-admin, next to CCPAYD
#   TOKEN            the bearer token buf_curl sends ("" sends none); start_server creates
#                    an admin token offline before the first start (agent e2e-admin)
#   SERVER_TLS       (array) ccpayd's TLS flags; empty means --plaintext and http://
#   CLIENT_TLS       (array) buf curl's TLS flags when SERVER_TLS is set (https://)
# and, once start_server returns:
#   URL              http://127.0.0.1:PORT of that ccpayd
#
# Functions:
#   fail MSG...                      print FAIL: MSG and exit 1
#   pass MSG...                      print ok - MSG
#   expect_eq ACTUAL EXPECTED WHAT   fail unless equal
#   expect_contains TEXT NEEDLE WHAT fail unless TEXT contains NEEDLE
#   field JSON PATH                  value at a dotted path ("a.0.b"); "" if absent
#   error_reason ERROR_JSON          the google.rpc.ErrorInfo reason of a buf curl error
#   buf_curl ARGS...                 buf curl, bounded, plaintext HTTP/2 gRPC, with
#                                    `authorization: Bearer $TOKEN` when TOKEN is set
#   make_token ROLE AGENT [DURATION] a new token of ROLE on stdout (ccpay-admin, offline)
#   call_ok METHOD JSON              the reply on stdout; fails the script on any error
#   call_error METHOD JSON           the gRPC error JSON on stdout; fails the script if the
#                                    call succeeds or the failure is not a gRPC error
#   count_items METHOD LIST_FIELD    how many LIST_FIELD items one {"pageSize": 200} page has
#   start_server [ARGS...]           start ccpayd on 127.0.0.1:0 (port file) with extra ARGS,
#                                    plaintext or SERVER_TLS; set PID and URL
#   stop_server                      SIGTERM, bounded wait, exit status must be 0
#   stop_server_checked              stop_server, fail on a sanitizer report in $LOG, pass
#
# Cleanup: sourcing installs an EXIT trap. On every exit it SIGKILLs only $PID and
# $HELPER_PIDS (the processes this script started, if still running) and reaps them, prints $LOG to stderr when the script
# is failing, removes $WORK, and exits with the script's status. Scripts must not replace
# the trap.

if (($# != 3)); then
  echo "usage: $0 CCPAYD BUF NODE" >&2
  exit 2
fi
CCPAYD=$1
BUF=$2
NODE=$3
ADMIN=$(dirname "$CCPAYD")/ccpay-admin
TOKEN=""
SERVER_TLS=() # ccpayd's TLS flags (--tls-cert ...); empty: --plaintext
CLIENT_TLS=() # buf curl's TLS flags (--cacert ...), used when SERVER_TLS is set
CALL_TIMEOUT_S=30 # one buf curl, reflection included
START_POLLS=100   # x 0.1 s for the port file
STOP_POLLS=150    # x 0.1 s for the exit after SIGTERM (the drain is 5 s)

WORK=$(mktemp -d /tmp/ccpay-e2e-XXXXXX)
LOG=$WORK/ccpayd.log
PID=""
HELPER_PIDS=()
URL=""
export BUF_CACHE_DIR=$WORK/buf-cache # keep buf's cache out of the user's home

# Runs on every exit: kills only the ccpayd this script started, shows its log when the
# script failed, and removes the work directory.
cleanup() {
  local rc=$?
  local pid
  for pid in $PID "${HELPER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if ((rc != 0)) && [[ -f $LOG ]]; then
    echo "---- ccpayd log: $LOG ----" >&2
    cat "$LOG" >&2
    echo "---- end of ccpayd log ----" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() { echo "ok - $*"; }

expect_eq() { # ACTUAL EXPECTED WHAT
  [[ $1 == "$2" ]] || fail "$3: got '$1', expected '$2'"
}

expect_contains() { # TEXT NEEDLE WHAT
  [[ $1 == *"$2"* ]] || fail "$3: '$2' not in: $1"
}

# Prints the value at a dotted path of a JSON document ("order.totals.total"); "" if
# absent (proto3 JSON leaves out zeros, so a zero amount reads as "").
field() { # JSON PATH
  "$NODE" -e '
    let value = JSON.parse(process.argv[1]);
    for (const key of process.argv[2].split(".")) value = value == null ? undefined : value[key];
    process.stdout.write(value == null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
  ' "$1" "$2"
}

# The ErrorInfo reason inside a buf curl error (details[].value is the base64 ErrorInfo:
# field 1, reason, is a length-prefixed string).
error_reason() { # ERROR_JSON
  "$NODE" -e '
    const error = JSON.parse(process.argv[1]);
    const info = (error.details || []).find((d) => d.type === "google.rpc.ErrorInfo");
    if (!info) process.exit(0);
    const bytes = Buffer.from(info.value, "base64");
    if (bytes[0] === 0x0a) process.stdout.write(bytes.subarray(2, 2 + bytes[1]).toString("utf8"));
  ' "$1"
}

buf_curl() { # ARGS...: bounded HTTP/2 gRPC, plaintext or (SERVER_TLS set) TLS
  local auth=() transport=(--http2-prior-knowledge)
  [[ -z $TOKEN ]] || auth=(-H "authorization: Bearer $TOKEN")
  ((${#SERVER_TLS[@]} == 0)) || transport=("${CLIENT_TLS[@]}")
  timeout "$CALL_TIMEOUT_S" "$BUF" curl --protocol grpc "${transport[@]}" "${auth[@]}" "$@"
}

make_token() { # ROLE AGENT [DURATION]
  local expires=()
  (($# < 3)) || expires=(--expires "$3")
  "$ADMIN" token create --data-dir "$WORK/data" --role "$1" --agent "$2" "${expires[@]}" \
    2>>"$LOG" || fail "ccpay-admin token create --role $1 failed"
}

# Calls METHOD with JSON; the reply goes to stdout; fails the script on any error.
call_ok() { # METHOD JSON
  local out
  out=$(buf_curl -d "$2" "$URL/$1" 2>"$WORK/stderr") ||
    fail "$1 $2 failed: $(cat "$WORK/stderr")"
  printf '%s' "$out"
}

# Calls METHOD with JSON that must be refused; the error JSON goes to stdout.
call_error() { # METHOD JSON
  local rc=0
  buf_curl -d "$2" "$URL/$1" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  ((rc != 0)) || fail "$1 $2 succeeded: $(cat "$WORK/stdout")"
  # buf curl prints the gRPC error as JSON (on stderr); anything else is a transport failure.
  "$NODE" -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$WORK/stderr" ||
    fail "$1: not a gRPC error (exit $rc): $(cat "$WORK/stderr")"
  cat "$WORK/stderr"
}

# The number of LIST_FIELD items in the first page (200) that a list METHOD answers.
count_items() { # METHOD LIST_FIELD
  local page
  page=$(call_ok "$1" '{"pageSize": 200}')
  "$NODE" -e 'process.stdout.write(String((JSON.parse(process.argv[1])[process.argv[2]] || []).length))' \
    "$page" "$2"
}

start_server() {
  [[ -n $TOKEN ]] || TOKEN=$(make_token admin e2e-admin)
  local transport=(--plaintext) scheme=http
  ((${#SERVER_TLS[@]} == 0)) || transport=("${SERVER_TLS[@]}") scheme=https
  rm -f "$WORK/port"
  "$CCPAYD" --listen 127.0.0.1:0 "${transport[@]}" --data-dir "$WORK/data" \
    --port-file "$WORK/port" "$@" >>"$LOG" 2>&1 &
  PID=$!
  local i
  for ((i = 0; i < START_POLLS; i++)); do
    [[ -s $WORK/port ]] && break
    kill -0 "$PID" 2>/dev/null || fail "ccpayd exited before serving"
    sleep 0.1
  done
  [[ -s $WORK/port ]] || fail "no port file after $((START_POLLS / 10)) s"
  URL="$scheme://127.0.0.1:$(cat "$WORK/port")"
}

stop_server() { # graceful: SIGTERM, bounded wait, exit status 0
  kill -TERM "$PID"
  local i
  for ((i = 0; i < STOP_POLLS; i++)); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PID" 2>/dev/null && fail "ccpayd still running $((STOP_POLLS / 10)) s after SIGTERM"
  local status=0
  wait "$PID" || status=$?
  PID=""
  expect_eq "$status" 0 "ccpayd exit status after SIGTERM"
}

# The last step of a script: a graceful stop and no sanitizer report in the log.
stop_server_checked() {
  stop_server
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
    fail "sanitizer report in the ccpayd log"
  fi
  pass "ccpayd stopped cleanly on SIGTERM"
}
