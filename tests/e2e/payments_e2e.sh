#!/usr/bin/env bash
# End-to-end: a card payment as an outside client sees it. ccpay-procsim runs as the
# processor, ccpayd runs the real Stripe adapter against it, and the client is `buf curl`
# through server reflection only (no .proto files), JSON in and out.
# Usage: payments_e2e.sh CCPAYD BUF NODE, with CCPAY_PROCSIM naming ccpay-procsim (the
# adapter is found next to ccpayd).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
[[ -x ${CCPAY_PROCSIM:-} ]] || fail "CCPAY_PROCSIM must name the ccpay-procsim binary"

# The sandbox, on an ephemeral loopback port; its certificate lands in $WORK/procsim.
mkdir -m 700 "$WORK/procsim"
"$CCPAY_PROCSIM" --listen 127.0.0.1:0 --dir "$WORK/procsim" --port-file "$WORK/procsim.port" \
  >>"$WORK/procsim.log" 2>&1 &
HELPER_PIDS+=($!)
for ((i = 0; i < START_POLLS; i++)); do
  [[ -s $WORK/procsim.port ]] && break
  sleep 0.1
done
[[ -s $WORK/procsim.port ]] || fail "ccpay-procsim wrote no port file"
procsim_port=$(cat "$WORK/procsim.port")

# The Stripe adapter's config (0600: it holds the key) and ccpayd's, naming it.
(
  umask 077
  cat >"$WORK/stripe.ini" <<INI
[processor]
base_url = https://127.0.0.1:$procsim_port
ca_file = $WORK/procsim/ca.pem
secret_key = sk_test_procsim
INI
  cat >"$WORK/ccpayd.ini" <<INI
[adapter.stripe]
config = $WORK/stripe.ini
INI
)
start_server --config "$WORK/ccpayd.ini"

methods=$(buf_curl --list-methods "$URL")
for method in GetPayment ListPayments ListTransactions Authorize Capture Void Refund \
  SyncTransaction; do
  expect_contains "$methods" "ccpay.v1.PaymentService/$method" "reflection"
done
expect_contains "$methods" "ccpay.v1.OrderService/AddPayment" "reflection"
pass "reflection lists every PaymentService method"

customer_id=$(field "$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-pay-customer", "customer": {"name": "Paula Payer", "currencyCode": "USD"}}')" id)

# An order of 2 × 12.50 = 25.00, paid by a Stripe test card token.
new_order() { # REQUEST_ID → order id
  field "$(call_ok ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"$1\",
    \"order\": {\"customerId\": \"$customer_id\", \"currencyCode\": \"USD\",
      \"sourceCode\": \"PHONE\", \"type\": \"ORDER_TYPE_SALES\",
      \"lines\": [{\"sku\": \"MUG\", \"quantity\": \"2\",
                   \"unitPrice\": {\"amountMinor\": \"1250\"}}]}}")" id
}
add_card() { # REQUEST_ID ORDER_ID TOKEN → payment id
  field "$(call_ok ccpay.v1.OrderService/AddPayment "{\"requestId\": \"$1\", \"orderId\": \"$2\",
    \"payment\": {\"tenderType\": \"TENDER_TYPE_CARD\",
      \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"2500\"},
      \"card\": {\"processor\": \"stripe\", \"token\": \"$3\", \"brand\": \"visa\",
                 \"last4\": \"4242\", \"expMonth\": 12, \"expYear\": 2030}}}")" id
}

order_id=$(new_order e2e-pay-order-1)
payment_id=$(add_card e2e-pay-card-1 "$order_id" pm_card_visa)
submitted=$(call_ok ccpay.v1.OrderService/SubmitOrder "{\"requestId\": \"e2e-pay-submit-1\", \"orderId\": \"$order_id\"}")
expect_eq "$(field "$submitted" status)" ORDER_STATUS_SUBMITTED "order after SubmitOrder"
payment=$(call_ok ccpay.v1.PaymentService/GetPayment "{\"id\": \"$payment_id\"}")
expect_eq "$(field "$payment" status)" PAYMENT_STATUS_AUTHORIZED "payment after SubmitOrder"
expect_eq "$(field "$payment" card.token)" "" "card token in a reply"
pass "SubmitOrder authorized the card through the Stripe adapter"

invoiced=$(call_ok ccpay.v1.OrderService/InvoiceOrder "{\"requestId\": \"e2e-pay-invoice-1\",
  \"orderId\": \"$order_id\", \"lines\": [{\"lineNumber\": 1, \"quantity\": \"2\"}]}")
expect_eq "$(field "$invoiced" captures.0.state)" TRANSACTION_STATE_SUCCEEDED "capture"
expect_eq "$(field "$invoiced" captures.0.amount.amountMinor)" 2500 "captured amount"
pass "InvoiceOrder captured the invoiced 25.00"

refunded=$(call_ok ccpay.v1.PaymentService/Refund "{\"requestId\": \"e2e-pay-refund-1\",
  \"paymentId\": \"$payment_id\", \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"1000\"}}")
expect_eq "$(field "$refunded" refunded.amountMinor)" 1000 "refunded"
error=$(call_error ccpay.v1.PaymentService/Refund "{\"requestId\": \"e2e-pay-refund-2\",
  \"paymentId\": \"$payment_id\", \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"2000\"}}")
expect_eq "$(error_reason "$error")" AMOUNT_EXCEEDED "refund over what is left"
pass "Refund returns part of it to the card, and no more than was captured"

# A declined card: the order stays open with the processor's decline code.
declined_order=$(new_order e2e-pay-order-2)
add_card e2e-pay-card-2 "$declined_order" pm_card_visa_chargeDeclinedInsufficientFunds >/dev/null
error=$(call_error ccpay.v1.OrderService/SubmitOrder "{\"requestId\": \"e2e-pay-submit-2\", \"orderId\": \"$declined_order\"}")
expect_eq "$(error_reason "$error")" PAYMENT_DECLINED "declined card"
expect_contains "$error" insufficient_funds "decline code"
pass "a declined card answers PAYMENT_DECLINED with the processor's code"

ledger=$(curl -sS --cacert "$WORK/procsim/ca.pem" "https://127.0.0.1:$procsim_port/procsim/ledger")
expect_contains "$ledger" '"captured":2500' "procsim's capture"
expect_contains "$ledger" '"refunded":1000' "procsim's refund"
pass "the sandbox holds the same money as ccpay"

stop_server_checked
