#!/usr/bin/env bash
# getSume answered live from a tax system's PostgreSQL database through the configured
# queries (issue 11, the live SQL register), against the same register imported into our
# tables. One command:
#
#   bench/live.sh --postgres-url postgres://postgres@127.0.0.1:5432/test [--taxpayers N]
#
# It generates the seeded register of bench/run.sh, imports it into a database
# `ghiseul_bench_ours` with the real `import` commands, and loads the same CSV files into
# a database `ghiseul_bench_taxe` shaped like a tax system of its own (Romanian table and
# column names, amounts NUMERIC(12,2), due dates DATE, an index on the fiscal code). Then
# it runs the same statements-only load (wrk, pre-signed requests, every answer checked
# against the register) twice: the server on the imported register, then the server
# configured with register_url and the three queries (and a booked query on an empty
# table of payments). Results go to the terminal and to OUT/results.md; see
# docs/performance.md, "The live SQL register".
#
# Options:
#   --postgres-url URL   the server where both databases are (re)created (required)
#   --taxpayers N        register size (default 100000)
#   --duration SECS      length of each measured run (default 10)
#   --connections C      concurrent connections, one wrk thread each (default 16)
#   --seed S             register and request seed (default 42)
#   --out DIR            work folder (default target/bench-live)
#   --profile P          cargo profile of the builds: release (default) or debug

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAXPAYERS=100000 DURATION=10 CONNS=16 PG_URL="" SEED=42 OUT="$ROOT/target/bench-live" PROFILE=release
while [ $# -gt 0 ]; do
    case "$1" in
        --taxpayers) TAXPAYERS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --postgres-url) PG_URL=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$PG_URL" ] || { echo "--postgres-url is required (see --help)" >&2; exit 2; }
export GHISEUL_LOG=${GHISEUL_LOG:-info}
KEY="cheie-bench-$SEED" PORT=18080 URL="http://127.0.0.1:18080/soap"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
say() { printf '%s\n' "$*" | tee -a "$OUT/log.txt" >&2; }
die() { say "FAILED: $*"; exit 1; }
load1() { cut -d' ' -f1 /proc/loadavg; }
for t in wrk psql; do command -v $t >/dev/null || die "$t is needed"; done

cargo_flags=()
[ "$PROFILE" = release ] && cargo_flags=(--release)
say "building ghiseul-connector and the bench tools ($PROFILE)"
(cd "$ROOT" && cargo build "${cargo_flags[@]}" --bin ghiseul-connector) >>"$OUT/build.log" 2>&1 \
    || die "cargo build failed (see $OUT/build.log)"
(cd "$ROOT/bench" && CARGO_TARGET_DIR="$ROOT/target" cargo build "${cargo_flags[@]}") >>"$OUT/build.log" 2>&1 \
    || die "cargo build of bench/ failed (see $OUT/build.log)"
BIN="$ROOT/target/$PROFILE/ghiseul-connector" TOOLS="$ROOT/target/$PROFILE"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT

# --- the register, the requests and the two databases ----------------------------------
REG="$OUT/register-$TAXPAYERS-$SEED"
if [ ! -f "$REG/done" ]; then
    "$TOOLS/gen-register" --taxpayers "$TAXPAYERS" --seed "$SEED" --out "$REG" >>"$OUT/log.txt"
    touch "$REG/done"
fi
REQ="$REG/requests-$CONNS"
if [ ! -f "$REQ/sume.done" ]; then
    "$TOOLS/make-requests" --owed "$REG/owed.tsv" --key "$KEY" --scenario sume --count 200000 \
        --threads "$CONNS" --out "$REQ" --seed "$SEED" --order-base 0 >>"$OUT/log.txt"
    touch "$REQ/sume.done"
fi
base="${PG_URL%%\?*}"
server="${base%/*}"
OURS="$server/ghiseul_bench_ours" TAXE="$server/ghiseul_bench_taxe"
for db in ghiseul_bench_ours ghiseul_bench_taxe; do
    psql "$PG_URL" -qtAc "DROP DATABASE IF EXISTS $db" >/dev/null
    psql "$PG_URL" -qtAc "CREATE DATABASE $db" >/dev/null
done
say "importing $TAXPAYERS taxpayers into our tables"
for kind in tax-types persons debts; do
    file="$REG/${kind//-/_}.csv"
    GHISEUL_DATABASE_URL="$OURS" "$BIN" import "$kind" "$file" >>"$OUT/log.txt" 2>&1 \
        || die "import $kind failed (see $OUT/log.txt)"
done
say "loading the same files into the tax system's own schema"
psql "$TAXE" -q -v ON_ERROR_STOP=1 >>"$OUT/log.txt" <<SQL
CREATE TABLE nomenclator_taxe (cod_taxa INTEGER PRIMARY KEY, denumire VARCHAR(100) NOT NULL,
    ordine_plata INTEGER NOT NULL, cont_iban VARCHAR(34));
CREATE TABLE contribuabili_import (nr_crt INTEGER, cod_fiscal VARCHAR(20), denumire VARCHAR(200),
    domiciliu VARCHAR(300));
CREATE TABLE debite (cod_fiscal VARCHAR(20) NOT NULL, cod_taxa INTEGER NOT NULL,
    explicatie VARCHAR(200), suma_debit NUMERIC(12,2) NOT NULL, suma_ramasita NUMERIC(12,2) NOT NULL,
    suma_majorari NUMERIC(12,2) NOT NULL, suma_penalitati NUMERIC(12,2) NOT NULL,
    data_scadenta DATE NOT NULL, nr_debit VARCHAR(40));
CREATE TABLE incasari_ghiseul (nr_comanda BIGINT, nr_articol INTEGER, cod_fiscal VARCHAR(20),
    PRIMARY KEY (nr_comanda, nr_articol));
\copy nomenclator_taxe FROM '$REG/tax_types.csv' CSV HEADER
\copy contribuabili_import FROM '$REG/persons.csv' CSV HEADER
\copy debite FROM '$REG/debts.csv' CSV HEADER
CREATE TABLE contribuabili AS SELECT regexp_replace(cod_fiscal, '^RO', '') AS cod_fiscal,
    denumire, domiciliu FROM contribuabili_import;
ALTER TABLE contribuabili ADD PRIMARY KEY (cod_fiscal);
CREATE INDEX debite_dupa_cod_fiscal ON debite (cod_fiscal);
CREATE INDEX incasari_dupa_cod_fiscal ON incasari_ghiseul (cod_fiscal);
ANALYZE;
SQL

# --- the two runs -----------------------------------------------------------------------
RESULTS="$OUT/results.md"
echo "| register | req/s | p50 ms | p99 ms | max ms | errors | load |" >"$RESULTS"
echo "|---|---|---|---|---|---|---|" >>"$RESULTS"
run() { # label (the server's environment is set by the caller)
    "$TOOLS/check-run" first-answer --url "$URL" --requests "$REQ/sume.0.txt" --timeout-secs 120 \
        || die "the server gave no answer (see $OUT/server.log)"
    local out="$OUT/wrk-${1// /_}.txt" load result
    wrk -t"$CONNS" -c"$CONNS" -d3s --timeout 5s -s "$ROOT/bench/load.lua" "$URL" \
        -- "$REQ/sume" random ours >/dev/null 2>&1 || true
    load=$(load1)
    wrk -t"$CONNS" -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$ROOT/bench/load.lua" "$URL" \
        -- "$REQ/sume" random ours >"$out" 2>&1 || die "wrk failed: $(tail -3 "$out")"
    result=$(grep '^RESULT' "$out") || die "$1: no result from wrk (see $out)"
    v() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    say "  $1: $(v rps) req/s, p50 $(v p50_ms) ms, p99 $(v p99_ms) ms, max $(v max_ms) ms, errors $(v errors) (socket $(v socket_errors)), load $load"
    echo "| $1 | **$(v rps)** | $(v p50_ms) | $(v p99_ms) | $(v max_ms) | $(( $(v errors) + $(v socket_errors) )) | $load |" >>"$RESULTS"
    [ "$(v errors)" = 0 ] && [ "$(v socket_errors)" = 0 ] || die "$1: unexpected answers (see $out)"
}
say "== getSume, $TAXPAYERS taxpayers, $DURATION s, $CONNS connections, build $PROFILE =="
GHISEUL_LISTEN="127.0.0.1:$PORT" GHISEUL_DATABASE_URL="$OURS" GHISEUL_HMAC_KEY="$KEY" \
    "$BIN" serve >>"$OUT/server.log" 2>&1 &
SERVER_PID=$!
run "imported into our tables"
stop_server
GHISEUL_LISTEN="127.0.0.1:$PORT" GHISEUL_DATABASE_URL="$OURS" GHISEUL_HMAC_KEY="$KEY" \
GHISEUL_REGISTER_URL="$TAXE" \
GHISEUL_REGISTER_TAXPAYER_QUERY="SELECT cod_fiscal AS cui, denumire AS nume, domiciliu AS adresa FROM contribuabili WHERE cod_fiscal = :cui" \
GHISEUL_REGISTER_DEBTS_QUERY="SELECT cod_taxa AS id_tip_suma, explicatie AS descriere, suma_debit::text AS debit, suma_ramasita::text AS ramasita, suma_majorari::text AS majorari, suma_penalitati::text AS penalitati, data_scadenta::text AS scadenta FROM debite WHERE cod_fiscal = :cui ORDER BY nr_debit" \
GHISEUL_REGISTER_TAX_TYPES_QUERY="SELECT cod_taxa AS id_tip_suma, denumire AS nume, ordine_plata AS prioritate, cont_iban AS iban FROM nomenclator_taxe" \
GHISEUL_REGISTER_BOOKED_QUERY="SELECT nr_comanda FROM incasari_ghiseul WHERE cod_fiscal = :cui" \
    "$BIN" serve >>"$OUT/server.log" 2>&1 &
SERVER_PID=$!
run "live from the tax system's database"
stop_server
say "results in $RESULTS"
