#!/usr/bin/env bash
# The API contract against a running instance: starts `cajero demo` (server, simulator,
# SQLite) on a free loopback port, checks that /openapi.json is the committed
# docs/openapi.json and that /docs renders, then runs schemathesis with every check and every
# phase (examples, coverage, fuzzing, stateful): any 5xx, any response that does not match
# the documented schema, any schema-valid request refused or schema-invalid request accepted
# fails the build, except for the business rules listed (with their reasons) in
# scripts/schemathesis.toml.
#
#   scripts/api-contract.sh [path/to/cajero]   (default: target/debug/cajero)
#
# Needs schemathesis 4.32.5 (pip install 'schemathesis==4.32.5'), run as
# `python3 -m schemathesis.cli`. The seed is fixed so that a failure replays.
#
#   SCHEMATHESIS_MAX_EXAMPLES  examples per operation and phase (default 100: about 2 minutes on
#                              2 cores; CI keeps this step within 5 minutes). A longer search:
#                              SCHEMATHESIS_MAX_EXAMPLES=500 scripts/api-contract.sh
#   SCHEMATHESIS_SEED          another seed (default 20261125).

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

echo "schemathesis against $base/openapi.json: every check, every phase"
started=$SECONDS
python3 -m schemathesis.cli --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" \
  --seed "${SCHEMATHESIS_SEED:-20261125}" \
  --no-color
echo "schemathesis took $((SECONDS - started)) s"
