"""PHP's SoapClient (Debian php-cli + php-soap, WSDL mode) against the real server, SOAP 1.1
and 1.2. The scenario and its assertions are in php/ghiseul_client.php, in PHP; here the
server is started, the script is run, and every response it received is validated against
the XSD of the served WSDL."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness as h

SCRIPT = h.HERE / "php" / "ghiseul_client.php"


def php_with_soap() -> str:
    php = shutil.which("php")
    if php is None:
        pytest.fail("php is not installed (Debian: apt-get install php-cli php-soap)")
    mods = subprocess.run([php, "-m"], capture_output=True, text=True).stdout.split()
    if "soap" not in mods:
        pytest.fail("PHP's soap extension is missing (Debian: apt-get install php-soap)")
    return php


@pytest.mark.parametrize("version", ["1.1", "1.2"], ids=["soap11", "soap12"])
def test_php_soapclient_scenario(version):
    php = php_with_soap()
    key = "cheie-interop-" + secrets.token_hex(8)
    with h.ServerFixture(key=key) as server, tempfile.TemporaryDirectory() as dump:
        done = subprocess.run(
            [php, str(SCRIPT), server.wsdl_url, version, key, dump],
            capture_output=True,
            text=True,
            timeout=120,
        )
        print(done.stdout)
        print(done.stderr)
        assert done.returncode == 0, "the PHP scenario failed:\n" + done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert not [l for l in lines if l.startswith("not ok")]
        planned = re.search(r"^1\.\.(\d+)$", done.stdout, re.M)
        assert planned and int(planned.group(1)) >= 40, "the scenario ran to its end"

        validator = h.validator_for(server)
        files = sorted(Path(dump).glob("*.xml"))
        reported = int(re.search(r"responses received: (\d+)", done.stdout).group(1))
        assert len(files) == reported > 0
        faults = 0
        for f in files:
            parsed = validator.validate(f.read_bytes(), version)
            faults += parsed.fault is not None
        assert faults == 5, "the five fault cases answered with SOAP faults"
        assert validator.validated == len(files)
