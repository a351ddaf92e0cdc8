#!/usr/bin/env bash
# End-to-end: orders and the ledger as an outside client sees them. ccpayd is driven only
# with `buf curl` through server reflection (no .proto files), JSON in and out; node
# parses the replies. Usage: orders_e2e.sh CCPAYD BUF NODE
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 CCPAYD BUF NODE" >&2
  exit 2
fi
CCPAYD=$1
BUF=$2
NODE=$3
CALL_TIMEOUT_S=30 # one buf curl, reflection included
START_POLLS=100   # x 0.1 s for the port file
STOP_POLLS=150    # x 0.1 s for the exit after SIGTERM (the drain is 5 s)

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

order_count() {
  local page
  page=$(call_ok ccpay.v1.OrderService/ListOrders '{"pageSize": 200}')
  "$NODE" -e 'process.stdout.write(String((JSON.parse(process.argv[1]).orders || []).length))' "$page"
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
for method in CreateOrder GetOrder ListOrders UpdateOrderLines CalculateOrder HoldOrder \
  ReleaseHold SubmitOrder InvoiceOrder GetInvoice CancelOrder CancelLines; do
  expect_contains "$methods" "ccpay.v1.OrderService/$method" "reflection"
done
for method in ListEntries StreamEntries GetTrialBalance GetAccount; do
  expect_contains "$methods" "ccpay.v1.LedgerService/$method" "reflection"
done
pass "reflection lists every OrderService and LedgerService method"

customer=$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-customer-1", "customer": {"name": "Olive Order",
    "currencyCode": "USD", "paymentTermsDays": 30}}')
customer_id=$(field "$customer" id)
[[ $customer_id =~ ^cus_[0-9A-Z]{13}$ ]] || fail "CreateCustomer id '$customer_id'"
expect_eq "$(field "$customer" paymentTermsDays)" 30 "payment terms"

# In cents: line 1 is 2 × 19.99 = 3998 with tax 8.25 % = 329.835 → 330; line 2 is
# 1 × 5.00 untaxed; SHIPPING 7.50 with tax 8.25 % = 61.875 → 62.
# Total 3998 + 500 + 750 + 330 + 62 = 5640.
TOTAL=5640
order=$(call_ok ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"e2e-order-1\",
  \"order\": {\"customerId\": \"$customer_id\", \"currencyCode\": \"USD\",
    \"sourceCode\": \"WEB\", \"type\": \"ORDER_TYPE_SALES\",
    \"lines\": [
      {\"sku\": \"MUG\", \"quantity\": \"2\", \"unitPrice\": {\"amountMinor\": \"1999\"},
       \"taxRateBp\": 825},
      {\"sku\": \"CARD\", \"quantity\": \"1\", \"unitPrice\": {\"amountMinor\": \"500\"}}],
    \"charges\": [{\"code\": \"SHIPPING\", \"amount\": {\"amountMinor\": \"750\"},
      \"taxRateBp\": 825}]}}")
order_id=$(field "$order" id)
[[ $order_id =~ ^ord_[0-9A-Z]{13}$ ]] || fail "CreateOrder id '$order_id'"
expect_eq "$(field "$order" status)" ORDER_STATUS_OPEN "new order status"
expect_eq "$(field "$order" totals.taxTotal.amountMinor)" 392 "tax total"
expect_eq "$(field "$order" totals.total.amountMinor)" $TOTAL "order total"
calculated=$(call_ok ccpay.v1.OrderService/CalculateOrder "{\"orderId\": \"$order_id\"}")
expect_eq "$(field "$calculated" total.amountMinor)" $TOTAL "CalculateOrder total"
pass "CreateOrder totals $TOTAL cents ($order_id)"

submitted=$(call_ok ccpay.v1.OrderService/SubmitOrder \
  "{\"requestId\": \"e2e-submit-1\", \"orderId\": \"$order_id\"}")
expect_eq "$(field "$submitted" status)" ORDER_STATUS_SUBMITTED "submitted status"
invoiced=$(call_ok ccpay.v1.OrderService/InvoiceOrder "{\"requestId\": \"e2e-invoice-1\",
  \"orderId\": \"$order_id\",
  \"lines\": [{\"lineNumber\": 1, \"quantity\": \"2\"}, {\"lineNumber\": 2, \"quantity\": \"1\"}]}")
expect_eq "$(field "$invoiced" order.status)" ORDER_STATUS_INVOICED "invoiced status"
expect_eq "$(field "$invoiced" invoice.total.amountMinor)" $TOTAL "invoice total"
expect_eq "$(field "$invoiced" invoice.entrySequence)" 1 "invoice entry sequence"
pass "SubmitOrder then InvoiceOrder of everything: INVOICED"

got=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$customer_id\"}")
expect_eq "$(field "$got" balance.amountMinor)" $TOTAL "customer balance"
pass "the customer's balance is the order total"

trial=$(call_ok ccpay.v1.LedgerService/GetTrialBalance '{}')
expect_eq "$(field "$trial" asOfSequence)" 1 "trial balance as_of_sequence"
expect_eq "$(field "$trial" totals.0.currencyCode)" USD "trial balance currency"
nonzero=$("$NODE" -e '
  const totals = JSON.parse(process.argv[1]).totals || [];
  process.stdout.write(totals.filter((t) => (t.amountMinor || "0") !== "0").map(JSON.stringify).join(" "));
' "$trial")
expect_eq "$nonzero" "" "trial balance totals that are not zero"
pass "the trial balance sums to zero"

# A replay of the journal (a server stream) through reflection ends OK.
entries=$(call_ok ccpay.v1.LedgerService/StreamEntries '{"afterSequence": "0"}')
expect_contains "$entries" '"sequence": "1"' "StreamEntries replay"
expect_contains "$entries" '"kind": "ORDER_INVOICED"' "StreamEntries replay"
pass "StreamEntries replays the invoice's entry"

# A bad order names the field, with the reason in the rich status, and creates nothing.
error=$(call_error ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"e2e-bad-1\",
  \"order\": {\"customerId\": \"$customer_id\", \"currencyCode\": \"USD\",
    \"sourceCode\": \"WEB\", \"type\": \"ORDER_TYPE_SALES\",
    \"lines\": [{\"sku\": \"MUG\", \"quantity\": \"0\", \"unitPrice\": {\"amountMinor\": \"1999\"}}]}}")
expect_eq "$(field "$error" code)" invalid_argument "quantity 0: code"
expect_contains "$(field "$error" message)" "order.lines[0].quantity" "quantity 0: message"
expect_eq "$(error_reason "$error")" FIELD_OUT_OF_RANGE "quantity 0: ErrorInfo reason"
expect_eq "$(order_count)" 1 "orders after a refused create"
pass "quantity 0 is invalid_argument naming order.lines[0].quantity"

stop_server
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
  fail "sanitizer report in the ccpayd log"
fi
pass "ccpayd stopped cleanly on SIGTERM"
