#!/usr/bin/env bash
# The interoperability suite alone: zeep and PHP SoapClient (SOAP 1.1 and 1.2) against the
# real server, every response validated against the XSD of the served WSDL, the golden
# files of docs/protocol.md, and the replay of the SoapUI project.
#
# Needs: target/release/ghiseul-connector (built here if missing or stale), python3 with
# zeep, xmlschema and pytest, php-cli with php-soap, xmllint. tests/interop/ci.sh installs
# them on a fresh Debian machine. Extra arguments go to pytest (e.g. -k zeep).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== cargo build --release =="
cargo build --release --quiet

echo "== the SoapUI project and the golden files are well-formed XML =="
xmllint --noout soapui/ghiseul-connector-soapui-project.xml docs/golden/*.xml
echo "ok"

echo "== interoperability suite (pytest tests/interop) =="
exec python3 -m pytest tests/interop -p no:cacheprovider -v "$@"
