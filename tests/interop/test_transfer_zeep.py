"""Python zeep against `ghiseul-connector simulate-transfer` (Annex 2, ghiseul.ro's side):
the WSDL loaded from `?wsdl`, every one of the twelve operations called through zeep's
generated service (no hand-written XML), the checks computed here from the note's rules
(§1.5 of annexes-2-5.md, restated independently of the Rust code), and the note's
known-answer vector P1 reproduced on the wire. Proves the simulator is faithful to the
WSDL for a client nobody here wrote."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import time
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import zeep
from zeep.exceptions import Fault

import harness as h

KEY = "cheie-test"
ID_CLIENT = 1234
USER = "primaria.exemplu"
UTILIZATOR = "1234.ghiseul@srv-taxe"


def check(key: str, items, fields) -> str:
    """HMAC-SHA1 over, for each item in order, its fields in the printed order."""
    text = "".join(str(item[f]) for item in items for f in fields)
    return hmac.new(key.encode(), text.encode("utf-8"), hashlib.sha1).hexdigest()


PERSON_FIELDS = ("cod", "cui", "nume", "adresa", "data")
TAX_FIELDS = ("cod", "idNomUnic", "nume", "iban", "debit", "valInitiala", "inactiv", "platitor", "data")
DELETION_FIELDS = ("cod", "codObiectSters", "fizjur")

P1 = {"cui": "1780315123453", "nume": "Popescu Ion", "adresa": "Str. Lungă nr. 1, Brașov",
      "cod": "17", "data": "2010-10-22 16:06:12"}
P2 = {"cui": "2851120400122", "nume": "Ionescu Maria", "adresa": "Bd. Unirii nr. 7, București",
      "cod": "18", "data": "2011-01-05 09:15:00"}
PFA = {"cui": "32213716", "nume": "Pop Vasile PFA", "adresa": "Str. Morii nr. 3, Cluj-Napoca",
       "cod": "901", "data": "2011-02-03 10:00:00"}
T1 = {"cod": "3", "idNomUnic": "", "nume": "Impozit pe clădiri persoane fizice",
      "iban": "RO33TREZ1315069XXX012345", "debit": "1", "valInitiala": "", "inactiv": "0",
      "data": "2010-10-22 16:06:12", "platitor": "1"}
T2 = {"cod": "12", "idNomUnic": "", "nume": "Taxă certificat fiscal",
      "iban": "RO29TREZ1315069XXX054321", "debit": "0", "valInitiala": "5.00", "inactiv": "0",
      "data": "2011-01-10 08:00:00", "platitor": "0"}


def test_the_note_vectors_hold_in_this_restatement():
    assert check(KEY, [P1], PERSON_FIELDS) == "ed6ace1882bb4e0ae68ead317703723bbed67f55"
    assert check(KEY, [P1, P2], PERSON_FIELDS) == "8f3c5194f47c3790ddfc0f17ccd6bbf6fd40c5db"
    assert check(KEY, [PFA], PERSON_FIELDS) == "358ea7fd774c5025e934fb9dd8d2c064efa31958"
    assert check(KEY, [T1, T2], TAX_FIELDS) == "fa413609c698fcfddc2f27c276cd597632e6c0e0"
    d = [{"cod": "41", "codObiectSters": "17", "fizjur": "1"},
         {"cod": "42", "codObiectSters": "901", "fizjur": "2"}]
    assert check(KEY, d, DELETION_FIELDS) == "c26f3aa46a6a7d208f170d04da3e9f5edc5ca2b3"
    assert check(KEY, [], PERSON_FIELDS) == "31995607972adf7efdea24ec6732a8c4f4475f1e"


@pytest.fixture(scope="module")
def simulator():
    port = h.free_port()
    proc = subprocess.Popen(
        [str(h.BINARY), "simulate-transfer", "--listen", f"127.0.0.1:{port}", "--key", KEY,
         "--id-client", str(ID_CLIENT), "--user-client", USER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}/ghiseul_admin/public/transfer/transfer"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "?wsdl", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    yield url, proc
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def service(simulator):
    url, _ = simulator
    client = zeep.Client(url + "?wsdl")
    return client.service


def now() -> str:
    return datetime.now(ZoneInfo("Europe/Bucharest")).strftime("%Y%m%d%H%M%S")


def send(service, op: str, items, fields, first=True, last=True, key=KEY, deletion=False):
    args = dict(idClient=ID_CLIENT, userClient=USER, date={"item": items}, timestamp=now(),
                primulPachet=first, ultimulPachet=last, check=check(key, items, fields))
    if not deletion:
        args["utilizator"] = UTILIZATOR
    return getattr(service, op)(**args)


def marks(service, op: str) -> str:
    return getattr(service, op)(idClient=ID_CLIENT, userClient=USER, timestamp=now())


def test_every_operation_through_zeep(service, simulator):
    _, proc = simulator
    assert service.connectionTest() not in (None, "")
    for op in ("getUltimaDataPersoane", "getUltimaDataFirme", "getUltimaDataTipuriSume",
               "getUltimCodStergeri"):
        assert marks(service, op) == "0"

    assert send(service, "transferTipuriSume", [T1, T2], TAX_FIELDS) == "0"
    assert marks(service, "getUltimaDataTipuriSume") == "2011-01-10 08:00:00"
    assert send(service, "transferPersoane", [P1], PERSON_FIELDS) == "0"
    assert marks(service, "getUltimaDataPersoane") == "2010-10-22 16:06:12"
    assert send(service, "transferFirme", [PFA], PERSON_FIELDS) == "0"
    assert marks(service, "getUltimaDataFirme") == "2011-02-03 10:00:00"

    changed = dict(P1, nume="Popescu Ion Vasile", data="2011-03-01 12:00:00")
    assert send(service, "actualizarePersoane", [changed, P2], PERSON_FIELDS) == "0"
    assert marks(service, "getUltimaDataPersoane") == "2011-03-01 12:00:00"
    assert send(service, "actualizareFirme", [dict(PFA, data="2011-03-02 00:00:00")],
                PERSON_FIELDS) == "0"
    assert marks(service, "getUltimaDataFirme") == "2011-03-02 00:00:00"
    assert send(service, "actualizareTipuriSume", [dict(T2, inactiv="1", data="2011-03-03 00:00:00")],
                TAX_FIELDS) == "0"
    assert marks(service, "getUltimaDataTipuriSume") == "2011-03-03 00:00:00"

    deletions = [{"cod": "41", "codObiectSters": "17", "fizjur": "1"},
                 {"cod": "42", "codObiectSters": "901", "fizjur": "2"}]
    assert send(service, "stergere", deletions, DELETION_FIELDS, deletion=True) == "0"
    assert marks(service, "getUltimCodStergeri") == "42"
    # P1 (cod 17) is gone: the mark is P2's.
    assert marks(service, "getUltimaDataPersoane") == "2011-01-05 09:15:00"


def test_faults_come_back_as_zeep_faults_with_the_norms_codes(service):
    with pytest.raises(Fault) as f:
        send(service, "transferPersoane", [P1], PERSON_FIELDS, key="alta-cheie")
    assert f.value.code.split(":")[-1] == "1"
    with pytest.raises(Fault) as f:
        service.getUltimaDataPersoane(idClient=99, userClient=USER, timestamp=now())
    assert f.value.code == "2"
    with pytest.raises(Fault) as f:
        service.getUltimaDataPersoane(idClient=ID_CLIENT, userClient="altcineva", timestamp=now())
    assert f.value.code == "3"
    with pytest.raises(Fault) as f:
        send(service, "transferPersoane", [P1, dict(P2, cui=P1["cui"])], PERSON_FIELDS)
    assert f.value.code == "6" and "(1780315123453)" in f.value.message
    with pytest.raises(Fault) as f:
        send(service, "transferPersoane", [dict(P1, cui="1780315123454")], PERSON_FIELDS)
    assert f.value.code == "7" and f.value.message == "Error. CNP-uri invalide: 1780315123454"
    many = [dict(P1, cui=P1["cui"], cod=str(i)) for i in range(1001)]
    with pytest.raises(Fault) as f:
        send(service, "transferPersoane", many, PERSON_FIELDS)
    assert f.value.code == "8"
