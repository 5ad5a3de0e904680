#!/usr/bin/env bash
# The MariaDB/MySQL suites (the #[ignore]d `mysql` tests of tests/api.rs and tests/audit.rs)
# against the MariaDB server of this machine (127.0.0.1:3306, root, no password).
# Starts MariaDB if it is down, makes a fresh database for this run (each test then makes
# its own `<db>_…` database), and drops them all at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
  echo "== starting MariaDB =="
  # The socket folder lives on a tmpfs that a fresh machine has not made yet.
  install -d -o mysql -g mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 30); do
    mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && break
    sleep 1
  done
fi
mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping

mysql() { mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root "$@"; }
db="ghiseul_ci_$(date +%s)_$$"
mysql -e "CREATE DATABASE $db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
cleanup() {
  mysql -N -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name = '$db' OR schema_name LIKE '${db}\\_%'" 2>/dev/null |
    while read -r name; do mysql -e "DROP DATABASE \`$name\`" || true; done
}
trap cleanup EXIT

echo "== MariaDB suite (ignored tests, GHISEUL_TEST_MYSQL_URL set) =="
GHISEUL_TEST_MYSQL_URL="mysql://root@127.0.0.1:3306/$db" cargo test -- --ignored mysql::
