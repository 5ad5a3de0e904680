"""The golden exchanges of docs/protocol.md: each request is sent as-is to the running server
(fixed key, fixed public URL, the fixture register), and its answer is compared with the
golden response.

    python3 tests/interop/golden.py --update   # rewrite docs/golden/ and the docs' blocks

Normalisation (documented in docs/protocol.md): the server's `timestamp` and `dataCalcul`
name the moment of the answer, so before comparing they are replaced by the fixed values
below. No check depends on them (interface.md §2), so every check stays as the server wrote
it. Both sides are then pretty-printed by lxml (indentation only: prefixes, namespaces and
text are kept), so the golden files are readable and the comparison ignores nothing but
whitespace between elements.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

import harness as h

GOLDEN_DIR = h.ROOT / "docs" / "golden"
PROTOCOL_MD = h.ROOT / "docs" / "protocol.md"

KEY = "cheie-secreta-test"
PUBLIC_URL = "http://127.0.0.1:8080/soap"
NAMESPACE = PUBLIC_URL  # the target namespace defaults to the public URL
REQUEST_TIMESTAMP = "20250602101500"
PAYMENT_DATA = "2025-06-02 10:15:00"
FIXED_TIMESTAMP = "20250602101501"
FIXED_DATA_CALCUL = "20250602"

ENV = {"1.1": ("soapenv", h.SOAP11_ENV), "1.2": ("env", h.SOAP12_ENV)}


@dataclass
class Case:
    name: str
    version: str
    operation: str
    fields: dict  # cui, check, and for payments order, data, sume
    status: int
    title: str
    hold_database: bool = False  # fault 3: another process holds the write lock


def sume_case(name, version, cui, status, title, check=None) -> Case:
    return Case(
        name,
        version,
        "getSumeDePlataPePersoana",
        {"cui": cui, "check": check or h.sign(KEY, h.sume_request_text(cui))},
        status,
        title,
    )


def pay_case(name, version, order, cui, sume, status, title, check=None, hold=False) -> Case:
    text = h.incasari_request_text(order, cui, PAYMENT_DATA, sume)
    return Case(
        name,
        version,
        "inregistrareIncasari",
        {
            "order": str(order),
            "cui": cui,
            "sume": sume,
            "data": PAYMENT_DATA,
            "check": check or h.sign(KEY, text),
        },
        status,
        title,
        hold,
    )


# In this order, on one fresh server: the payments change what the later queries see.
CASES = [
    sume_case("01-sume-soap11", "1.1", h.POPESCU, 200, "getSumeDePlataPePersoana, SOAP 1.1"),
    sume_case("02-sume-soap12", "1.2", h.POPESCU, 200, "getSumeDePlataPePersoana, SOAP 1.2"),
    sume_case("03-sume-empty-soap11", "1.1", h.IONESCU, 200, "a person who owes nothing"),
    pay_case(
        "04-incasari-soap11",
        "1.1",
        1001,
        h.POPESCU,
        [(1, "150.00"), (2, "30.50")],
        200,
        "inregistrareIncasari, SOAP 1.1",
    ),
    pay_case(
        "05-incasari-soap12",
        "1.2",
        1002,
        h.POPESCU,
        [(7, "50.00")],
        200,
        "inregistrareIncasari, SOAP 1.2",
    ),
    pay_case(
        "06-incasari-retry-soap11",
        "1.1",
        1001,
        h.POPESCU,
        [(1, "150.00"), (2, "30.50")],
        200,
        "the same order again (a retry)",
    ),
    pay_case(
        "07-incasari-conflict-soap11",
        "1.1",
        1001,
        h.POPESCU,
        [(1, "150.00"), (2, "30.00")],
        200,
        "the same order with other content",
    ),
    sume_case("08-sume-after-soap11", "1.1", h.POPESCU, 200, "the statement after the payments"),
    sume_case(
        "09-fault1-check-soap11", "1.1", h.POPESCU, 500, "fault 1, wrong check, SOAP 1.1", check="0" * 40
    ),
    sume_case(
        "10-fault1-check-soap12", "1.2", h.POPESCU, 500, "fault 1, wrong check, SOAP 1.2", check="0" * 40
    ),
    sume_case("11-fault2-unknown-soap11", "1.1", h.NECUNOSCUT, 500, "fault 2, CUI not in the register, SOAP 1.1"),
    sume_case("12-fault2-unknown-soap12", "1.2", h.NECUNOSCUT, 500, "fault 2, CUI not in the register, SOAP 1.2"),
    sume_case("13-fault2-invalid-soap11", "1.1", h.CNP_GRESIT, 500, "fault 2, invalid CNP"),
    pay_case(
        "14-fault3-soap11",
        "1.1",
        1003,
        h.POPESCU,
        [(1, "10.00")],
        500,
        "fault 3, database unavailable",
        hold=True,
    ),
]


def pretty(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(xml, parser)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def request_xml(case: Case) -> bytes:
    prefix, env_ns = ENV[case.version]
    E = lambda tag: etree.QName(env_ns, tag)  # noqa: E731
    envelope = etree.Element(E("Envelope"), nsmap={prefix: env_ns})
    body = etree.SubElement(envelope, E("Body"))
    op = etree.SubElement(body, etree.QName(NAMESPACE, case.operation), nsmap={"ns1": NAMESPACE})

    def leaf(parent, name, text):
        etree.SubElement(parent, name).text = text

    f = case.fields
    if case.operation == "getSumeDePlataPePersoana":
        leaf(op, "cui", f["cui"])
    else:
        leaf(op, "order", f["order"])
        leaf(op, "cui", f["cui"])
        sume = etree.SubElement(op, "sume")
        for id_tip_suma, valoare in f["sume"]:
            item = etree.SubElement(sume, "item")
            leaf(item, "idTipSuma", str(id_tip_suma))
            leaf(item, "valoare", valoare)
        leaf(op, "data", f["data"])
    leaf(op, "timestamp", REQUEST_TIMESTAMP)
    leaf(op, "check", f["check"])
    return pretty(etree.tostring(envelope))


def normalise(response: bytes) -> bytes:
    """Replaces the moment of the answer by fixed values (after checking its form), then
    pretty-prints."""
    text = response.decode("utf-8")
    for tag, width, fmt, fixed in (
        ("timestamp", 14, "%Y%m%d%H%M%S", FIXED_TIMESTAMP),
        ("dataCalcul", 8, "%Y%m%d", FIXED_DATA_CALCUL),
    ):
        for value in re.findall(rf"<{tag}>([^<]*)</{tag}>", text):
            assert len(value) == width, f"{tag} {value!r} is not {width} digits"
            datetime.strptime(value, fmt)  # a real date, or ValueError
        text = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{fixed}</{tag}>", text)
    return pretty(text.encode("utf-8"))


def action(case: Case) -> str:
    return f"{PUBLIC_URL}#{case.operation}"


def exchange(server: h.Server, case: Case, request: bytes) -> tuple[int, str, bytes]:
    """Sends one golden request; for fault 3, while another connection holds SQLite's
    write lock for longer than the server's database timeout."""
    if not case.hold_database:
        return h.post(server.url, request, case.version, action(case))
    lock = sqlite3.connect(server.database, timeout=5)
    try:
        lock.execute("BEGIN IMMEDIATE")
        return h.post(server.url, request, case.version, action(case))
    finally:
        lock.rollback()
        lock.close()


def golden_server() -> h.ServerFixture:
    # A one-second database timeout makes fault 3 quick to provoke (see exchange()).
    return h.ServerFixture(KEY, PUBLIC_URL, {"GHISEUL_DB_TIMEOUT_SECS": "1"})


def request_path(case: Case) -> Path:
    return GOLDEN_DIR / f"{case.name}.request.xml"


def response_path(case: Case) -> Path:
    return GOLDEN_DIR / f"{case.name}.response.xml"


BLOCK = re.compile(r"<!-- golden: (?P<file>[\w.-]+) -->\n```xml\n(?P<body>.*?)```\n", re.S)


def docs_blocks(markdown: str) -> list[tuple[str, str]]:
    """(golden file name, the block's content) for every golden block of protocol.md."""
    return [(m["file"], m["body"]) for m in BLOCK.finditer(markdown)]


def render_docs(markdown: str) -> str:
    """protocol.md with every golden block replaced by the golden file's content."""

    def repl(m):
        content = (GOLDEN_DIR / m["file"]).read_text(encoding="utf-8")
        return f"<!-- golden: {m['file']} -->\n```xml\n{content}```\n"

    return BLOCK.sub(repl, markdown)


def update() -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    with golden_server() as server:
        validator = h.validator_for(server)
        for case in CASES:
            request = request_xml(case)
            status, _, body = exchange(server, case, request)
            assert status == case.status, f"{case.name}: HTTP {status}\n{body.decode()}"
            validator.validate(body, case.version)
            request_path(case).write_bytes(request)
            response_path(case).write_bytes(normalise(body))
            print(f"{case.name}: HTTP {status}")
    PROTOCOL_MD.write_text(render_docs(PROTOCOL_MD.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(__doc__)
    update()
