"""Annex 4 through Python zeep: a server of two institutions (two `[[institutie]]`
sections, two SQLite files, two keys), the WSDL loaded from GET /zf?wsdl, and
getSumeDePlataPePersoana called with `cuiInstitutie` through zeep's generated service (no
hand-written XML). Every response is validated against the XSD embedded in that WSDL
before zeep sees it; the response check is verified with the key of the institution
named (README, "Several institutions on one server": decisions D19/D20)."""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

import harness as h

CUI_A = "4351446"  # the fixture register
CUI_B = "4267117"  # one firm owing 123.45 on type 2
B_PERSONS = "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n1,31245671,SC Exemplu SRL,Vaslui\n"
B_DEBTS = (
    "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n"
    "31245671,2,Teren Vaslui,123.45,0,0,0,2025-03-31\n"
)


class ValidatingTransport(Transport):
    def __init__(self, validator: h.ResponseValidator):
        super().__init__()
        self.validator = validator
        self.posts = 0

    def post(self, address, message, headers):
        self.posts += 1
        response = super().post(address, message, headers)
        self.validator.validate(response.content, "1.1")
        return response


@pytest.fixture(scope="module")
def zf():
    keys = {CUI_A: "cheie-a-" + secrets.token_hex(8), CUI_B: "cheie-b-" + secrets.token_hex(8)}
    tmp = tempfile.TemporaryDirectory(prefix="ghiseul-interop-zf-")
    work = Path(tmp.name)
    port = h.free_port()
    config = work / "ghiseul.toml"
    text = f'listen = "127.0.0.1:{port}"\n'
    for cui, path in ((CUI_A, "/a"), (CUI_B, "/b")):
        text += (
            f'\n[[institutie]]\ninstitutie_cui = "{cui}"\nsoap_path = "{path}"\n'
            f'hmac_key = "{keys[cui]}"\ndatabase_url = "sqlite://{work / (cui + ".db")}"\n'
        )
    config.write_text(text)
    (work / "b-persons.csv").write_text(B_PERSONS)
    (work / "b-debts.csv").write_text(B_DEBTS)
    env = {"PATH": "/usr/bin:/bin", "GHISEUL_LOG": "warn"}
    base = ["--config", str(config)]
    for cui, kind, file in [
        (CUI_A, "tax-types", h.FIXTURES / "tax-types.csv"),
        (CUI_A, "persons", h.FIXTURES / "persons.csv"),
        (CUI_A, "debts", h.FIXTURES / "debts.csv"),
        (CUI_B, "tax-types", h.FIXTURES / "tax-types.csv"),
        (CUI_B, "persons", work / "b-persons.csv"),
        (CUI_B, "debts", work / "b-debts.csv"),
    ]:
        h.cli(env, *base, "--institutie", cui, "import", kind, str(file))
    log = work / "server.log"
    process = subprocess.Popen(
        [str(h.BINARY), *base, "serve"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    wsdl_url = f"http://127.0.0.1:{port}/zf?wsdl"
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(wsdl_url, timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server did not answer in time:\n{log.read_text()}")
        time.sleep(0.05)
    validator = h.ResponseValidator(h.get(wsdl_url))
    transport = ValidatingTransport(validator)
    client = zeep.Client(wsdl_url, transport=transport)
    service = client.bind("InformatiiPlataZFService", "InformatiiPlataZFPort")
    try:
        yield service, keys
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert transport.posts == validator.validated > 0
        tmp.cleanup()


def now() -> str:
    return datetime.now(ZoneInfo("Europe/Bucharest")).strftime("%Y%m%d%H%M%S")


def sume(zf, cui_institutie: str, cui: str, key: str | None = None) -> dict[int, str]:
    """getSumeDePlataPePersoana for `cui` at `cui_institutie`, signed with that
    institution's key (or `key`); the response check verified with the institution's."""
    service, keys = zf
    result = service.getSumeDePlataPePersoana(
        cuiInstitutie=cui_institutie,
        cui=cui,
        timestamp=now(),
        check=h.sign(key or keys[cui_institutie], cui),
    )
    items = []
    for t in (result.sume.item if result.sume is not None else None) or []:
        header = list(t.detaliiHeader.item or [])
        lines = [list(line.linie.item or []) for line in (t.detaliiBody.item or [])]
        items.append((t.idTipSuma, t.valoare, header, lines))
    assert result.check == h.sign(keys[cui_institutie], h.sume_response_text(items))
    return {i: h.lei(v) for i, v, _, _ in items}


def test_annex4_answers_from_the_register_of_cui_institutie(zf):
    assert sume(zf, CUI_A, h.FIRMA) == {1: "1000.00"}
    assert sume(zf, CUI_B, h.FIRMA) == {2: "123.45"}


def test_annex4_person_of_another_institution_is_fault_2(zf):
    with pytest.raises(Fault) as e:
        sume(zf, CUI_B, h.POPESCU)
    assert e.value.message.startswith(h.FAULT_TEXT[2])


def test_annex4_request_signed_with_another_institutions_key_is_fault_1(zf):
    with pytest.raises(Fault) as e:
        sume(zf, CUI_B, h.FIRMA, key=zf[1][CUI_A])
    assert e.value.message.startswith(h.FAULT_TEXT[1])


def test_annex4_unknown_cui_institutie_is_fault_2(zf):
    service, keys = zf
    with pytest.raises(Fault) as e:
        service.getSumeDePlataPePersoana(
            cuiInstitutie="31245671", cui=h.FIRMA, timestamp=now(), check=h.sign(keys[CUI_A], h.FIRMA)
        )
    assert e.value.message.startswith(h.FAULT_TEXT[2])
