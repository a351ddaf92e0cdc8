#!/usr/bin/env bash
# End-to-end: security as an outside client sees it, with `buf curl` only. TLS with a CA,
# server and client certificates made here by OpenSSL; mutual TLS; plaintext refused off
# loopback and TLS required otherwise; bearer tokens and roles; a card number in any
# free-text field refused and found in no file of the data directory nor in the log.
# Usage: security_e2e.sh CCPAYD BUF NODE
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# --- Certificates: a CA, a server certificate for 127.0.0.1, a client certificate ---------
pki=$WORK/pki
mkdir -p "$pki"
openssl_quiet() { openssl "$@" 2>>"$WORK/openssl.log" || fail "openssl $1 failed: $(cat "$WORK/openssl.log")"; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ccpay test CA" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem"
issue() { # NAME CN EXTENSIONS
  openssl_quiet req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$pki/$1.key" -out "$pki/$1.csr"
  printf '%s\n' "$3" >"$pki/$1.ext"
  openssl_quiet x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
issue server localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
issue client csr-terminal-7 "extendedKeyUsage=clientAuth"
# Another CA's client certificate: mutual TLS must refuse it.
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stranger" \
  -keyout "$pki/stranger.key" -out "$pki/stranger.pem"
pass "OpenSSL made a CA, a server and a client certificate"

# --- Transport settings refused at start --------------------------------------------------
refused() { # WHAT NEEDLE ARGS...
  local what=$1 needle=$2 rc=0 out
  shift 2
  out=$("$CCPAYD" --data-dir "$WORK/refused" --port-file "$WORK/refused.port" "$@" 2>&1) || rc=$?
  expect_eq "$rc" 2 "exit status of ccpayd with $what"
  expect_contains "$out" "$needle" "the message for $what"
  [[ ! -e $WORK/refused.port ]] || fail "ccpayd served with $what"
}
refused "plaintext on 0.0.0.0" "not a loopback address" --listen 0.0.0.0:0 --plaintext
refused "neither TLS nor plaintext" "--tls-cert and --tls-key are required" --listen 127.0.0.1:0
refused "plaintext and TLS" "cannot be combined" --listen 127.0.0.1:0 --plaintext \
  --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
pass "plaintext only on loopback, TLS otherwise: anything else refused at start"

# --- TLS ------------------------------------------------------------------------------
SERVER_TLS=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key")
CLIENT_TLS=(--cacert "$pki/ca.pem")
start_server
expect_contains "$URL" "https://" "URL under TLS"
health=$(call_ok grpc.health.v1.Health/Check '{}')
expect_eq "$(field "$health" status)" SERVING "Health/Check over TLS"
methods=$(buf_curl --list-methods "$URL")
expect_contains "$methods" "ccpay.v1.AdminService/StreamAudit" "reflection over TLS"
created=$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "tls-1", "customer": {"name": "Tess Layer", "currencyCode": "USD"}}')
expect_eq "$(field "$created" audit.createdBy)" e2e-admin "createdBy of a customer made over TLS"
# A client that does not trust the server's CA gets no answer.
CLIENT_TLS=()
if buf_curl -d '{}' "$URL/grpc.health.v1.Health/Check" >/dev/null 2>&1; then
  fail "a client without the CA trusted the server"
fi
pass "TLS: buf curl with the CA is served; without it the handshake fails"
stop_server

# --- Mutual TLS ---------------------------------------------------------------------------
SERVER_TLS=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-client-ca "$pki/ca.pem")
CLIENT_TLS=(--cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key")
start_server
call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$(field "$created" id)\"}" >/dev/null
CLIENT_TLS=(--cacert "$pki/ca.pem")
if buf_curl -d '{}' "$URL/grpc.health.v1.Health/Check" >/dev/null 2>&1; then
  fail "mutual TLS served a client without a certificate"
fi
CLIENT_TLS=(--cacert "$pki/ca.pem" --cert "$pki/stranger.pem" --key "$pki/stranger.key")
if buf_curl -d '{}' "$URL/grpc.health.v1.Health/Check" >/dev/null 2>&1; then
  fail "mutual TLS served a client whose certificate another CA signed"
fi
pass "mutual TLS: a client certificate from the CA is required"
CLIENT_TLS=(--cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key")

# --- Tokens and roles -----------------------------------------------------------------------
admin_token=$TOKEN
TOKEN=""
error=$(call_error ccpay.v1.CustomerService/SearchCustomers '{}')
expect_eq "$(error_reason "$error")" UNAUTHENTICATED "a call without a token"
TOKEN=$(make_token support support-1)
call_ok ccpay.v1.CustomerService/SearchCustomers '{}' >/dev/null
error=$(call_error ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "sup-1", "customer": {"name": "Nope", "currencyCode": "USD"}}')
expect_eq "$(error_reason "$error")" PERMISSION_DENIED "support creating a customer"
expect_contains "$error" "customers.write" "the permission named"
pass "tokens: none is UNAUTHENTICATED; support reads but may not write"
TOKEN=$admin_token

# --- Card numbers in free text --------------------------------------------------------------
pan="4111 1111 1111 1111"
customer=$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "pan-c", "customer": {"name": "Card Holder", "currencyCode": "USD"}}')
cid=$(field "$customer" id)
order=$(call_ok ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"pan-o\", \"order\": {
  \"customerId\": \"$cid\", \"currencyCode\": \"USD\", \"sourceCode\": \"PHONE\", \"type\": \"ORDER_TYPE_SALES\",
  \"lines\": [{\"sku\": \"MUG\", \"quantity\": 1, \"unitPrice\": {\"currencyCode\": \"USD\", \"amountMinor\": 500}}]}}")
oid=$(field "$order" id)
line='"lines": [{"sku": "MUG", "quantity": 1, "unitPrice": {"currencyCode": "USD", "amountMinor": 500}}]'
refuse_pan() { # METHOD JSON WHAT
  local error
  error=$(call_error "$1" "$2")
  expect_eq "$(error_reason "$error")" CARD_NUMBER_IN_TEXT "a card number in $3"
}
n=0
for field_json in "\"name\": \"$pan\", \"currencyCode\": \"USD\"" \
  "\"name\": \"A\", \"email\": \"4111-1111-1111-1111@example.com\", \"currencyCode\": \"USD\"" \
  "\"name\": \"A\", \"phone\": \"$pan\", \"currencyCode\": \"USD\""; do
  n=$((n + 1))
  refuse_pan ccpay.v1.CustomerService/CreateCustomer \
    "{\"requestId\": \"pan-$n\", \"customer\": {$field_json}}" "customer field $n"
done
refuse_pan ccpay.v1.CustomerService/UpdateCustomer \
  "{\"requestId\": \"pan-u\", \"customer\": {\"id\": \"$cid\", \"name\": \"$pan\"}, \"updateMask\": [\"name\"]}" \
  "UpdateCustomer name"
order_with() { # EXTRA-ORDER-FIELDS LINES
  printf '{"requestId": "pan-o%s", "order": {"customerId": "%s", "currencyCode": "USD", "type": "ORDER_TYPE_SALES", %s, %s}}' \
    "$RANDOM" "$cid" "$1" "$2"
}
refuse_pan ccpay.v1.OrderService/CreateOrder "$(order_with "\"sourceCode\": \"$pan\"" "$line")" "source_code"
refuse_pan ccpay.v1.OrderService/CreateOrder "$(order_with '"sourceCode": "PHONE"' \
  "\"lines\": [{\"sku\": \"4111111111111111\", \"quantity\": 1, \"unitPrice\": {\"currencyCode\": \"USD\", \"amountMinor\": 500}}]")" "sku"
refuse_pan ccpay.v1.OrderService/CreateOrder "$(order_with '"sourceCode": "PHONE"' \
  "\"lines\": [{\"sku\": \"MUG\", \"description\": \"card $pan\", \"quantity\": 1, \"unitPrice\": {\"currencyCode\": \"USD\", \"amountMinor\": 500}}]")" "line description"
refuse_pan ccpay.v1.OrderService/CreateOrder "$(order_with '"sourceCode": "PHONE"' \
  "$line, \"charges\": [{\"code\": \"4111111111111111\", \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": 100}}]")" "charge code"
refuse_pan ccpay.v1.OrderService/CreateOrder "$(order_with '"sourceCode": "PHONE"' \
  "$line, \"charges\": [{\"code\": \"SHIPPING\", \"description\": \"$pan\", \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": 100}}]")" "charge description"
refuse_pan ccpay.v1.OrderService/UpdateOrderLines \
  "{\"requestId\": \"pan-ul\", \"orderId\": \"$oid\", \"lines\": [{\"sku\": \"MUG\", \"description\": \"$pan\", \"quantity\": 1, \"unitPrice\": {\"currencyCode\": \"USD\", \"amountMinor\": 500}}]}" \
  "UpdateOrderLines description"
refuse_pan ccpay.v1.OrderService/HoldOrder \
  "{\"requestId\": \"pan-h1\", \"orderId\": \"$oid\", \"holdCode\": \"4111111111111111\"}" "hold_code"
refuse_pan ccpay.v1.OrderService/HoldOrder \
  "{\"requestId\": \"pan-h2\", \"orderId\": \"$oid\", \"holdCode\": \"FRAUD\", \"reason\": \"$pan\"}" "hold reason"
refuse_pan ccpay.v1.OrderService/CancelOrder \
  "{\"requestId\": \"pan-x1\", \"orderId\": \"$oid\", \"reason\": \"$pan\"}" "cancel reason"
refuse_pan ccpay.v1.OrderService/CancelLines \
  "{\"requestId\": \"pan-x2\", \"orderId\": \"$oid\", \"reason\": \"$pan\", \"lineNumbers\": [1]}" \
  "cancel lines reason"
check='"tenderType": "TENDER_TYPE_CHECK", "amount": {"currencyCode": "USD", "amountMinor": 500}'
refuse_pan ccpay.v1.OrderService/AddPayment \
  "{\"requestId\": \"pan-p1\", \"orderId\": \"$oid\", \"payment\": {$check, \"checkNumber\": \"4111111111111111\"}}" \
  "check_number"
refuse_pan ccpay.v1.OrderService/AddPayment \
  "{\"requestId\": \"pan-p2\", \"orderId\": \"$oid\", \"payment\": {$check, \"checkNumber\": \"1001\", \"reference\": \"$pan\"}}" \
  "payment reference"
refuse_pan ccpay.v1.PaymentService/Refund \
  "{\"requestId\": \"pan-r\", \"paymentId\": \"pay_0000000000001\", \"reason\": \"$pan\"}" "refund reason"
refuse_pan ccpay.v1.StoredValueService/IssueValue \
  "{\"requestId\": \"pan-s\", \"kind\": \"STORED_VALUE_KIND_GIFT_CARD\", \"number\": \"4111111111111111\", \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": 500}}" \
  "stored value number"
refuse_pan ccpay.v1.AdminService/CreateToken \
  "{\"requestId\": \"pan-t\", \"token\": {\"role\": \"csr\", \"agentId\": \"4111111111111111\"}}" "agent_id"
pass "a card number in every free-text field is refused with CARD_NUMBER_IN_TEXT"

# The audit trail through buf curl: the changes of this session, who made them and how
# they ended; the failed authentication too.
audit=$(buf_curl -d '{}' "$URL/ccpay.v1.AdminService/StreamAudit" 2>"$WORK/stderr") ||
  fail "StreamAudit: $(cat "$WORK/stderr")"
summary=$("$NODE" -e '
  const text = process.argv[1];
  const records = [];
  let depth = 0, start = -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "{") { if (depth++ === 0) start = i; }
    else if (text[i] === "}" && --depth === 0) records.push(JSON.parse(text.slice(start, i + 1)));
  }
  records.forEach((r, i) => { if (Number(r.sequence) !== i + 1) throw new Error("gap at " + i); });
  process.stdout.write(records.map((r) => `${r.method}|${r.agentId || ""}|${r.outcome}`).join("\n"));
' "$audit")
expect_contains "$summary" "/ccpay.v1.CustomerService/CreateCustomer|e2e-admin|OK" "audit of CreateCustomer"
expect_contains "$summary" "/ccpay.v1.OrderService/CreateOrder|e2e-admin|OK" "audit of CreateOrder"
expect_contains "$summary" "/ccpay.v1.CustomerService/SearchCustomers||UNAUTHENTICATED" \
  "audit of the failed authentication"
expect_contains "$summary" "ccpay-admin token create|ccpay-admin|OK" "audit of the offline tokens"
pass "StreamAudit replays the session's changes in sequence, failed authentication included"

stop_server
# Nothing of it was stored or logged, nor any token.
for needle in "4111111111111111" "4111 1111 1111 1111" "4111-1111-1111-1111"; do
  if grep -rqaF -- "$needle" "$WORK/data" "$LOG"; then
    fail "\"$needle\" is in $(grep -rlaF -- "$needle" "$WORK/data" "$LOG" | head -1)"
  fi
done
if grep -qaF -- "$admin_token" "$LOG" || grep -rqaF -- "$admin_token" "$WORK/data"; then
  fail "a token is in the log or the data directory"
fi
pass "no card number and no token in the data directory or the log"

verify=$("$ADMIN" verify --data-dir "$WORK/data") || fail "verify: $verify"
expect_contains "$verify" "ok:" "ccpay-admin verify"
pass "ccpay-admin verify: the audit trail has no gap"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"; then
  fail "sanitizer report in the ccpayd log"
fi
