"""Python zeep against the real server: the WSDL loaded from GET /soap?wsdl, both
operations called through zeep's generated service (no hand-written XML), over the SOAP 1.1
and the SOAP 1.2 port of the WSDL. Every response goes through the schema validator before
zeep sees it."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

import harness as h

PORTS = {"1.1": "InformatiiPlataZFPort", "1.2": "InformatiiPlataZFPort12"}
SERVICE = "InformatiiPlataZFService"


class ValidatingTransport(Transport):
    """zeep's own HTTP transport, with every response body validated against the XSD of
    the served WSDL (and the envelope version checked) before zeep parses it."""

    def __init__(self, validator: h.ResponseValidator, version: str):
        super().__init__()
        self.validator, self.version = validator, version
        self.posts = 0

    def post(self, address, message, headers):
        self.posts += 1
        response = super().post(address, message, headers)
        assert h.content_type_for(self.version) in response.headers.get("Content-Type", "")
        self.validator.validate(response.content, self.version)
        return response


class Ghiseul:
    """What ghiseul.ro does, through zeep: signs requests, verifies answers."""

    def __init__(self, server: h.Server, version: str):
        self.key = server.key
        self.validator = h.validator_for(server)
        self.transport = ValidatingTransport(self.validator, version)
        self.client = zeep.Client(server.wsdl_url, transport=self.transport)
        self.service = self.client.bind(SERVICE, PORTS[version])

    @staticmethod
    def now() -> str:
        return datetime.now(ZoneInfo("Europe/Bucharest")).strftime("%Y%m%d%H%M%S")

    def sume(self, cui: str, check: str | None = None):
        """Calls getSumeDePlataPePersoana; returns [(id, valoare, header, lines)] after
        verifying the response check over the values as zeep returns them."""
        result = self.service.getSumeDePlataPePersoana(
            cui=cui, timestamp=self.now(), check=check or h.sign(self.key, cui)
        )
        items = []
        for t in (result.sume.item if result.sume is not None else None) or []:
            header = list(t.detaliiHeader.item or [])
            lines = [list(line.linie.item or []) for line in (t.detaliiBody.item or [])]
            assert all(len(line) == len(header) for line in lines), "norm: same length"
            items.append((t.idTipSuma, t.valoare, header, lines))
        expected = h.sign(self.key, h.sume_response_text(items))
        assert result.check == expected, "the response check does not verify"
        assert len(result.dataCalcul) == 8 and result.dataCalcul.isdigit()
        assert len(result.timestamp) == 14 and result.timestamp.isdigit()
        return items

    def amounts(self, cui: str) -> dict[int, str]:
        return {i: h.lei(v) for i, v, _, _ in self.sume(cui)}

    def pay(self, order: int, cui: str, sume, data="2025-06-02 10:15:00", check=None) -> bool:
        """Calls inregistrareIncasari with float amounts (as a SOAP stack binds
        xsd:float); the check covers them written with two decimals."""
        text = h.incasari_request_text(order, cui, data, sume)
        return self.service.inregistrareIncasari(
            order=order,
            cui=cui,
            sume={"item": [{"idTipSuma": i, "valoare": float(v)} for i, v in sume]},
            data=data,
            timestamp=self.now(),
            check=check or h.sign(self.key, text),
        )


@pytest.fixture(params=["1.1", "1.2"], ids=["soap11", "soap12"])
def ghiseul(request):
    # A fresh key per run: nothing in the suite can depend on a hard-coded check.
    with h.ServerFixture(key="cheie-interop-" + secrets.token_hex(8)) as server:
        g = Ghiseul(server, request.param)
        yield g
        # Every POST zeep made was answered and validated (a failing validation raises).
        assert g.transport.posts == g.validator.validated > 0


def test_statement_lists_each_tax_type_with_a_verified_check(ghiseul):
    items = ghiseul.sume(h.POPESCU)
    assert [(i, h.lei(v)) for i, v, _, _ in items] == [
        (1, "326.00"),
        (2, "30.50"),
        (5, "100.00"),
        (7, "50.00"),
    ]
    one = items[0]
    assert one[2] == ["Proprietate", "Debit", "Rămășiță", "Majorări", "Penalități"]
    assert one[3] == [
        ["Casă & garaj, Str. Lungă nr. 1", "100.00", "20.00", "5.00", "1.00"],
        ["Casă & garaj, Str. Lungă nr. 1", "200.00", "0.00", "0.00", "0.00"],
    ]
    assert items[1][3] == [["Teren intravilan <500 mp>", "30.50", "0.00", "0.00", "0.00"]]
    assert items[2][2][0] == "Proces-verbal", "a tax type's own header"


def test_a_person_who_owes_nothing_gets_an_empty_list_signed_over_nothing(ghiseul):
    assert ghiseul.sume(h.IONESCU) == []


def test_a_firm_is_found_by_its_cif(ghiseul):
    assert ghiseul.amounts(h.FIRMA) == {1: "1000.00"}


def test_payment_round_trip_pay_retry_conflict_query(ghiseul):
    before = ghiseul.sume(h.POPESCU)
    paid = [(1, "150.00"), (2, "30.50")]
    assert ghiseul.pay(1001, h.POPESCU, paid) is True
    after = ghiseul.sume(h.POPESCU)
    assert after != before
    # 150.00 on type 1: rămășiță 20.00, then the oldest debit 100.00, then 30.00 of the
    # next debit; type 2 is paid in full and leaves the statement.
    assert {i: h.lei(v) for i, v, _, _ in after} == {1: "176.00", 5: "100.00", 7: "50.00"}
    assert after[0][3] == [
        ["Casă & garaj, Str. Lungă nr. 1", "0.00", "0.00", "5.00", "1.00"],
        ["Casă & garaj, Str. Lungă nr. 1", "170.00", "0.00", "0.00", "0.00"],
    ]
    # The same order again is a retry: true, and nothing changes.
    assert ghiseul.pay(1001, h.POPESCU, paid) is True
    assert ghiseul.sume(h.POPESCU) == after
    # The same order with other content: false, and nothing changes.
    assert ghiseul.pay(1001, h.POPESCU, [(1, "150.00"), (2, "30.00")]) is False
    assert ghiseul.sume(h.POPESCU) == after
    # A new order is recorded again.
    assert ghiseul.pay(1002, h.POPESCU, [(7, "50.00")]) is True
    assert ghiseul.amounts(h.POPESCU) == {1: "176.00", 5: "100.00"}


def assert_fault(excinfo, code: str, text: str):
    fault = excinfo.value
    assert str(fault.code) == code, f"fault code {fault.code!r}"
    assert fault.message.startswith(text), fault.message


def test_fault_1_bad_check_on_a_query(ghiseul):
    with pytest.raises(Fault) as e:
        ghiseul.sume(h.POPESCU, check="0" * 40)
    assert_fault(e, "1", "Mesaj invalid")
    assert "suma de control" in e.value.message


def test_fault_1_bad_check_on_a_payment_records_nothing(ghiseul):
    with pytest.raises(Fault) as e:
        ghiseul.pay(1001, h.POPESCU, [(1, "150.00")], check=h.sign("alta-cheie", "x"))
    assert_fault(e, "1", "Mesaj invalid")
    assert ghiseul.amounts(h.POPESCU)[1] == "326.00"


def test_fault_2_cui_not_in_the_register(ghiseul):
    with pytest.raises(Fault) as e:
        ghiseul.sume(h.NECUNOSCUT)
    assert_fault(e, "2", "CUI invalid sau inexistent")


def test_fault_2_invalid_cnp(ghiseul):
    with pytest.raises(Fault) as e:
        ghiseul.sume(h.CNP_GRESIT)
    assert_fault(e, "2", "CUI invalid sau inexistent")
    assert "cifra de control" in e.value.message


def test_fault_2_payment_for_an_unknown_person(ghiseul):
    with pytest.raises(Fault) as e:
        ghiseul.pay(1003, h.NECUNOSCUT, [(1, "10.00")])
    assert_fault(e, "2", "CUI invalid sau inexistent")
