#!/usr/bin/env bash
# The API contract against a running instance: starts `cajero demo` (server, simulator,
# SQLite) on a free loopback port, checks that /openapi.json is the committed
# docs/openapi.json, then lets schemathesis generate requests from it and fail on any 5xx
# and any response that does not match the documented schema.
#
#   scripts/api-contract.sh [path/to/cajero]   (default: target/debug/cajero)
#
# Needs schemathesis (pip install schemathesis), run as `python3 -m schemathesis.cli`.
# SCHEMATHESIS_MAX_EXAMPLES (default 30) sets the examples per operation; the seed is fixed so
# that a failure replays.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/debug/cajero}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
# schemathesis sends hundreds of requests a second, many without a key on purpose: the rate
# limits (tested on their own) would answer most of them 429.
CAJERO_RATE_LIMITS__PER_KEY_PER_SECOND=0 CAJERO_RATE_LIMITS__FAILED_AUTH_PER_MINUTE=0 \
  "$bin" demo --listen "127.0.0.1:$port" >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 120); do
  grep -q 'sk_test_' "$work/demo.out" 2>/dev/null && break
  kill -0 "$demo" 2>/dev/null || { cat "$work/demo.err"; echo "cajero demo exited"; exit 1; }
  sleep 0.5
done
key="$(grep -o 'sk_test_[A-Za-z0-9]*' "$work/demo.out" | head -1)"
[ -n "$key" ] || { cat "$work/demo.out" "$work/demo.err"; echo "no test key printed"; exit 1; }

echo "served /openapi.json is the committed docs/openapi.json"
curl -fsS "$base/openapi.json" | diff -u docs/openapi.json - >/dev/null \
  || { echo "served /openapi.json differs from docs/openapi.json: run \`cargo run -- openapi > docs/openapi.json\`"; exit 1; }
curl -fsS "$base/docs" -o "$work/docs.html"
grep -q 'Create a payout' "$work/docs.html" || { echo "/docs does not render"; exit 1; }

echo "schemathesis against $base/openapi.json"
python3 -m schemathesis.cli run "$base/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed 20261125
