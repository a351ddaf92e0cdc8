#!/usr/bin/env bash
# End-to-end: a return as a support engineer drives it with `buf curl` through server
# reflection only (no .proto files). The seed's order of 69.99 paid $50.00 by check and
# $19.99 on account is returned whole: CompleteReturn shows the refund summary ($19.99 to
# the customer's account, $50.00 by refund check), an override without the right is
# refused, and with advance credit on SubmitReturn issues the refund check before the
# goods arrive; the customer's balance ends at zero.
# Usage: returns_e2e.sh CCPAYD BUF NODE
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

start_server

methods=$(buf_curl --list-methods "$URL")
for method in CreateReturn GetReturn ListReturns CompleteReturn SubmitReturn InvoiceReturn \
  CancelReturn OverrideRefundPayment CreateReplacementOrder GetRefundCheck; do
  expect_contains "$methods" "ccpay.v1.ReturnService/$method" "reflection"
done
for method in GetParameters UpdateParameters SetOverrideCode; do
  expect_contains "$methods" "ccpay.v1.AdminService/$method" "reflection"
done
pass "reflection lists every ReturnService and AdminService method"

params=$(call_ok ccpay.v1.AdminService/UpdateParameters '{"requestId": "e2e-rma-params",
  "parameters": {"advanceCredit": true}, "updateMask": ["advance_credit"]}')
expect_eq "$(field "$params" advanceCredit)" true "advance credit"
expect_eq "$(field "$params" defaultReturnMethod)" TENDER_TYPE_CHECK "default return method"
pass "UpdateParameters turns advance credit on"

customer_id=$(field "$(call_ok ccpay.v1.CustomerService/CreateCustomer \
  '{"requestId": "e2e-rma-customer", "customer": {"name": "Rita Return", "currencyCode": "USD"}}')" id)
order_id=$(field "$(call_ok ccpay.v1.OrderService/CreateOrder "{\"requestId\": \"e2e-rma-order\",
  \"order\": {\"customerId\": \"$customer_id\", \"currencyCode\": \"USD\",
    \"sourceCode\": \"PHONE\", \"type\": \"ORDER_TYPE_SALES\",
    \"lines\": [{\"sku\": \"LAMP\", \"quantity\": \"1\", \"unitPrice\": {\"amountMinor\": \"6999\"}}]}}")" id)
call_ok ccpay.v1.OrderService/AddPayment "{\"requestId\": \"e2e-rma-check\", \"orderId\": \"$order_id\",
  \"payment\": {\"tenderType\": \"TENDER_TYPE_CHECK\", \"checkNumber\": \"1001\",
    \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"5000\"}}}" >/dev/null
call_ok ccpay.v1.OrderService/AddPayment "{\"requestId\": \"e2e-rma-account\", \"orderId\": \"$order_id\",
  \"payment\": {\"tenderType\": \"TENDER_TYPE_CUSTOMER_ACCOUNT\",
    \"amount\": {\"currencyCode\": \"USD\", \"amountMinor\": \"1999\"}}}" >/dev/null
call_ok ccpay.v1.OrderService/SubmitOrder "{\"requestId\": \"e2e-rma-submit\", \"orderId\": \"$order_id\"}" >/dev/null
call_ok ccpay.v1.OrderService/InvoiceOrder "{\"requestId\": \"e2e-rma-invoice\", \"orderId\": \"$order_id\",
  \"lines\": [{\"lineNumber\": 1, \"quantity\": \"1\"}]}" >/dev/null

return_id=$(field "$(call_ok ccpay.v1.ReturnService/CreateReturn "{\"requestId\": \"e2e-rma-create\",
  \"returnOrder\": {\"customerId\": \"$customer_id\", \"originalOrderId\": \"$order_id\",
    \"lines\": [{\"originalLineNumber\": 1, \"quantity\": \"1\", \"reasonCode\": \"DAMAGED\"}]}}")" id)
[[ $return_id =~ ^rma_[0-9A-Z]{13}$ ]] || fail "CreateReturn id '$return_id'"
completed=$(call_ok ccpay.v1.ReturnService/CompleteReturn "{\"requestId\": \"e2e-rma-complete\", \"returnId\": \"$return_id\"}")
expect_eq "$(field "$completed" refundLines.0.tenderType)" TENDER_TYPE_CUSTOMER_ACCOUNT "line 1"
expect_eq "$(field "$completed" refundLines.0.amount.amountMinor)" 1999 "line 1 amount"
expect_eq "$(field "$completed" refundLines.1.tenderType)" TENDER_TYPE_CHECK "line 2"
expect_eq "$(field "$completed" refundLines.1.amount.amountMinor)" 5000 "line 2 amount"
expect_eq "$(field "$completed" refundLines.1.derivation)" REFUND_DERIVATION_CURRENCY_REFUND_METHOD "line 2 rule"
pass "CompleteReturn refunds \$19.99 to the account and \$50.00 by refund check"

admin_token=$TOKEN
TOKEN=$(make_token csr e2e-csr)
error=$(call_error ccpay.v1.ReturnService/OverrideRefundPayment "{\"requestId\": \"e2e-rma-override\",
  \"returnId\": \"$return_id\", \"lineNumber\": 2, \"tenderType\": \"TENDER_TYPE_CASH\",
  \"reason\": \"customer asked\"}")
expect_eq "$(error_reason "$error")" OVERRIDE_NOT_PERMITTED "override without the right"
TOKEN=$admin_token
pass "a CSR's override without the alternate-payment right or the code is refused"

submitted=$(call_ok ccpay.v1.ReturnService/SubmitReturn "{\"requestId\": \"e2e-rma-submit-return\", \"returnId\": \"$return_id\"}")
expect_eq "$(field "$submitted" refundLines.1.status)" REFUND_LINE_STATUS_ISSUED "refund check at submit"
check_id=$(field "$submitted" refundLines.1.refundCheckId)
check=$(call_ok ccpay.v1.ReturnService/GetRefundCheck "{\"id\": \"$check_id\"}")
expect_eq "$(field "$check" amount.amountMinor)" 5000 "refund check amount"
expect_eq "$(field "$check" status)" REFUND_CHECK_STATUS_PENDING_APPROVAL "refund check status"
invoiced=$(call_ok ccpay.v1.ReturnService/InvoiceReturn "{\"requestId\": \"e2e-rma-invoice-return\", \"returnId\": \"$return_id\"}")
expect_eq "$(field "$invoiced" status)" RETURN_STATUS_INVOICED "return after InvoiceReturn"
customer=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$customer_id\"}")
expect_eq "$(field "$customer" balance.amountMinor)" -5000 "customer credit until the check is posted"
call_ok ccpay.v1.BalanceReviewService/ApproveRefundCheck "{\"requestId\": \"e2e-rma-approve\", \"id\": \"$check_id\"}" >/dev/null
posted=$(call_ok ccpay.v1.BalanceReviewService/PostRefundCheck "{\"requestId\": \"e2e-rma-post\",
  \"id\": \"$check_id\", \"checkNumber\": \"900102\"}")
expect_eq "$(field "$posted" status)" REFUND_CHECK_STATUS_POSTED "refund check after PostRefundCheck"
customer=$(call_ok ccpay.v1.CustomerService/GetCustomer "{\"id\": \"$customer_id\"}")
expect_eq "$(field "$customer" balance.amountMinor)" "" "customer balance (zero)"
pass "advance credit issues the refund check at SubmitReturn; posted, the balance ends at zero"

stop_server_checked
