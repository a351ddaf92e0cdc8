#!/usr/bin/env bash
# End-to-end: the seed's overpaid order as the payments department works it with
# `buf curl` through reflection only. An order of $69.99 paid by a $100.00 prepaid check
# lands in the out-of-balance queue at SubmitOrder; ReleaseOrder refunds the excess;
# invoicing leaves the customer at -30.01 with an auto-approved refund check; posting it
# brings the balance to zero.
# Usage: balance_review_e2e.sh CCPAYD BUF NODE
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

start_server

methods=$(buf_curl --list-methods "$URL")
for method in ListOutOfBalanceOrders ReleaseOrder CancelOrder ListRefundChecks \
  ApproveRefundCheck PostRefundCheck VoidRefundCheck; do
  expect_contains "$methods" "ccpay.v1.BalanceReviewService/$method" "reflection"
done
pass "reflection lists every BalanceReviewService method"

call_ok ccpay.v1.AdminService/UpdateParameters '{"requestId": "e2e-obr-params",
  "parameters": {"allowOutOfBalance": true,
    "overUnderMax": [{"currencyCode": "USD", "amountMinor": "0"}],
    "refundCheckApprovalThreshold": [{"currencyCode": "USD", "amountMinor": "10000"}]},
  "updateMask": ["allow_out_of_balance", "over_under_max", "refund_check_approval_threshold"]}' \
  >/dev/null

customer_id=$(field "$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-obr-customer", "customer": {"name": "Olga Over", "currencyCode": "USD"}}')" id)
order_id=$(field "$(call_ok ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"e2e-obr-order\",
  \"order\": {\"customerId\": \"$customer_id\", \"currencyCode\": \"USD\",
    \"sourceCode\": \"PHONE\", \"type\": \"ORDER_TYPE_SALES\",
    \"lines\": [{\"sku\": \"LAMP\", \"quantity\": \"1\", \"unitPrice\": {\"amountMinor\": \"6999\"}}]}}")" id)
call_ok ccpay.v1.OrderService/AddPayment "{\"requestId\": \"e2e-obr-check\", \"orderId\": \"$order_id\",
  \"payment\": {\"tenderType\": \"TENDER_TYPE_CHECK\", \"checkNumber\": \"3310\", \"prepay\": true,
    \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"10000\"}}}" >/dev/null

submitted=$(call_ok ccpay.v1.OrderService/SubmitOrder "{\"requestId\": \"e2e-obr-submit\", \"orderId\": \"$order_id\"}")
expect_eq "$(field "$submitted" hold.code)" OUT_OF_BALANCE "hold after SubmitOrder"
expect_contains "$(field "$submitted" balanceReview.message)" \
  "The total payment amount and total sales amount do not balance" "the message"
queue=$(call_ok ccpay.v1.BalanceReviewService/ListOutOfBalanceOrders '{}')
expect_eq "$(field "$queue" orders.0.id)" "$order_id" "the queue"
pass "SubmitOrder puts the overpaid order in the out-of-balance queue"

released=$(call_ok ccpay.v1.BalanceReviewService/ReleaseOrder "{\"requestId\": \"e2e-obr-release\",
  \"orderId\": \"$order_id\", \"resolution\": \"BALANCE_RESOLUTION_REFUND_EXCESS\"}")
expect_eq "$(field "$released" status)" ORDER_STATUS_SUBMITTED "order after ReleaseOrder"
call_ok ccpay.v1.OrderService/InvoiceOrder "{\"requestId\": \"e2e-obr-invoice\", \"orderId\": \"$order_id\",
  \"lines\": [{\"lineNumber\": 1, \"quantity\": \"1\"}]}" >/dev/null
customer=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$customer_id\"}")
expect_eq "$(field "$customer" balance.amountMinor)" -3001 "customer balance after invoicing"
checks=$(call_ok ccpay.v1.BalanceReviewService/ListRefundChecks '{"status": "REFUND_CHECK_STATUS_APPROVED"}')
expect_eq "$(field "$checks" refundChecks.0.amount.amountMinor)" 3001 "refund check amount"
expect_eq "$(field "$checks" refundChecks.0.approvedBy)" auto "auto-approved"
check_id=$(field "$checks" refundChecks.0.id)
pass "ReleaseOrder and InvoiceOrder leave a \$30.01 refund check, approved under the threshold"

posted=$(call_ok ccpay.v1.BalanceReviewService/PostRefundCheck "{\"requestId\": \"e2e-obr-post\",
  \"id\": \"$check_id\", \"checkNumber\": \"100234\"}")
expect_eq "$(field "$posted" status)" REFUND_CHECK_STATUS_POSTED "refund check"
customer=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$customer_id\"}")
expect_eq "$(field "$customer" balance.amountMinor)" "" "customer balance (zero)"
pass "PostRefundCheck brings the customer's balance to zero"

stop_server_checked
