"""Shared parts of the interoperability suite: the real server (release binary, fresh
SQLite file, register loaded through the CLI), the checks of interface.md §2 written
again in Python, and the validation of every response against the XSD embedded in the
WSDL the server serves.

Nothing here imports the project's code: the point of the suite is that clients written by
others, and this independent re-statement of the rules, agree with the server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import xmlschema
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
BINARY = Path(os.environ.get("GHISEUL_BIN", ROOT / "target" / "release" / "ghiseul-connector"))

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

# The register in fixtures/ (amounts in lei as the server writes them).
POPESCU = "1800101221111"  # owes on four tax types
IONESCU = "2820704120023"  # in the register, owes nothing
FIRMA = "31245671"  # a firm, by CIF (imported as RO31245671)
NECUNOSCUT = "1600101220035"  # a valid CNP that is not in the register
CNP_GRESIT = "1800101221112"  # POPESCU with a wrong control digit

FAULT_TEXT = {
    1: "Mesaj invalid",
    2: "CUI invalid sau inexistent",
    3: "Eroare internă: serviciul este indisponibil",
}


# --- the check (interface.md §2), restated independently -------------------------------


def sign(key: str, text: str) -> str:
    """HMAC-SHA1 of the UTF-8 text, lowercase hex: what `ghiseul-connector sign` prints."""
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).hexdigest()


def lei(value) -> str:
    """An amount as the norm writes it: exactly two decimals. Accepts the float a SOAP
    stack produced from `xsd:float`, or the text itself."""
    return "%.2f" % float(value)


def sume_request_text(cui: str) -> str:
    return cui


def incasari_request_text(order, cui: str, data: str, sume) -> str:
    """`order`, `cui`, `data`, then `idTipSuma` and `valoare` of every item in order;
    amounts written with two decimals."""
    return f"{order}{cui}{data}" + "".join(f"{i}{lei(v)}" for i, v in sume)


def sume_response_text(items) -> str:
    """For every TipSuma: idTipSuma, valoare (two decimals), the header strings, then the
    strings of every line. `items` is a list of (id, valoare, header, lines)."""
    out = []
    for id_tip_suma, valoare, header, lines in items:
        out.append(str(id_tip_suma))
        out.append(lei(valoare))
        out.extend(header)
        for line in lines:
            out.extend(line)
    return "".join(out)


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `ghiseul-connector serve` with the fixture register."""

    key: str
    port: int
    public_url: str
    database: Path
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/soap"

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cli(env: dict, *args: str) -> str:
    """Runs the binary with `args`; fails loudly with its output when it fails."""
    done = subprocess.run(
        [str(BINARY), *args], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"ghiseul-connector {' '.join(args)} failed ({done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def start_server(workdir: Path, key: str, public_url: str | None = None, extra_env=None) -> Server:
    """Fresh SQLite file in `workdir`, migrate, import the three fixture files through the
    CLI, then `serve` on a free loopback port. `public_url` defaults to the real URL."""
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run `cargo build --release` first")
    port = free_port()
    database = workdir / "interop.db"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GHISEUL_LISTEN": f"127.0.0.1:{port}",
        "GHISEUL_DATABASE_URL": f"sqlite://{database}",
        "GHISEUL_HMAC_KEY": key,
        "GHISEUL_PUBLIC_URL": public_url or f"http://127.0.0.1:{port}/soap",
        "GHISEUL_LOG": "warn",
    }
    env.update(extra_env or {})
    cli(env, "migrate")
    cli(env, "import", "tax-types", str(FIXTURES / "tax-types.csv"))
    cli(env, "import", "persons", str(FIXTURES / "persons.csv"))
    cli(env, "import", "debts", str(FIXTURES / "debts.csv"))
    log = workdir / "server.log"
    process = subprocess.Popen(
        [str(BINARY), "serve"],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        cwd=workdir,  # so that no ghiseul.toml of the developer's is picked up
    )
    server = Server(key, port, env["GHISEUL_PUBLIC_URL"], database, process, log)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(server.wsdl_url, timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the server did not answer in time:\n{log.read_text()}")
        time.sleep(0.05)


class ServerFixture:
    """Context manager: a temporary folder and a server in it, stopped on exit."""

    def __init__(self, key: str, public_url: str | None = None, extra_env=None):
        self.key, self.public_url, self.extra_env = key, public_url, extra_env
        self._tmp = None
        self.server: Server | None = None

    def __enter__(self) -> Server:
        self._tmp = tempfile.TemporaryDirectory(prefix="ghiseul-interop-")
        self.server = start_server(Path(self._tmp.name), self.key, self.public_url, self.extra_env)
        return self.server

    def __exit__(self, *exc):
        if self.server:
            self.server.stop()
        self._tmp.cleanup()


# --- HTTP without a SOAP stack (golden files, SoapUI replay) -----------------------------


def post(url: str, body: bytes, version: str, action: str = "") -> tuple[int, str, bytes]:
    """POSTs a SOAP envelope the way a client of `version` ("1.1"/"1.2") does; returns
    (HTTP status, Content-Type, body)."""
    if version == "1.1":
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
    else:
        ct = "application/soap+xml; charset=utf-8"
        headers = {"Content-Type": ct + (f'; action="{action}"' if action else "")}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


# --- schema validation -------------------------------------------------------------------


@dataclass
class Parsed:
    version: str  # "1.1" or "1.2"
    element: etree._Element  # the one child of Body
    fault: tuple[str, str] | None  # (code, text) when the body is a Fault


class SchemaError(AssertionError):
    pass


class ResponseValidator:
    """Validates response envelopes: the envelope by hand (one Body, one child), an
    operation response against the XSD embedded in the served WSDL (`xmlschema`), a Fault
    against the shape interface.md §4 gives (the WSDL's schema has no fault element).
    Counts what it validated, so a suite can prove it saw every response."""

    def __init__(self, wsdl: bytes):
        doc = etree.fromstring(wsdl)
        schema = doc.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
        if schema is None:
            raise SchemaError("the WSDL has no embedded xsd:schema")
        self.namespace = schema.get("targetNamespace")
        # tostring keeps the namespace declarations in scope (tns:, xsd:) on the copy.
        self.schema = xmlschema.XMLSchema(etree.tostring(schema).decode())
        self.validated = 0
        self.faults = 0

    def validate(self, body: bytes, expect_version: str | None = None) -> Parsed:
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError as e:
            raise SchemaError(f"response is not well-formed XML: {e}\n{body[:500]!r}")
        env_ns = etree.QName(root).namespace
        version = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}.get(env_ns)
        if etree.QName(root).localname != "Envelope" or version is None:
            raise SchemaError(f"not a SOAP envelope: {root.tag}")
        if expect_version and version != expect_version:
            raise SchemaError(f"answered in SOAP {version} to a SOAP {expect_version} request")
        bodies = [c for c in root if isinstance(c.tag, str) and c.tag == f"{{{env_ns}}}Body"]
        if len(bodies) != 1:
            raise SchemaError(f"expected one Body, found {len(bodies)}")
        children = [c for c in bodies[0] if isinstance(c.tag, str)]
        if len(children) != 1:
            raise SchemaError(f"expected one element in Body, found {len(children)}")
        element = children[0]
        if element.tag == f"{{{env_ns}}}Fault":
            fault = self._fault(element, version)
            self.faults += 1
            self.validated += 1
            return Parsed(version, element, fault)
        if etree.QName(element).namespace != self.namespace:
            raise SchemaError(
                f"response element {element.tag} is not in the target namespace {self.namespace}"
            )
        try:
            self.schema.validate(etree.tostring(element).decode())
        except xmlschema.XMLSchemaValidationError as e:
            raise SchemaError(f"response does not validate against the WSDL's XSD: {e}")
        self.validated += 1
        return Parsed(version, element, None)

    @staticmethod
    def _fault(fault, version: str) -> tuple[str, str]:
        if version == "1.1":
            names = [c.tag for c in fault if isinstance(c.tag, str)]
            if names[:2] != ["faultcode", "faultstring"]:
                raise SchemaError(f"SOAP 1.1 Fault must start with faultcode, faultstring: {names}")
            code, text = fault.findtext("faultcode"), fault.findtext("faultstring")
        else:
            ns = {"e": SOAP12_ENV}
            code = fault.findtext("e:Code/e:Value", namespaces=ns)
            texts = fault.findall("e:Reason/e:Text", namespaces=ns)
            if code is None or not texts:
                raise SchemaError("SOAP 1.2 Fault needs Code/Value and Reason/Text")
            if texts[0].get("{http://www.w3.org/XML/1998/namespace}lang") is None:
                raise SchemaError("SOAP 1.2 Reason/Text needs xml:lang")
            text = texts[0].text
        if code not in ("1", "2", "3"):
            raise SchemaError(f"fault code {code!r} is not one of the norm's 1, 2, 3")
        if not (text or "").startswith(FAULT_TEXT[int(code)]):
            raise SchemaError(f"fault {code} text {text!r} does not start with the norm's text")
        return code, text


def validator_for(server: Server) -> ResponseValidator:
    return ResponseValidator(get(server.wsdl_url))


def content_type_for(version: str) -> str:
    return "text/xml" if version == "1.1" else "application/soap+xml"
