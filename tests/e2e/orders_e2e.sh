#!/usr/bin/env bash
# End-to-end: orders and the ledger as an outside client sees them. ccpayd is driven only
# with `buf curl` through server reflection (no .proto files), JSON in and out; node
# parses the replies. Usage: orders_e2e.sh CCPAYD BUF NODE
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

order_count() { count_items ccpay.v1.OrderService/ListOrders orders; }

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

stop_server_checked
