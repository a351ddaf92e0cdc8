#!/usr/bin/env bash
# End-to-end: the customer API as an outside client sees it. ccpayd is driven only with
# `buf curl` through server reflection (no .proto files), JSON in and out; node parses
# the replies. Usage: customers_e2e.sh CCPAYD BUF NODE
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

customer_count() { count_items ccpay.v1.CustomerService/SearchCustomers customers; }

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

stop_server_checked
