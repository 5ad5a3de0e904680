#!/usr/bin/env bash
# One measured turn of one build on one SQLite database, for comparisons that bench/ab.sh
# cannot make: two builds whose schemas differ (a migration) need a database each. Run the
# builds in turns (old, new, old, new …) a few seconds apart and compare; on a busy or
# drifting host only such pairs mean anything (docs/performance.md, round three).
#
#   bench/turns.sh BIN DB sume      # 3 s warm-up + 8 s of statements on DB itself
#   bench/turns.sh BIN DB pay       # 8 s of payments on a fresh copy of DB
#   bench/turns.sh BIN DB seq       # 10 s of statements, then 10 s of payments, on a copy
#
# Prints one line: req/s, p99, the server's CPU per answer (utime + stime from
# /proc/PID/stat over the measured run ÷ answers), errors, peak RSS and the load. It reuses
# bench/run.sh's work folder (register, pre-signed requests) for 1,000,000 taxpayers,
# seed 42; migrate DB with BIN first (`GHISEUL_DATABASE_URL=sqlite://DB BIN migrate`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 3 ] || { sed -n '2,14p' "$0"; exit 2; }
BIN=$1 DB=$2 MODE=$3
REG="$ROOT/target/bench-run/register-1000000-42"
SUME=$(ls -d "$REG"/requests-16-*/sume.done | head -1 | xargs dirname)/sume
PAY=$(ls -d "$REG"/requests-16-*/pay.done | head -1 | xargs dirname)/pay
case "$MODE" in
    sume) USE=$DB ;;
    pay|seq) USE=$(mktemp -d)/copy.sqlite; cp "$DB" "$USE" ;;
    *) echo "MODE is sume, pay or seq" >&2; exit 2 ;;
esac
GHISEUL_LISTEN=127.0.0.1:18080 GHISEUL_DATABASE_URL="sqlite://$USE" GHISEUL_HMAC_KEY=cheie-bench-42 \
    "$BIN" serve >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18080/health && break; sleep 0.2; done
load() { wrk -t16 -c16 -d"$1"s -s "$ROOT/bench/load.lua" http://127.0.0.1:18080/soap -- "$2" "$3" ours; }
case "$MODE" in
    sume) load 3 "$SUME" random >/dev/null; SECS=8 FILE=$SUME PICK=random ;;
    pay) SECS=8 FILE=$PAY PICK=once ;;
    seq) load 10 "$SUME" random >/dev/null; SECS=10 FILE=$PAY PICK=once ;;
esac
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
t0=$(cpu)
R=$(load "$SECS" "$FILE" "$PICK" | grep '^RESULT')
t1=$(cpu)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
field() { echo "$R" | sed -E "s/.* $1=([0-9.]+).*/\1/"; }
awk -v m="$MODE" -v r="$(field rps)" -v p="$(field p99_ms)" -v q="$(field requests)" \
    -v t=$((t1 - t0)) -v e="$(field errors)" -v h="$hwm" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s: %s req/s, p99 %s ms, server CPU %.1f us/answer, errors %s, peak RSS %d MiB, load %s\n",
             m, r, p, t * 1e6 / hz / q, e, h / 1024, l }'
[ "$MODE" = sume ] || rm -rf "$(dirname "$USE")"
