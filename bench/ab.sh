#!/usr/bin/env bash
# A/B comparison of two server builds on the same SQLite database, for a machine that is
# busy with other work: a single run there is noise, so the two builds take turns
# (A B A B …) on the same database, each with a warm-up, and besides req/s the script
# reports the server's CPU time per answer (utime + stime from /proc/PID/stat over the
# run ÷ answers), which depends far less on the load than throughput does.
#
#   bench/ab.sh --a OLD_BINARY --b NEW_BINARY [--rounds 3] [--duration 10]
#
# It reuses what bench/run.sh left in its work folder (run that first, at the same
# --taxpayers, to build the tools, the register and the pre-signed statements): the
# register is imported once into OUT/ab-N.sqlite with binary A. Statements only (getSume):
# payments cannot be sent twice, and a repeated one takes another path.
#
# Options:
#   --a BIN / --b BIN    the two `ghiseul-connector` binaries (copy them aside first)
#   --rounds R           A/B pairs (default 3)
#   --duration SECS      length of each measured run (default 10; a 3 s warm-up precedes it)
#   --taxpayers N        register size (default 1000000)
#   --connections C      concurrent connections (default 16, as bench/run.sh)
#   --seed S             register and request seed (default 42)
#   --out DIR            bench/run.sh's work folder (default target/bench-run)
#   --profile P          where the tools are: release (default) or debug

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
A="" B="" ROUNDS=3 DURATION=10 TAXPAYERS=1000000 CONNS=16 SEED=42
OUT="$ROOT/target/bench-run" PROFILE=release
while [ $# -gt 0 ]; do
    case "$1" in
        --a) A=$2; shift 2 ;;
        --b) B=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --taxpayers) TAXPAYERS=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -x "$A" ] && [ -x "$B" ] || { echo "--a and --b must name two executables" >&2; exit 2; }
TOOLS="$ROOT/target/$PROFILE"
REG="$OUT/register-$TAXPAYERS-$SEED"
KEY="cheie-bench-$SEED"
PORT=18081
URL="http://127.0.0.1:$PORT/soap"
export GHISEUL_LOG=${GHISEUL_LOG:-info}
[ -f "$REG/done" ] || { echo "no register in $REG: run bench/run.sh first" >&2; exit 1; }
SUME=""
for d in "$REG"/requests-"$CONNS"-*; do
    [ -f "$d/sume.done" ] && { SUME=$d; break; }
done
[ -n "$SUME" ] || { echo "no pre-signed statements in $REG: run bench/run.sh first" >&2; exit 1; }

DB="$OUT/ab-$TAXPAYERS.sqlite"
DB_URL="sqlite://$DB"
if [ ! -f "$OUT/ab-$TAXPAYERS.done" ]; then
    rm -f "$DB" "$DB-wal" "$DB-shm"
    for kind in tax-types persons debts; do
        GHISEUL_DATABASE_URL="$DB_URL" "$A" import "$kind" "$REG/${kind//-/_}.csv" >&2
    done
    touch "$OUT/ab-$TAXPAYERS.done"
fi

SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap stop_server EXIT

wrk_run() { # secs -> RESULT line
    wrk -t"$CONNS" -c"$CONNS" -d"$1s" --timeout 5s -s "$ROOT/bench/load.lua" "$URL" \
        -- "$SUME/sume" random ours | grep '^RESULT'
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "| round | build | req/s | p99 ms | server CPU µs/answer | peak RSS MiB | load |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq "$ROUNDS"); do
    for side in A B; do
        bin=$A; [ "$side" = B ] && bin=$B
        GHISEUL_LISTEN="127.0.0.1:$PORT" GHISEUL_DATABASE_URL="$DB_URL" GHISEUL_HMAC_KEY="$KEY" \
            "$bin" serve >>"$OUT/ab-server.log" 2>&1 &
        SERVER_PID=$!
        "$TOOLS/check-run" first-answer --url "$URL" --requests "$SUME/sume.0.txt" --timeout-secs 120 \
            || { echo "build $side gave no answer (see $OUT/ab-server.log)" >&2; exit 1; }
        wrk_run 3 >/dev/null
        echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || true # restart the peak-RSS count
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
        result=$(wrk_run "$DURATION")
        t1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
        rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER_PID/status")
        stop_server
        [ "$(field "$result" errors)" = 0 ] || { echo "build $side: unexpected answers: $result" >&2; exit 1; }
        answered=$(field "$result" answered)
        us=$(awk "BEGIN {printf \"%.1f\", ($t1 - $t0) / $(getconf CLK_TCK) * 1e6 / $answered}")
        echo "| $round | $side | $(field "$result" rps) | $(field "$result" p99_ms) | $us | $rss | $load |"
    done
done
