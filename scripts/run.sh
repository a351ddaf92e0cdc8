#!/usr/bin/env bash
# Sets everything up, builds, and runs ccpayd on 127.0.0.1:50051 with its LMDB data in
# ./var/data and its three card-processor adapters (stripe, adyen, authorizenet) pointed at
# ccpay-procsim, the processor sandbox, which this script starts first on an ephemeral
# loopback port. Prints ready-to-paste grpcurl and buf curl calls. Ctrl-C stops ccpayd
# gracefully (it stops its adapters), then procsim. Extra arguments go to ccpayd (see
# build/bin/ccpayd --help).
#
# Files under ./var: procsim/ (its CA certificate), procsim.log, adapters/*.ini (each
# adapter's credentials, mode 0600), ccpayd.ini (mode 0600), data/ (LMDB, the adapters'
# sockets in data/adapters/, mode 0700, and dev-admin.token, mode 0600: the development
# admin token made on the first run, which the example calls send).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh

run_dir=$top/var
mkdir -p "$run_dir/procsim" "$run_dir/adapters"
chmod 700 "$run_dir/adapters"

ccpayd_pid=
procsim_pid=
stop_all() {
  if [ -n "$ccpayd_pid" ]; then
    kill -TERM "$ccpayd_pid" 2>/dev/null || true
    wait "$ccpayd_pid" 2>/dev/null || true
    ccpayd_pid=
  fi
  if [ -n "$procsim_pid" ]; then
    kill -TERM "$procsim_pid" 2>/dev/null || true
    wait "$procsim_pid" 2>/dev/null || true
    procsim_pid=
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

# Waits up to $3 tenths of a second for file $1 while process $2 runs.
wait_for_file() {
  for _ in $(seq 1 "$3"); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# 1. The processor sandbox.
procsim_port_file=$run_dir/procsim.port
rm -f "$procsim_port_file"
build/bin/ccpay-procsim --listen 127.0.0.1:0 --dir "$run_dir/procsim" \
  --port-file "$procsim_port_file" >>"$run_dir/procsim.log" 2>&1 &
procsim_pid=$!
if ! wait_for_file "$procsim_port_file" "$procsim_pid" 100; then
  echo "ccpay-procsim did not start within 10 s; see $run_dir/procsim.log" >&2
  exit 1
fi
procsim_port=$(cat "$procsim_port_file")
ca_file=$run_dir/procsim/ca.pem

# 2. The adapters' configs: procsim's base URLs and credentials (docs/PROCSIM.md).
(
  umask 077
  cat >"$run_dir/adapters/stripe.ini" <<INI
[processor]
base_url = https://127.0.0.1:$procsim_port
ca_file = $ca_file
secret_key = sk_test_procsim
INI
  cat >"$run_dir/adapters/adyen.ini" <<INI
[processor]
base_url = https://127.0.0.1:$procsim_port/v71
pal_base_url = https://127.0.0.1:$procsim_port
ca_file = $ca_file
api_key = procsim_adyen_key
merchant_account = CcpayProcsim
INI
  cat >"$run_dir/adapters/authorizenet.ini" <<INI
[processor]
base_url = https://127.0.0.1:$procsim_port/xml/v1/request.api
ca_file = $ca_file
api_login_id = procsim_login
transaction_key = procsim_transaction_key
INI
  # A unix socket path has at most 107 bytes: a deep checkout gets its sockets in /tmp.
  socket_dir=$run_dir/data/adapters
  if [ ${#socket_dir} -gt 85 ]; then socket_dir=$(mktemp -d /tmp/ccpay-sockets.XXXXXX); fi
  cat >"$run_dir/ccpayd.ini" <<INI
[gateway]
socket_dir = $socket_dir

[adapter.stripe]
config = $run_dir/adapters/stripe.ini

[adapter.adyen]
config = $run_dir/adapters/adyen.ini

[adapter.authorizenet]
config = $run_dir/adapters/authorizenet.ini
INI
)
chmod 600 "$run_dir"/adapters/*.ini "$run_dir/ccpayd.ini"

# 3. A development admin token, made offline on the first run (ccpayd keeps only its hash;
# this copy is for the example calls). Delete the file for a new one.
token_file=$run_dir/data/dev-admin.token
if [ ! -s "$token_file" ]; then
  mkdir -p "$run_dir/data"
  chmod 700 "$run_dir/data"
  (
    umask 077
    build/bin/ccpay-admin token create --data-dir "$run_dir/data" --role admin \
      --agent dev-admin >"$token_file.tmp" 2>/dev/null
  )
  mv "$token_file.tmp" "$token_file"
fi
token=$(cat "$token_file")

# 4. ccpayd, which starts the adapters before it serves.
port_file=$run_dir/ccpayd.port
rm -f "$port_file"
build/bin/ccpayd --config "$run_dir/ccpayd.ini" --listen 127.0.0.1:50051 --plaintext \
  --data-dir "$run_dir/data" --port-file "$port_file" "$@" &
ccpayd_pid=$!
if ! wait_for_file "$port_file" "$ccpayd_pid" 300; then
  if kill -0 "$ccpayd_pid" 2>/dev/null; then
    echo "ccpayd did not start within 30 s" >&2
  else
    wait "$ccpayd_pid" || status=$?
    ccpayd_pid=
    exit "${status:-1}"
  fi
  exit 1
fi
port=$(cat "$port_file")

cat <<MSG

ccpayd is serving on 127.0.0.1:$port (plaintext, loopback only); data in $run_dir/data.
Its adapters (stripe, adyen, authorizenet) talk to ccpay-procsim on https://127.0.0.1:$procsim_port
(log: $run_dir/procsim.log; what it charged: curl --cacert $ca_file https://127.0.0.1:$procsim_port/procsim/ledger).
ccpayd answers server reflection, so no .proto files are needed. Every call but health
and reflection needs a bearer token; this is the development admin token (role admin,
agent dev-admin; kept in $token_file):

  $token

Try, from another shell:

  # with buf (installed here by the set-up script):
  b="$top/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge"
  h="authorization: Bearer $token"
  \$b --list-methods http://127.0.0.1:$port
  \$b http://127.0.0.1:$port/grpc.health.v1.Health/Check
  \$b -H "\$h" --data '{"customer":{"name":"Dana Reyes","email":"dana@example.com","currency_code":"USD"},"request_id":"demo-1"}' \\
    http://127.0.0.1:$port/ccpay.v1.CustomerService/CreateCustomer

  # a card payment: an order for that customer (CUS_ID from the reply above), a card
  # (a Stripe test token; ccpay never takes a card number), then submit (authorizes
  # through the Stripe adapter and the sandbox) and invoice (captures):
  \$b -H "\$h" --data '{"order":{"customer_id":"CUS_ID","currency_code":"USD","source_code":"PHONE","type":"ORDER_TYPE_SALES","lines":[{"sku":"MUG","quantity":2,"unit_price":{"currency_code":"USD","amount_minor":1250}}]},"request_id":"demo-2"}' \\
    http://127.0.0.1:$port/ccpay.v1.OrderService/CreateOrder
  \$b -H "\$h" --data '{"order_id":"ORD_ID","payment":{"tender_type":"TENDER_TYPE_CARD","amount":{"currency_code":"USD","amount_minor":2500},"card":{"processor":"stripe","token":"pm_card_visa","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}},"request_id":"demo-3"}' \\
    http://127.0.0.1:$port/ccpay.v1.OrderService/AddPayment
  \$b -H "\$h" --data '{"order_id":"ORD_ID","request_id":"demo-4"}' http://127.0.0.1:$port/ccpay.v1.OrderService/SubmitOrder
  \$b -H "\$h" --data '{"order_id":"ORD_ID","lines":[{"line_number":1,"quantity":2}],"request_id":"demo-5"}' \\
    http://127.0.0.1:$port/ccpay.v1.OrderService/InvoiceOrder

  # a return of one mug (RMA_ID from CreateReturn): CompleteReturn shows the refund going
  # back to the same card; InvoiceReturn (the goods arrived) refunds it through Stripe:
  \$b -H "\$h" --data '{"return_order":{"customer_id":"CUS_ID","original_order_id":"ORD_ID","lines":[{"original_line_number":1,"quantity":1,"reason_code":"DAMAGED"}]},"request_id":"demo-6"}' \\
    http://127.0.0.1:$port/ccpay.v1.ReturnService/CreateReturn
  \$b -H "\$h" --data '{"return_id":"RMA_ID","request_id":"demo-7"}' http://127.0.0.1:$port/ccpay.v1.ReturnService/CompleteReturn
  \$b -H "\$h" --data '{"return_id":"RMA_ID","request_id":"demo-8"}' http://127.0.0.1:$port/ccpay.v1.ReturnService/SubmitReturn
  \$b -H "\$h" --data '{"return_id":"RMA_ID","request_id":"demo-9"}' http://127.0.0.1:$port/ccpay.v1.ReturnService/InvoiceReturn

  \$b -H "\$h" --data '{"follow":true}' http://127.0.0.1:$port/ccpay.v1.LedgerService/StreamEntries
  # every change, who made it and how it ended, live:
  \$b -H "\$h" --data '{"follow":true}' http://127.0.0.1:$port/ccpay.v1.AdminService/StreamAudit
  # a token for a CSR (its secret is shown once):
  \$b -H "\$h" --data '{"token":{"role":"csr","agent_id":"csr-0001"},"request_id":"demo-10"}' \\
    http://127.0.0.1:$port/ccpay.v1.AdminService/CreateToken

  # with grpcurl, if you have it:
  grpcurl -plaintext 127.0.0.1:$port list
  grpcurl -plaintext 127.0.0.1:$port describe ccpay.v1.CustomerService
  grpcurl -plaintext -H 'authorization: Bearer $token' -d '{"name_prefix":"dana"}' 127.0.0.1:$port ccpay.v1.CustomerService/SearchCustomers
  grpcurl -plaintext -H 'authorization: Bearer $token' 127.0.0.1:$port ccpay.v1.LedgerService/GetTrialBalance

Ctrl-C stops ccpayd gracefully (and its adapters), then ccpay-procsim.
MSG
status=0
wait "$ccpayd_pid" || status=$?
ccpayd_pid=
exit "$status"
