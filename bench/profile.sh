#!/usr/bin/env bash
# Where the server's time goes under the benchmark's load (docs/performance.md, "Where the
# time goes"). Run bench/run.sh first: this reuses its release build, database and request
# files. It starts the server on a copy of the SQLite database, drives it with wrk and
# records it with perf (Debian's linux-perf, installed when missing), then prints the share
# of samples per thread, per library and for the functions that matter.
#
#   bench/profile.sh                       # getSume on target/bench-run's 1M database
#   bench/profile.sh --scenario pay        # payments
#   bench/profile.sh --taxpayers 100000 --seconds 5 --out target/bench-run
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAXPAYERS=1000000 SECONDS_=8 SCENARIO=sume OUT="$ROOT/target/bench-run" CONNS=16 SEED=42
while [ $# -gt 0 ]; do
    case "$1" in
        --taxpayers) TAXPAYERS=$2; shift 2 ;;
        --seconds) SECONDS_=$2; shift 2 ;;
        --scenario) SCENARIO=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
command -v perf >/dev/null || apt-get install -y linux-perf >/dev/null
BIN="$ROOT/target/release/ghiseul-connector"
REG="$OUT/register-$TAXPAYERS-$SEED"
DB="$OUT/db-$TAXPAYERS.sqlite"
case "$SCENARIO" in
    sume) REQ=$(ls -d "$REG"/requests-$CONNS-*/sume.done | head -1 | xargs dirname)/sume MODE=random ;;
    pay) REQ=$(ls -d "$REG"/requests-$CONNS-*/pay.done | head -1 | xargs dirname)/pay MODE=once ;;
    *) echo "--scenario is sume or pay" >&2; exit 2 ;;
esac
[ -x "$BIN" ] && [ -f "$DB" ] && [ -f "$REQ.0.txt" ] || {
    echo "run bench/run.sh --taxpayers $TAXPAYERS first (no build, database or requests in $OUT)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$DB" "$WORK/db.sqlite" # payments change the database: profile a copy
GHISEUL_LISTEN=127.0.0.1:18085 GHISEUL_DATABASE_URL="sqlite://$WORK/db.sqlite" \
    GHISEUL_HMAC_KEY="cheie-bench-$SEED" "$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
sleep 1
perf record -F 999 --call-graph dwarf,16384 -p "$PID" -o "$WORK/perf.data" -- sleep "$SECONDS_" \
    >/dev/null 2>&1 &
PERF=$!
wrk -t$CONNS -c$CONNS -d"${SECONDS_}s" -s "$ROOT/bench/load.lua" http://127.0.0.1:18085/soap \
    -- "$REQ" "$MODE" ours | grep '^RESULT'
wait $PERF
report() { perf report -i "$WORK/perf.data" --no-demangle "$@" 2>/dev/null | grep -E '^ +[0-9]'; }
echo "== samples per thread"; report --no-children --sort comm -g none | head -5
echo "== per library (self)"; report --no-children --sort dso -g none | head -6
echo "== inclusive share of the functions that matter"
perf report -i "$WORK/perf.data" --children --sort sym -g none 2>/dev/null | grep -E '^ +[0-9]' \
    | grep -E 'http::soap::|Native::statement|sqlite3_step|__libc_pread|unixRead|fcntl64|writev|__libc_recv|write::sume_response|envelope::parse|Signer::(sign|verify)|service::statement|sqlite::write_loop|run_group|fdatasync|mi_free|_mi_malloc|epoll_wait|tracing_subscriber.*on_event' \
    | sed -E 's/ {2,}/  /g' | head -30
