#!/usr/bin/env bash
# CI step for the interoperability suite on a fresh Debian machine: installs PHP's
# SoapClient, xmllint, zeep, xmlschema and pytest when they are missing, then runs
# tests/interop/run.sh (which builds the release binary).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v php >/dev/null || missing+=(php-cli)
# (grep without -q reads all of php -m, so pipefail never sees a SIGPIPE)
{ command -v php >/dev/null && php -m | grep -x soap >/dev/null; } || missing+=(php-soap)
command -v xmllint >/dev/null || missing+=(libxml2-utils)
if ((${#missing[@]})); then
  echo "== apt-get install ${missing[*]} =="
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import zeep, xmlschema, pytest' 2>/dev/null; then
  echo "== pip install zeep xmlschema pytest =="
  command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1 || {
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
  }
  # Debian's own python3 refuses pip installs outside a venv (PEP 668); allow it there.
  python3 -m pip install --quiet zeep xmlschema pytest ||
    python3 -m pip install --quiet --break-system-packages zeep xmlschema pytest
fi

exec tests/interop/run.sh "$@"
