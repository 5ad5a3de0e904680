#!/usr/bin/env bash
# The city-scale benchmark of ghiseul-connector (issue 5). One command, on a fresh machine:
#
#   bench/run.sh                                  # 1,000,000 taxpayers on SQLite
#   bench/run.sh --postgres-url postgres://postgres@127.0.0.1:5432/test   # and on PostgreSQL
#
# It generates a seeded register, imports it with the real `import` commands, starts the
# real server and drives it with wrk (Debian) using pre-signed requests: statements only,
# payments only, and a 90/9/1 mix of statements, payments and faults. Every answer is
# checked; any unexpected one fails the run. After the payment runs the database must hold
# exactly the payments sent. The same load (the same bodies, picked at random: the ceiling
# records nothing) is run against a ceiling (a minimal axum server
# answering a fixed 1.5 KB body) and our throughput is printed as a share of it. Results
# go to the terminal and to OUT/results.md; see docs/performance.md.
#
# Options:
#   --taxpayers N        register size (default 1000000)
#   --duration SECS      length of each measured run (default 10)
#   --connections C      concurrent connections, one wrk thread each (default 16)
#   --scales "N M"       extra register sizes for the statement-only run (default "10000 100000")
#   --postgres-url URL   also run on PostgreSQL; a database `ghiseul_bench` is (re)created
#                        on that server, the database named in URL is left alone
#   --no-sqlite          PostgreSQL only
#   --seed S             register and request seed (default 42)
#   --out DIR            work folder (default target/bench-run)
#   --profile P          cargo profile of the builds: release (default) or debug (CI)
#
# Environment: PAY_RATE_CAP / MIXED_RATE_CAP (default 15000 / 40000) size the files of
# payments and mixed requests (rate × duration lines; each line is sent at most once);
# SUME_COUNT (default 200000) the file of statements, which wrk picks from at random.
# GHISEUL_LOG sets the server's log level (default info, as deployed).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAXPAYERS=1000000 DURATION=10 CONNS=16 SCALES="10000 100000" PG_URL="" SQLITE=1
SEED=42 OUT="$ROOT/target/bench-run" PROFILE=release
while [ $# -gt 0 ]; do
    case "$1" in
        --taxpayers) TAXPAYERS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --scales) SCALES=$2; shift 2 ;;
        --postgres-url) PG_URL=$2; shift 2 ;;
        --no-sqlite) SQLITE=0; shift ;;
        --seed) SEED=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
PAY_RATE_CAP=${PAY_RATE_CAP:-15000}
MIXED_RATE_CAP=${MIXED_RATE_CAP:-40000}
SUME_COUNT=${SUME_COUNT:-200000}
export GHISEUL_LOG=${GHISEUL_LOG:-info}
KEY="cheie-bench-$SEED"
PORT=18080 CEILING_PORT=18090
URL="http://127.0.0.1:$PORT/soap" CEILING_URL="http://127.0.0.1:$CEILING_PORT/soap"
PAY_BASE=100000000 MIXED_BASE=300000000
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS="$OUT/results.md"
FAILED=0

say() { printf '%s\n' "$*" | tee -a "$OUT/log.txt" >&2; }
die() { say "FAILED: $*"; exit 1; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# --- tools ------------------------------------------------------------------------------
need_tool() { # command, Debian package
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing $2 (Debian)"
        (apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }) \
            || die "cannot install $2"
    else
        die "$1 is needed: apt-get install $2"
    fi
}
need_tool wrk wrk
need_tool sqlite3 sqlite3
need_tool curl curl
need_tool /usr/bin/time time
[ -n "$PG_URL" ] && need_tool psql postgresql-client

# --- builds -----------------------------------------------------------------------------
cargo_flags=()
[ "$PROFILE" = release ] && cargo_flags=(--release)
say "building ghiseul-connector and the bench tools ($PROFILE)"
(cd "$ROOT" && cargo build "${cargo_flags[@]}" --bin ghiseul-connector) >>"$OUT/build.log" 2>&1 \
    || die "cargo build failed (see $OUT/build.log)"
(cd "$ROOT/bench" && CARGO_TARGET_DIR="$ROOT/target" cargo build "${cargo_flags[@]}") >>"$OUT/build.log" 2>&1 \
    || die "cargo build of bench/ failed (see $OUT/build.log)"
BIN="$ROOT/target/$PROFILE/ghiseul-connector"
TOOLS="$ROOT/target/$PROFILE"

# --- processes we start, stopped on exit ------------------------------------------------
SERVER_PID="" CEILING_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    if [ -n "$CEILING_PID" ]; then kill "$CEILING_PID" 2>/dev/null || true; wait "$CEILING_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
for p in $PORT $CEILING_PORT; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use"; fi
done

# --- the machine ------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
{
    echo "# ghiseul-connector benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores ($CPU_MODEL), $MEM memory, $(uname -sr)."
    echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg). Each figure below carries the"
    echo "1-minute load average taken just before it: other work on the machine lowers our figures."
    echo "Register: $TAXPAYERS taxpayers, seed $SEED. Runs: $DURATION s, $CONNS connections, wrk -t$CONNS -c$CONNS. Server log level: $GHISEUL_LOG. Build: $PROFILE."
    echo
} >"$RESULTS"
cat "$RESULTS" >&2

# --- register and requests --------------------------------------------------------------
register() { # taxpayers -> folder
    local dir="$OUT/register-$1-$SEED"
    if [ ! -f "$dir/done" ]; then
        "$TOOLS/gen-register" --taxpayers "$1" --seed "$SEED" --out "$dir" | tee -a "$OUT/log.txt" >&2
        touch "$dir/done"
    fi
    echo "$dir"
}
requests() { # register folder, scenario, count, order base -> folder
    local dir="$1/requests-$CONNS-$3"
    if [ ! -f "$dir/$2.done" ]; then
        "$TOOLS/make-requests" --owed "$1/owed.tsv" --key "$KEY" --scenario "$2" --count "$3" \
            --threads "$CONNS" --out "$dir" --seed "$SEED" --order-base "$4" | tee -a "$OUT/log.txt" >&2
        touch "$dir/$2.done"
    fi
    echo "$dir"
}

# --- database ---------------------------------------------------------------------------
DB_URL="" DB_FILE=""
fresh_db() { # backend, name
    if [ "$1" = sqlite ]; then
        DB_FILE="$OUT/db-$2.sqlite"
        rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"
        DB_URL="sqlite://$DB_FILE"
    else
        local base="${PG_URL%%\?*}" query=""
        [ "$base" != "$PG_URL" ] && query="?${PG_URL#*\?}"
        psql "$PG_URL" -qtAc "DROP DATABASE IF EXISTS ghiseul_bench" >/dev/null
        psql "$PG_URL" -qtAc "CREATE DATABASE ghiseul_bench" >/dev/null
        DB_URL="${base%/*}/ghiseul_bench$query"
    fi
}
sql() { # backend, query
    if [ "$1" = sqlite ]; then sqlite3 "$DB_FILE" "$2"; else psql "$DB_URL" -qtAc "$2"; fi
}
db_size_mib() {
    if [ "$1" = sqlite ]; then
        sqlite3 "$DB_FILE" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
        echo $(( $(stat -c %s "$DB_FILE") / 1048576 ))
    else
        echo $(( $(sql postgres "SELECT pg_database_size(current_database())") / 1048576 ))
    fi
}

import_register() { # backend, register folder
    local total_rows=0 start end
    start=$(date +%s%N)
    for kind in tax-types persons debts; do
        local file="$2/${kind//-/_}.csv" line
        line=$(GHISEUL_DATABASE_URL="$DB_URL" "$BIN" import "$kind" "$file" 2>>"$OUT/import.log") \
            || die "import $kind failed (see $OUT/import.log)"
        say "  $line"
        # "Imported debts from FILE: N row(s) in …"
        total_rows=$(( total_rows + $(echo "$line" | sed -E 's/^Imported .*: ([0-9]+) row\(s\) in .*/\1/') ))
    done
    end=$(date +%s%N)
    local secs rate size
    secs=$(awk "BEGIN {printf \"%.1f\", ($end - $start) / 1e9}")
    rate=$(awk "BEGIN {printf \"%.0f\", $total_rows / (($end - $start) / 1e9)}")
    size=$(db_size_mib "$1")
    say "  import: $total_rows rows in $secs s = $rate rows/s (3 processes, migrations included); database $size MiB"
    echo "| $1 | import | $total_rows rows in $secs s | **$rate rows/s** | database $size MiB | load $(load1) |" >>"$RESULTS.import"
}

STARTUP_MS=0
start_server() { # first-request file -> sets SERVER_PID and STARTUP_MS (ms to first answer)
    local start end
    start=$(date +%s%N)
    GHISEUL_LISTEN="127.0.0.1:$PORT" GHISEUL_DATABASE_URL="$DB_URL" GHISEUL_HMAC_KEY="$KEY" \
        "$BIN" serve >>"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    "$TOOLS/check-run" first-answer --url "$URL" --requests "$1" --timeout-secs 120 \
        || die "the server gave no answer (see $OUT/server.log)"
    end=$(date +%s%N)
    STARTUP_MS=$(( (end - start) / 1000000 ))
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_peak_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# Runs wrk once; appends a row to the results. Fails the whole benchmark on any error.
# args: label, pid of the server under load, url, request prefix, mode, against
LAST_RPS=0
run_load() {
    local label=$1 pid=$2 url=$3 prefix=$4 mode=$5 against=$6 out="$OUT/wrk-${1// /_}.txt"
    local load t0 t1 result
    load=$(load1)
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # restart the peak-RSS count
    t0=$(cpu_ticks "$pid")
    /usr/bin/time -f "WRKCPU %e %U %S" -o "$out.time" \
        wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$ROOT/bench/load.lua" "$url" \
        -- "$prefix" "$mode" "$against" >"$out" 2>&1 || die "wrk failed: $(tail -3 "$out")"
    t1=$(cpu_ticks "$pid")
    result=$(grep '^RESULT' "$out") || die "$label: no result from wrk (see $out)"
    local v; v() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    local rps p50 p99 max errors sock exhausted cpu rss wrk_cpu
    rps=$(v rps) p50=$(v p50_ms) p99=$(v p99_ms) max=$(v max_ms)
    errors=$(v errors) sock=$(v socket_errors) exhausted=$(v exhausted)
    cpu=$(awk "BEGIN {printf \"%.0f\", ($t1 - $t0) / $(getconf CLK_TCK) / $DURATION * 100}")
    rss=$(rss_peak_mib "$pid")
    wrk_cpu=$(awk '{printf "%.0f", ($3 + $4) / $2 * 100}' "$out.time")
    LAST_RPS=$rps
    say "  $label: $rps req/s, p50 $p50 ms, p99 $p99 ms, max $max ms, errors $errors (socket $sock), server CPU $cpu%, peak RSS $rss MiB, wrk CPU $wrk_cpu%, load $load"
    echo "| $label | **$rps** | $p50 | $p99 | $max | $((errors + sock)) | $rss | $cpu% | $wrk_cpu% | $load |" >>"$RESULTS.runs"
    if [ "$errors" != 0 ] || [ "$sock" != 0 ] || [ "$exhausted" != 0 ]; then
        grep '^FIRST_ERROR' "$out" | tee -a "$OUT/log.txt" || true
        [ "$exhausted" != 0 ] && say "  (out of pre-signed requests: raise PAY_RATE_CAP / MIXED_RATE_CAP)"
        die "$label: $errors unexpected answers, $sock socket errors, $exhausted beyond the request files"
    fi
}

ratio() { awk "BEGIN {printf \"%.0f%%\", $1 / $2 * 100}"; }

# After a run that paid: the database must hold exactly the payments sent, each whole.
verify_payments() { # backend, label, request dir, scenario, order base
    local expected count sum lo hi got bad
    expected=$("$TOOLS/check-run" payments --requests "$3" --scenario "$4" \
        --wrk-out "$OUT/wrk-${2// /_}.txt" --url "$URL") || die "$2: $expected"
    count=$(echo "$expected" | sed -E 's/.*payments=([0-9]+).*/\1/')
    sum=$(echo "$expected" | sed -E 's/.*sum_bani=([0-9]+).*/\1/')
    lo=$(( $5 + 1 )) hi=$(( $5 + 100000000 ))
    got=$(sql "$1" "SELECT COUNT(*) || ' ' || COALESCE(SUM(total), 0) FROM payments WHERE order_no BETWEEN $lo AND $hi")
    bad=$(sql "$1" "SELECT COUNT(*) FROM payments p WHERE p.order_no BETWEEN $lo AND $hi AND p.total <> \
        (SELECT COALESCE(SUM(valoare), 0) FROM payment_items i WHERE i.payment_id = p.id) \
        OR p.order_no BETWEEN $lo AND $hi AND p.total <> \
        (SELECT COALESCE(SUM(amount), 0) FROM allocations a WHERE a.payment_id = p.id) + \
        (SELECT COALESCE(SUM(amount), 0) FROM credits c WHERE c.payment_id = p.id)")
    say "  $2 check: sent $count payments worth $sum bani; database holds $got (payments, bani); $bad payments not wholly allocated"
    [ "$got" = "$count $sum" ] || die "$2: the database does not hold exactly the payments sent"
    [ "$bad" = 0 ] || die "$2: $bad payments whose items or allocations do not add up"
    echo "| $1 | $2 | $count payments, $sum bani sent | $got recorded | none lost, none doubled |" >>"$RESULTS.checks"
}

# A few answers verified by the real client (`call` checks the answer's HMAC).
verify_signatures() { # register folder
    local cui
    for cui in $(awk -F'\t' 'NR % 9973 == 1 {print $1}' "$1/owed.tsv" | head -5); do
        "$BIN" call --url "$URL" --key "$KEY" get-sume "$cui" >/dev/null 2>>"$OUT/log.txt" \
            || die "call get-sume $cui: the answer did not verify"
    done
    say "  5 statements fetched with \`ghiseul-connector call\`: their checks verify"
}

rm -f "$RESULTS.import" "$RESULTS.runs" "$RESULTS.checks" "$RESULTS.scale"

CEILING_LOG="$OUT/ceiling.log"
"$TOOLS/ceiling" "127.0.0.1:$CEILING_PORT" >"$CEILING_LOG" 2>&1 &
CEILING_PID=$!

MAIN=$(register "$TAXPAYERS")
SUME=$(requests "$MAIN" sume "$SUME_COUNT" 0)
PAY=$(requests "$MAIN" pay $((PAY_RATE_CAP * DURATION)) $PAY_BASE)
MIXED=$(requests "$MAIN" mixed $((MIXED_RATE_CAP * DURATION)) $MIXED_BASE)

backends=()
[ "$SQLITE" = 1 ] && backends+=(sqlite)
[ -n "$PG_URL" ] && backends+=(postgres)
for backend in "${backends[@]}"; do
    say "== $backend, $TAXPAYERS taxpayers =="
    fresh_db "$backend" "$TAXPAYERS"
    import_register "$backend" "$MAIN"
    # As a DBA does after a bulk load: otherwise autovacuum works through the new tables
    # during the measured runs (p99 of 200-500 ms seen), and the pages it dirtied are
    # written out by the next checkpoint, also during the runs (CHECKPOINT needs a
    # superuser or pg_checkpoint; without it the runs start with those writes pending).
    if [ "$backend" = postgres ]; then
        sql postgres "VACUUM (ANALYZE)" >/dev/null
        sql postgres "CHECKPOINT" >/dev/null 2>&1 || say "  (CHECKPOINT refused: not a superuser)"
    fi
    start_server "$SUME/sume.0.txt"
    say "  start-up to first answer: $STARTUP_MS ms (load $(load1))"
    echo "| $backend | start-up to first answer | $STARTUP_MS ms | $TAXPAYERS taxpayers | load $(load1) |" >>"$RESULTS.import"
    verify_signatures "$MAIN"

    DURATION_SAVED=$DURATION DURATION=2
    run_load "$backend warm-up" "$SERVER_PID" "$URL" "$SUME/sume" random ours
    DURATION=$DURATION_SAVED
    run_load "$backend getSume" "$SERVER_PID" "$URL" "$SUME/sume" random ours
    ours=$LAST_RPS
    run_load "ceiling getSume" "$CEILING_PID" "$CEILING_URL" "$SUME/sume" random ceiling
    say "  getSume: $(ratio "$ours" "$LAST_RPS") of the ceiling"
    echo "| $backend | getSume | $ours req/s | ceiling $LAST_RPS req/s | **$(ratio "$ours" "$LAST_RPS")** |" >>"$RESULTS.checks"

    run_load "$backend payments" "$SERVER_PID" "$URL" "$PAY/pay" once ours
    ours=$LAST_RPS
    verify_payments "$backend" "$backend payments" "$PAY" pay $PAY_BASE
    run_load "ceiling payments" "$CEILING_PID" "$CEILING_URL" "$PAY/pay" random ceiling
    echo "| $backend | payments | $ours req/s | ceiling $LAST_RPS req/s | **$(ratio "$ours" "$LAST_RPS")** |" >>"$RESULTS.checks"

    run_load "$backend mixed 90-9-1" "$SERVER_PID" "$URL" "$MIXED/mixed" once ours
    ours=$LAST_RPS
    verify_payments "$backend" "$backend mixed 90-9-1" "$MIXED" mixed $MIXED_BASE
    run_load "ceiling mixed" "$CEILING_PID" "$CEILING_URL" "$MIXED/mixed" random ceiling
    echo "| $backend | mixed 90/9/1 | $ours req/s | ceiling $LAST_RPS req/s | **$(ratio "$ours" "$LAST_RPS")** |" >>"$RESULTS.checks"
    stop_server
done

# getSume as the register grows (SQLite): throughput must not fall with size.
if [ "$SQLITE" = 1 ]; then
    for n in $SCALES; do
        say "== sqlite, $n taxpayers (getSume only) =="
        dir=$(register "$n")
        sume=$(requests "$dir" sume "$SUME_COUNT" 0)
        fresh_db sqlite "$n"
        import_register sqlite "$dir"
        start_server "$sume/sume.0.txt"
        say "  start-up to first answer: $STARTUP_MS ms"
        DURATION_SAVED=$DURATION DURATION=2
        run_load "sqlite $n warm-up" "$SERVER_PID" "$URL" "$sume/sume" random ours
        DURATION=$DURATION_SAVED
        run_load "sqlite $n getSume" "$SERVER_PID" "$URL" "$sume/sume" random ours
        stop_server
    done
fi

{
    echo "## Import and start-up"
    echo
    echo "| backend | what | figure | rate | size | load |"
    echo "|---|---|---|---|---|---|"
    cat "$RESULTS.import"
    echo
    echo "## Load runs"
    echo
    echo "| run | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MiB | CPU (of one core) | wrk CPU | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    cat "$RESULTS.runs"
    echo
    echo "## Checks and ratio to the ceiling"
    echo
    echo "| backend | run | sent / ours | recorded / ceiling | verdict / ratio |"
    echo "|---|---|---|---|---|"
    cat "$RESULTS.checks"
} >>"$RESULTS"
rm -f "$RESULTS.import" "$RESULTS.runs" "$RESULTS.checks"
say ""
say "All runs answered as expected. Results: $RESULTS"
