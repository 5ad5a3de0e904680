#!/usr/bin/env bash
# Proves the benchmark harness works, at a tiny scale (not a performance test): 2,000
# taxpayers, 3 s per run, the debug builds that `cargo test` already made. Every run's
# answers are checked and the payment sums verified exactly as in the full benchmark, so
# this fails when the harness or the server's answers break. On PostgreSQL too when
# GHISEUL_TEST_POSTGRES_URL is set (as .ci/run sets it for the ignored tests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
args=(--taxpayers 2000 --duration 3 --connections 4 --scales "1000" --profile debug
      --out "$ROOT/target/bench-ci")
if [ -n "${GHISEUL_TEST_POSTGRES_URL:-}" ]; then
    args+=(--postgres-url "$GHISEUL_TEST_POSTGRES_URL")
fi
# Small request files: a debug build answers a few thousand requests a second at most.
export PAY_RATE_CAP=${PAY_RATE_CAP:-5000} MIXED_RATE_CAP=${MIXED_RATE_CAP:-10000} SUME_COUNT=${SUME_COUNT:-20000}
rm -rf "$ROOT/target/bench-ci"
"$ROOT/bench/run.sh" "${args[@]}"
echo "bench harness at tiny scale: OK"
