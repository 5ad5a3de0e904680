#!/usr/bin/env bash
# Several institutions on one server (issue 16) against one big one: N institutions of M
# taxpayers each ([[institutie]] sections, one SQLite file each), getSumeDePlataPePersoana
# spread at random over all of them, against one institution of N x M taxpayers on the
# same machine, with the same load. See docs/performance.md.
#
#   bench/multi.sh                                   # 50 x 20,000 against 1 x 1,000,000
#   bench/multi.sh --institutions 5 --taxpayers 2000 --duration 3   # a quick look
#
# Options: --institutions N (50), --taxpayers M per institution (20000), --duration SECS (10),
# --connections C (16), --seed S (42), --out DIR (target/bench-multi), --profile P (release).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=50 M=20000 DURATION=10 CONNS=16 SEED=42 OUT="$ROOT/target/bench-multi" PROFILE=release
while [ $# -gt 0 ]; do
    case "$1" in
        --institutions) N=$2; shift 2 ;;
        --taxpayers) M=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
export GHISEUL_LOG=${GHISEUL_LOG:-info}
PER_INSTITUTION_REQUESTS=${PER_INSTITUTION_REQUESTS:-4000}
PORT=18180
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS="$OUT/results.md"
say() { printf '%s\n' "$*" | tee -a "$OUT/log.txt" >&2; }
die() { say "FAILED: $*"; exit 1; }
command -v wrk >/dev/null || die "wrk is needed: apt-get install wrk"

cargo_flags=(); [ "$PROFILE" = release ] && cargo_flags=(--release)
(cd "$ROOT" && cargo build "${cargo_flags[@]}" --bin ghiseul-connector) >>"$OUT/build.log" 2>&1 || die "cargo build failed"
(cd "$ROOT/bench" && CARGO_TARGET_DIR="$ROOT/target" cargo build "${cargo_flags[@]}") >>"$OUT/build.log" 2>&1 || die "cargo build of bench/ failed"
BIN="$ROOT/target/$PROFILE/ghiseul-connector" TOOLS="$ROOT/target/$PROFILE"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
}
trap stop_server EXIT

# One CUI per institution: valid CIFs (the control digit of the norm's key 753217532).
cif() { # number -> CIF with its control digit
    local base=$1 key=753217532 padded sum=0 i
    padded=$(printf '%09d' "$base")
    for i in 0 1 2 3 4 5 6 7 8; do sum=$(( sum + ${padded:$i:1} * ${key:$i:1} )); done
    local c=$(( sum * 10 % 11 )); [ $c = 10 ] && c=0
    echo "$base$c"
}

# $1 config file; $2 `--institutie CUI` or empty; $3 register folder
import_into() {
    local kind
    for kind in tax-types persons debts; do
        "$BIN" --config "$1" $2 import "$kind" "$3/${kind//-/_}.csv" >>"$OUT/import.log" 2>&1 || die "import failed (see $OUT/import.log)"
    done
}

# $1 config file, $2 label, $3 request prefix: serves, waits, runs wrk, appends a result line.
measure() {
    stop_server
    "$BIN" --config "$1" serve >>"$OUT/server-$2.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
        sleep 0.05
    done
    curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || die "the server did not start (see $OUT/server-$2.log)"
    wrk -t1 -c"$CONNS" -d2 -s "$ROOT/bench/multi.lua" "http://127.0.0.1:$PORT/" -- "$3" >/dev/null  # warm-up
    local load out rss
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(wrk -t"$CONNS" -c"$CONNS" -d"$DURATION" -s "$ROOT/bench/multi.lua" "http://127.0.0.1:$PORT/" -- "$3")
    rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVER_PID/status")
    local result; result=$(echo "$out" | grep '^RESULT') || die "wrk gave no result: $out"
    say "$2: $result (peak RSS ${rss} MiB, load before $load)"
    echo "$out" | grep -q 'errors=0 ' || die "$2: unexpected answers: $(echo "$out" | grep FIRST_ERROR)"
    echo "| $2 | $(echo "$result" | sed -E 's/.*rps=([0-9]+).*/\1/') | $(echo "$result" | sed -E 's/.*p50_ms=([0-9.]+).*/\1/') | $(echo "$result" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/') | $rss | $load |" >>"$RESULTS"
    stop_server
}

{
    echo "# Several institutions on one server, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')). getSumeDePlataPePersoana only, random taxpayers, wrk -t$CONNS -c$CONNS, $DURATION s, SQLite, build $PROFILE."
    echo
    echo "| server | requests/s | p50 ms | p99 ms | peak RSS MiB | load before |"
    echo "|---|---|---|---|---|---|"
} >"$RESULTS"

# --- N institutions of M ----------------------------------------------------------------
MULTI="$OUT/multi-$N-$M"
rm -rf "$MULTI"; mkdir -p "$MULTI/req"
CONFIG="$MULTI/ghiseul.toml"
echo "listen = \"127.0.0.1:$PORT\"" >"$CONFIG"
for i in $(seq "$N"); do
    cui=$(cif $(( 4000000 + i )))
    echo "$cui" >>"$MULTI/cuis"
    printf '\n[[institutie]]\ninstitutie_cui = "%s"\nsoap_path = "/i%d"\nhmac_key = "cheie-bench-%d"\ndatabase_url = "sqlite://%s/i%d.db"\n' \
        "$cui" "$i" "$i" "$MULTI" "$i" >>"$CONFIG"
done
say "generating and importing $N registers of $M taxpayers"
i=0
while read -r cui; do
    i=$(( i + 1 ))
    reg="$MULTI/register-$i"
    "$TOOLS/gen-register" --taxpayers "$M" --seed $(( SEED + i )) --out "$reg" >>"$OUT/log.txt"
    import_into "$CONFIG" "--institutie $cui" "$reg"
    "$TOOLS/make-requests" --owed "$reg/owed.tsv" --key "cheie-bench-$i" --scenario sume \
        --count "$PER_INSTITUTION_REQUESTS" --threads "$CONNS" --out "$reg/req" --seed "$SEED" >>"$OUT/log.txt"
    for t in $(seq 0 $(( CONNS - 1 ))); do
        sed "s|^|/i$i\t|" "$reg/req/sume.$t.txt" >>"$MULTI/req/sume.$t.txt"
    done
    rm -f "$reg"/*.csv
done <"$MULTI/cuis"
measure "$CONFIG" "$N institutions x $M taxpayers (one server)" "$MULTI/req/sume"

# --- one institution of N x M -----------------------------------------------------------
TOTAL=$(( N * M ))
ONE="$OUT/one-$TOTAL"
rm -rf "$ONE"; mkdir -p "$ONE/req"
printf 'listen = "127.0.0.1:%s"\nhmac_key = "cheie-bench-one"\ndatabase_url = "sqlite://%s/one.db"\n' "$PORT" "$ONE" >"$ONE/ghiseul.toml"
say "generating and importing one register of $TOTAL taxpayers"
"$TOOLS/gen-register" --taxpayers "$TOTAL" --seed "$SEED" --out "$ONE/register" >>"$OUT/log.txt"
import_into "$ONE/ghiseul.toml" "" "$ONE/register"
"$TOOLS/make-requests" --owed "$ONE/register/owed.tsv" --key "cheie-bench-one" --scenario sume \
    --count $(( N * PER_INSTITUTION_REQUESTS )) --threads "$CONNS" --out "$ONE/register/req" --seed "$SEED" >>"$OUT/log.txt"
for t in $(seq 0 $(( CONNS - 1 ))); do
    sed "s|^|/soap\t|" "$ONE/register/req/sume.$t.txt" >"$ONE/req/sume.$t.txt"
done
measure "$ONE/ghiseul.toml" "1 institution x $TOTAL taxpayers" "$ONE/req/sume"
cat "$RESULTS"
