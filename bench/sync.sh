#!/usr/bin/env bash
# Measures `ghiseul-connector sync` (Annex 2) at city scale against the Transfer simulator
# on this machine: a first sync of N persons (default 1,000,000), then an incremental sync
# after 1% of them changed. SQLite by default; --database-url for another backend.
#
#   bench/sync.sh                          # 1,000,000 persons, SQLite
#   bench/sync.sh --persons 100000         # a quicker look
#   bench/sync.sh --database-url postgres://postgres@127.0.0.1:5432/test
#
# Results go to target/bench-sync/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PERSONS=1000000
DB_URL=""
while (($#)); do
  case "$1" in
    --persons) PERSONS="$2"; shift 2 ;;
    --database-url) DB_URL="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

OUT=target/bench-sync
rm -rf "$OUT"; mkdir -p "$OUT"
BIN=target/release/ghiseul-connector
cargo build --release --quiet
[[ -n "$DB_URL" ]] || DB_URL="sqlite://$PWD/$OUT/sync.db"
export GHISEUL_DATABASE_URL="$DB_URL" GHISEUL_LOG=warn

# N persons with valid CNPs (birth dates 1950-1999, county 22, sequence), 1% renamed in
# the second file.
python3 - "$PERSONS" "$OUT" <<'PY'
import sys, datetime
n, out = int(sys.argv[1]), sys.argv[2]
W = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]
def cnp(i):
    d = datetime.date(1950, 1, 1) + datetime.timedelta(days=i // 1000)
    s = "1" if (i // 1000) % 2 == 0 else "2"
    first = f"{s}{d.year % 100:02}{d.month:02}{d.day:02}22{i % 1000:03}"
    c = sum(int(a) * w for a, w in zip(first, W)) % 11
    return first + str(1 if c == 10 else c)
for name, changed in (("persons.csv", False), ("persons-1pct.csv", True)):
    with open(f"{out}/{name}", "w") as f:
        f.write("cui,nume,adresa\n")
        for i in range(n):
            suffix = " (modificat)" if changed and i % 100 == 7 else ""
            f.write(f'{cnp(i)},Persoana {i}{suffix},"Str. Lungă nr. {i % 300}, Iași"\n')
with open(f"{out}/tax_types.csv", "w") as f:
    f.write("id_tip_suma,nume,prioritate,iban\n")
    f.write("1,Impozit pe clădiri,1,RO50TREZ2165070XXX012345\n2,Impozit pe teren,2,RO23TREZ2165070XXX012346\n")
PY

"$BIN" import tax-types "$OUT/tax_types.csv" >/dev/null
/usr/bin/time -f "%e s, %M KB" -o "$OUT/import.time" "$BIN" import persons "$OUT/persons.csv" >/dev/null
sleep 1.1  # data has a resolution of a second

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" simulate-transfer --listen "127.0.0.1:$PORT" --key bench-key --id-client 1234 \
  --user-client bench --quiet >"$OUT/simulator.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/x?wsdl" >/dev/null && break; sleep 0.1; done
export GHISEUL_TRANSFER_URL="http://127.0.0.1:$PORT/ghiseul_admin/public/transfer/transfer" \
  GHISEUL_TRANSFER_KEY=bench-key GHISEUL_TRANSFER_ID_CLIENT=1234 GHISEUL_TRANSFER_USER_CLIENT=bench

measure() { # label
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%e s, max RSS %M KB" -o "$OUT/$1.time" "$BIN" sync >"$OUT/$1.out"
  end=$(date +%s.%N)
  echo "$(python3 -c "print(f'{$end - $start:.2f}')")"
}
FIRST=$(measure first)
"$BIN" import persons "$OUT/persons-1pct.csv" >"$OUT/import-1pct.out"
INCR=$(measure incremental)

{
  echo "# sync to the Transfer simulator, $PERSONS persons, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "machine: $(nproc) CPU, $(uname -r); database: ${DB_URL%%:*}"
  echo
  echo "| run | wall time | sync process (time) | what was sent |"
  echo "|---|---|---|---|"
  echo "| first sync | $FIRST s | $(cat "$OUT/first.time") | $(grep '^persons' "$OUT/first.out") |"
  echo "| after 1% changed | $INCR s | $(cat "$OUT/incremental.time") | $(grep '^persons' "$OUT/incremental.out") |"
  echo
  echo "import of the persons: $(cat "$OUT/import.time"); 1% re-import: $(cat "$OUT/import-1pct.out")"
} | tee "$OUT/results.md"
