#!/usr/bin/env bash
# End-to-end: the customer API as an outside client sees it. ccpayd is driven only with
# `buf curl` through server reflection (no .proto files), JSON in and out; node parses
# the replies. Usage: customers_e2e.sh CCPAYD BUF NODE
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 CCPAYD BUF NODE" >&2
  exit 2
fi
CCPAYD=$1
BUF=$2
NODE=$3
CALL_TIMEOUT_S=30    # one buf curl, reflection included
START_POLLS=100      # x 0.1 s for the port file
STOP_POLLS=150       # x 0.1 s for the exit after SIGTERM (the drain is 5 s)

WORK=$(mktemp -d /tmp/ccpay-e2e-XXXXXX)
LOG=$WORK/ccpayd.log
PID=""
export BUF_CACHE_DIR=$WORK/buf-cache # keep buf's cache out of the user's home

# Runs on every exit: kills only the ccpayd this script started, shows its log when the
# script failed, and removes the work directory.
cleanup() {
  local rc=$?
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
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

# Prints the value at a dotted path of a JSON document ("customers.0.id"); "" if absent.
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

buf_curl() { # ARGS...: bounded, plaintext HTTP/2 gRPC
  timeout "$CALL_TIMEOUT_S" "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"
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

customer_count() {
  local page
  page=$(call_ok ccpay.v1.CustomerService/SearchCustomers '{"pageSize": 200}')
  "$NODE" -e 'process.stdout.write(String((JSON.parse(process.argv[1]).customers || []).length))' "$page"
}

start_server() {
  "$CCPAYD" --listen 127.0.0.1:0 --plaintext --data-dir "$WORK/data" \
    --port-file "$WORK/port" >>"$LOG" 2>&1 &
  PID=$!
  local i
  for ((i = 0; i < START_POLLS; i++)); do
    [[ -s $WORK/port ]] && break
    kill -0 "$PID" 2>/dev/null || fail "ccpayd exited before serving"
    sleep 0.1
  done
  [[ -s $WORK/port ]] || fail "no port file after $((START_POLLS / 10)) s"
  URL="http://127.0.0.1:$(cat "$WORK/port")"
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

start_server

# Reflection lists the services: nothing below uses a .proto file.
methods=$(buf_curl --list-methods "$URL")
expect_contains "$methods" "ccpay.v1.CustomerService/CreateCustomer" "reflection"
expect_contains "$methods" "grpc.health.v1.Health/Check" "reflection"
pass "reflection lists CustomerService and Health"

health=$(call_ok grpc.health.v1.Health/Check '{}')
expect_eq "$(field "$health" status)" SERVING "Health/Check"
pass "Health/Check answers SERVING"

# Create, then read back.
create='{"requestId": "e2e-create-1", "customer": {"name": "Erin Example",
  "email": "erin@example.com", "currencyCode": "EUR", "creditLimit": {"amountMinor": "2500"}}}'
created=$(call_ok ccpay.v1.CustomerService/CreateCustomer "$create")
id=$(field "$created" id)
[[ $id =~ ^cus_[0-9A-Z]{13}$ ]] || fail "CreateCustomer id '$id' is not cus_ and 13 characters"
expect_eq "$(field "$created" version)" 1 "version of a new customer"
expect_eq "$(field "$created" creditLimit.currencyCode)" EUR "credit limit currency"
expect_eq "$(field "$created" balance.currencyCode)" EUR "balance currency"
got=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$id\"}")
expect_eq "$(field "$got" id)" "$id" "GetCustomer id"
expect_eq "$(field "$got" name)" "Erin Example" "GetCustomer name"
expect_eq "$(field "$got" email)" "erin@example.com" "GetCustomer email"
expect_eq "$(field "$got" creditLimit.amountMinor)" 2500 "GetCustomer credit limit"
pass "CreateCustomer then GetCustomer round-trips ($id)"

# A bad request names the field, with the reason in the rich status.
error=$(call_error ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-bad-1", "customer": {"name": "", "currencyCode": "EUR"}}')
expect_eq "$(field "$error" code)" invalid_argument "empty name: code"
expect_contains "$(field "$error" message)" "customer.name" "empty name: message"
expect_eq "$(error_reason "$error")" FIELD_REQUIRED "empty name: ErrorInfo reason"
expect_eq "$(customer_count)" 1 "customers after a refused create"
pass "an empty name is invalid_argument naming customer.name"

# A retry answers the same customer and creates nothing.
retried=$(call_ok ccpay.v1.CustomerService/CreateCustomer "$create")
expect_eq "$(field "$retried" id)" "$id" "retried CreateCustomer id"
expect_eq "$(customer_count)" 1 "customers after a retry"
pass "a retried request_id answers the same customer"

# The same request_id for another request is refused.
error=$(call_error ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-create-1", "customer": {"name": "Someone Else", "currencyCode": "EUR"}}')
expect_eq "$(field "$error" code)" failed_precondition "reused request_id: code"
expect_contains "$(field "$error" message)" "request_id" "reused request_id: message"
expect_eq "$(error_reason "$error")" IDEMPOTENCY_KEY_REUSED "reused request_id: ErrorInfo reason"
expect_eq "$(customer_count)" 1 "customers after a refused reuse"
pass "the same request_id with another body is refused"

stop_server
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
  fail "sanitizer report in the ccpayd log"
fi
pass "ccpayd stopped cleanly on SIGTERM"
