#!/usr/bin/env bash
# Sets everything up, builds, and runs ccpayd on 127.0.0.1:50051 with its LMDB data in
# ./var/data, printing ready-to-paste grpcurl and buf curl calls. Ctrl-C stops it
# gracefully. Extra arguments go to ccpayd (see build/bin/ccpayd --help).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh

mkdir -p var
port_file=var/ccpayd.port
rm -f "$port_file"
build/bin/ccpayd --listen 127.0.0.1:50051 --plaintext --data-dir var/data \
  --port-file "$port_file" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' INT TERM

for _ in $(seq 1 100); do
  [ -s "$port_file" ] && break
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }
  sleep 0.1
done
[ -s "$port_file" ] || { echo "ccpayd did not start within 10 s" >&2; kill -TERM "$pid"; exit 1; }
port=$(cat "$port_file")

cat <<MSG

ccpayd is serving on 127.0.0.1:$port (plaintext, loopback only); data in $top/var/data.
It answers server reflection, so no .proto files are needed. Try, from another shell:

  # with buf (installed here by the set-up script):
  $top/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:$port
  $top/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:$port/grpc.health.v1.Health/Check
  $top/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \\
    --data '{"customer":{"name":"Ada Lovelace","email":"ada@example.com","currency_code":"USD"},"request_id":"demo-1"}' \\
    http://127.0.0.1:$port/ccpay.v1.CustomerService/CreateCustomer

  $top/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge --data '{"follow":true}' \\
    http://127.0.0.1:$port/ccpay.v1.LedgerService/StreamEntries

  # with grpcurl, if you have it:
  grpcurl -plaintext 127.0.0.1:$port list
  grpcurl -plaintext 127.0.0.1:$port describe ccpay.v1.CustomerService
  grpcurl -plaintext -d '{"name_prefix":"ada"}' 127.0.0.1:$port ccpay.v1.CustomerService/SearchCustomers
  grpcurl -plaintext 127.0.0.1:$port ccpay.v1.LedgerService/GetTrialBalance

Ctrl-C stops ccpayd gracefully.
MSG
wait "$pid"
