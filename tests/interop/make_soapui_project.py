"""Writes soapui/ghiseul-connector-soapui-project.xml, a SoapUI 5.x project, from the list of
test cases below and the WSDL a server with public URL http://127.0.0.1:8080/soap serves.

    python3 tests/interop/make_soapui_project.py   # needs target/release/ghiseul-connector

The committed project file is what matters: test_soapui.py reads it (not this script),
sends its requests to the running server and evaluates its assertions. Edit either this
script (and re-run it) or the XML in SoapUI; the replay test keeps both honest.
"""

from __future__ import annotations

import re
import uuid

from lxml import etree

import harness as h

PROJECT = h.ROOT / "soapui" / "ghiseul-connector-soapui-project.xml"
CON = "http://eviware.com/soapui/config"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PUBLIC_URL = "http://127.0.0.1:8080/soap"
WSDL_URL = PUBLIC_URL + "?wsdl"
INTERFACES = {"1.1": "InformatiiPlataZFBinding", "1.2": "InformatiiPlataZFBinding12"}

GROOVY = """// Fills the test case properties "timestamp" (now, Romanian local time, aaaallzzoommss)
// and "check": HMAC-SHA1, lowercase hex, of the test case property "signedText" (after
// property expansion) with the project property "hmacKey". Set hmacKey to the key you
// agreed with ghiseul.ro (Project > Custom Properties).
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

def tc = testRunner.testCase
def key = context.expand('${#Project#hmacKey}')
def text = context.expand(tc.getPropertyValue('signedText'))
def mac = Mac.getInstance('HmacSHA1')
mac.init(new SecretKeySpec(key.getBytes('UTF-8'), 'HmacSHA1'))
tc.setPropertyValue('timestamp', new Date().format('yyyyMMddHHmmss', TimeZone.getTimeZone('Europe/Bucharest')))
tc.setPropertyValue('check', mac.doFinal(text.getBytes('UTF-8')).encodeHex().toString())
log.info('check of [' + text + '] = ' + tc.getPropertyValue('check'))
"""

ENVELOPES = {
    "1.1": ('xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"', "soapenv"),
    "1.2": ('xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"', "soapenv"),
}


def envelope(version: str, inner: str) -> str:
    decl, p = ENVELOPES[version]
    return (
        f'<{p}:Envelope {decl} xmlns:gh="{PUBLIC_URL}">\n'
        f"   <{p}:Header/>\n"
        f"   <{p}:Body>\n{inner}   </{p}:Body>\n"
        f"</{p}:Envelope>"
    )


def sume_body(check="${#TestCase#check}") -> str:
    return (
        "      <gh:getSumeDePlataPePersoana>\n"
        "         <cui>${#TestCase#cui}</cui>\n"
        "         <timestamp>${#TestCase#timestamp}</timestamp>\n"
        f"         <check>{check}</check>\n"
        "      </gh:getSumeDePlataPePersoana>\n"
    )


def pay_body(n_items: int) -> str:
    items = "".join(
        "            <item>\n"
        f"               <idTipSuma>${{#TestCase#idTipSuma{i}}}</idTipSuma>\n"
        f"               <valoare>${{#TestCase#valoare{i}}}</valoare>\n"
        "            </item>\n"
        for i in range(1, n_items + 1)
    )
    return (
        "      <gh:inregistrareIncasari>\n"
        "         <order>${#TestCase#order}</order>\n"
        "         <cui>${#TestCase#cui}</cui>\n"
        f"         <sume>\n{items}         </sume>\n"
        "         <data>${#TestCase#data}</data>\n"
        "         <timestamp>${#TestCase#timestamp}</timestamp>\n"
        "         <check>${#TestCase#check}</check>\n"
        "      </gh:inregistrareIncasari>\n"
    )


RESULT = "//*[local-name()='getSumeDePlataPePersoanaResponse']/getSumeDePlataPePersoanaResult"
PAY_RESULT = "//*[local-name()='inregistrareIncasariResponse']/inregistrareIncasariResult/text()"


def ok_assertions(*xpaths):
    return [("SOAP Response", None), ("Schema Compliance", None), ("SOAP Fault Assertion", None)] + [
        ("XPath Match", x) for x in xpaths
    ] + [("Valid HTTP Status Codes", "200")]


def fault_assertions(version: str, code: str, text: str):
    if version == "1.1":
        code_path = "//*[local-name()='Fault']/faultcode/text()"
        text_path = f"starts-with(//*[local-name()='Fault']/faultstring, '{text}')"
    else:
        code_path = "//*[local-name()='Fault']/*[local-name()='Code']/*[local-name()='Value']/text()"
        text_path = (
            "starts-with(//*[local-name()='Fault']/*[local-name()='Reason']/*[local-name()='Text'], "
            f"'{text}')"
        )
    return [
        ("SOAP Response", None),
        ("Not SOAP Fault Assertion", None),
        ("XPath Match", (code_path, code)),
        ("XPath Match", (text_path, "true")),
        ("Valid HTTP Status Codes", "500"),
    ]


SIGNED_SUME = "${#TestCase#cui}"


def signed_pay(n):
    return "${#TestCase#order}${#TestCase#cui}${#TestCase#data}" + "".join(
        f"${{#TestCase#idTipSuma{i}}}${{#TestCase#valoare{i}}}" for i in range(1, n + 1)
    )


# (name, version, properties, [(step name, operation, body, assertions)])
CASES = [
    (
        "Sume de plată - SOAP 1.1",
        "1.1",
        {"cui": h.POPESCU, "signedText": SIGNED_SUME},
        [
            (
                "getSumeDePlataPePersoana",
                "getSumeDePlataPePersoana",
                sume_body(),
                ok_assertions(
                    (f"count({RESULT}/sume/item)", "4"),
                    (f"{RESULT}/sume/item[1]/idTipSuma/text()", "1"),
                    (f"{RESULT}/sume/item[1]/valoare/text()", "326.00"),
                    (f"{RESULT}/sume/item[1]/detaliiBody/item[1]/linie/item[3]/text()", "20.00"),
                    (f"{RESULT}/sume/item[2]/valoare/text()", "30.50"),
                    (f"string-length({RESULT}/check)", "40"),
                ),
            )
        ],
    ),
    (
        "Sume de plată - SOAP 1.2",
        "1.2",
        {"cui": h.POPESCU, "signedText": SIGNED_SUME},
        [
            (
                "getSumeDePlataPePersoana",
                "getSumeDePlataPePersoana",
                sume_body(),
                ok_assertions(
                    (f"count({RESULT}/sume/item)", "4"),
                    (f"{RESULT}/sume/item[1]/valoare/text()", "326.00"),
                    (f"{RESULT}/sume/item[3]/detaliiHeader/item[1]/text()", "Proces-verbal"),
                ),
            )
        ],
    ),
    (
        "Persoană fără datorii - SOAP 1.1",
        "1.1",
        {"cui": h.IONESCU, "signedText": SIGNED_SUME},
        [
            (
                "getSumeDePlataPePersoana",
                "getSumeDePlataPePersoana",
                sume_body(),
                ok_assertions((f"count({RESULT}/sume/item)", "0")),
            )
        ],
    ),
    (
        "Încasare și reîncercare - SOAP 1.1",
        "1.1",
        {
            "order": "1001",
            "cui": h.POPESCU,
            "data": "2025-06-02 10:15:00",
            "idTipSuma1": "1",
            "valoare1": "150.00",
            "idTipSuma2": "2",
            "valoare2": "30.50",
            "signedText": signed_pay(2),
        },
        [
            ("inregistrareIncasari", "inregistrareIncasari", pay_body(2), ok_assertions((PAY_RESULT, "true"))),
            (
                "inregistrareIncasari (aceeași comandă din nou)",
                "inregistrareIncasari",
                pay_body(2),
                ok_assertions((PAY_RESULT, "true")),
            ),
        ],
    ),
    (
        "Încasare - SOAP 1.2",
        "1.2",
        {
            "order": "1002",
            "cui": h.POPESCU,
            "data": "2025-06-02 10:20:00",
            "idTipSuma1": "7",
            "valoare1": "50.00",
            "signedText": signed_pay(1),
        },
        [("inregistrareIncasari", "inregistrareIncasari", pay_body(1), ok_assertions((PAY_RESULT, "true")))],
    ),
    (
        "Aceeași comandă cu alt conținut - SOAP 1.1",
        "1.1",
        {
            "order": "1001",
            "cui": h.POPESCU,
            "data": "2025-06-02 10:15:00",
            "idTipSuma1": "1",
            "valoare1": "150.00",
            "idTipSuma2": "2",
            "valoare2": "30.00",
            "signedText": signed_pay(2),
        },
        [("inregistrareIncasari", "inregistrareIncasari", pay_body(2), ok_assertions((PAY_RESULT, "false")))],
    ),
    (
        "Sume de plată după încasări - SOAP 1.2",
        "1.2",
        {"cui": h.POPESCU, "signedText": SIGNED_SUME},
        [
            (
                "getSumeDePlataPePersoana",
                "getSumeDePlataPePersoana",
                sume_body(),
                ok_assertions(
                    (f"count({RESULT}/sume/item)", "2"),
                    (f"{RESULT}/sume/item[1]/valoare/text()", "176.00"),
                    (f"{RESULT}/sume/item[2]/idTipSuma/text()", "5"),
                ),
            )
        ],
    ),
]
for version in ("1.1", "1.2"):
    v = version.replace(".", "")
    CASES += [
        (
            f"Eroare 1 - check greșit - SOAP {version}",
            version,
            {"cui": h.POPESCU, "signedText": SIGNED_SUME},
            [
                (
                    "getSumeDePlataPePersoana",
                    "getSumeDePlataPePersoana",
                    sume_body(check="0000000000000000000000000000000000000000"),
                    fault_assertions(version, "1", "Mesaj invalid"),
                )
            ],
        ),
        (
            f"Eroare 2 - CUI inexistent - SOAP {version}",
            version,
            {"cui": h.NECUNOSCUT, "signedText": SIGNED_SUME},
            [
                (
                    "getSumeDePlataPePersoana",
                    "getSumeDePlataPePersoana",
                    sume_body(),
                    fault_assertions(version, "2", "CUI invalid sau inexistent"),
                )
            ],
        ),
        (
            f"Eroare 2 - CNP invalid - SOAP {version}",
            version,
            {"cui": h.CNP_GRESIT, "signedText": SIGNED_SUME},
            [
                (
                    "getSumeDePlataPePersoana",
                    "getSumeDePlataPePersoana",
                    sume_body(),
                    fault_assertions(version, "2", "CUI invalid sau inexistent"),
                )
            ],
        ),
    ]


def uid(*parts) -> str:
    """Stable ids, so that regenerating the file gives the same file."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ghiseul-connector-soapui/" + "/".join(parts)))


def el(parent, tag, text=None, **attrs):
    e = etree.SubElement(parent, f"{{{CON}}}{tag}", {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


def properties(parent, props: dict):
    ps = el(parent, "properties")
    for k, v in props.items():
        p = el(ps, "property")
        el(p, "name", k)
        el(p, "value", v)


def interface(project, version: str, wsdl: str):
    name = INTERFACES[version]
    i = el(project, "interface", id=uid("interface", name), wsaVersion="NONE", name=name, type="wsdl")
    i.set(f"{{{XSI}}}type", "con:WsdlInterface")
    i.set("bindingName", f"{{{PUBLIC_URL}}}{name}")
    i.set("soapVersion", version.replace(".", "_"))
    i.set("anonymous", "optional")
    i.set("definition", WSDL_URL)
    el(i, "settings")
    cache = el(i, "definitionCache", type="TEXT", rootPart=WSDL_URL)
    part = el(cache, "part")
    el(part, "url", WSDL_URL)
    el(part, "content").text = etree.CDATA(wsdl)
    el(part, "type", "http://schemas.xmlsoap.org/wsdl/")
    eps = el(i, "endpoints")
    el(eps, "endpoint", PUBLIC_URL)
    for op, body in (("getSumeDePlataPePersoana", sume_body()), ("inregistrareIncasari", pay_body(1))):
        o = el(i, "operation", id=uid("operation", name, op), isOneWay="false")
        for k, v in (
            ("action", f"{PUBLIC_URL}#{op}"),
            ("name", op),
            ("bindingOperationName", op),
            ("type", "Request-Response"),
            ("inputName", ""),
            ("receivesAttachments", "false"),
            ("sendsAttachments", "false"),
            ("anonymous", "optional"),
        ):
            o.set(k, v)
        el(o, "settings")
        call = el(o, "call", id=uid("call", name, op), name="Request 1")
        el(call, "settings")
        el(call, "encoding", "UTF-8")
        el(call, "endpoint", PUBLIC_URL)
        el(call, "request").text = etree.CDATA(
            # As SoapUI generates a new request: "?" where a value goes.
            envelope(version, re.sub(r"\$\{#TestCase#\w+\}", "?", body))
        )
        el(call, "credentials").append(_auth())
        el(call, "jmsConfig", JMSDeliveryMode="PERSISTENT")
        el(call, "jmsPropertyConfig")
        el(call, "wsaConfig", mustUnderstand="NONE", version="200508", action=f"{PUBLIC_URL}#{op}")
        el(call, "wsrmConfig", version="1.2")


def _auth():
    a = etree.Element(f"{{{CON}}}authType")
    a.text = "No Authorization"
    return a


def assertion(request, step_id: str, n: int, kind: str, config, xpath_no: int):
    names = {
        "SOAP Response": "SOAP Response",
        "Schema Compliance": "Schema Compliance",
        "SOAP Fault Assertion": "Not SOAP Fault",
        "Not SOAP Fault Assertion": "SOAP Fault",
        "Valid HTTP Status Codes": "Valid HTTP Status Codes",
        "XPath Match": f"XPath Match {xpath_no}",  # counts the XPath matches of the step
    }
    a = el(request, "assertion", type=kind, id=uid(step_id, "assertion", str(n)), name=names[kind])
    if kind == "XPath Match":
        path, content = config
        c = el(a, "configuration")
        etree.SubElement(c, "path").text = path
        etree.SubElement(c, "content").text = content
        etree.SubElement(c, "allowWildcards").text = "false"
        etree.SubElement(c, "ignoreNamspaceDifferences").text = "false"
        etree.SubElement(c, "ignoreComments").text = "false"
    elif kind == "Valid HTTP Status Codes":
        c = el(a, "configuration")
        etree.SubElement(c, "codes").text = config
    elif kind == "Schema Compliance":
        el(a, "configuration")  # empty: the interface's own WSDL


def build(wsdl: str) -> bytes:
    project = etree.Element(f"{{{CON}}}soapui-project", nsmap={"con": CON})
    for k, v in (
        ("id", uid("project")),
        ("activeEnvironment", "Default"),
        ("name", "ghiseul-connector"),
        ("resourceRoot", ""),
        ("soapui-version", "5.7.2"),
        ("abortOnError", "false"),
        ("runType", "SEQUENTIAL"),
    ):
        project.set(k, v)
    el(project, "description").text = (
        "Anexa 1 SNEP (ghiseul.ro): getSumeDePlataPePersoana and inregistrareIncasari, SOAP 1.1 "
        "and 1.2, and faults 1 and 2. Set the project properties endpoint (your server's "
        "address) and hmacKey (the key agreed with ghiseul.ro); the test cases' Groovy step "
        "computes each check. The expected amounts are those of the interoperability "
        "register (tests/interop/fixtures), loaded into a fresh database."
    )
    el(project, "settings")
    for version in ("1.1", "1.2"):
        interface(project, version, wsdl)
    suite = el(project, "testSuite", id=uid("suite"), name="Anexa 1 - ghiseul.ro")
    el(suite, "settings")
    el(suite, "runType", "SEQUENTIAL")
    for name, version, props, steps in CASES:
        tc = el(suite, "testCase", id=uid("case", name), failOnError="true", failTestCaseOnErrors="true")
        for k, v in (("keepSession", "false"), ("maxResults", "0"), ("name", name), ("searchProperties", "true")):
            tc.set(k, v)
        el(tc, "settings")
        groovy = el(tc, "testStep", type="groovy", name="Calculează check", id=uid("groovy", name))
        el(groovy, "settings")
        cfg = el(groovy, "config")
        etree.SubElement(cfg, "script").text = GROOVY
        for step_name, op, body, assertions in steps:
            step_id = uid("step", name, step_name)
            st = el(tc, "testStep", type="request", name=step_name, id=step_id)
            el(st, "settings")
            cfg = el(st, "config")
            cfg.set(f"{{{XSI}}}type", "con:RequestStep")
            el(cfg, "interface", INTERFACES[version])
            el(cfg, "operation", op)
            req = el(cfg, "request", name=step_name, id=uid("request", name, step_name))
            el(req, "settings")
            el(req, "encoding", "UTF-8")
            el(req, "endpoint", "${#Project#endpoint}")
            el(req, "request").text = etree.CDATA(envelope(version, body))
            xpaths = 0
            for n, (kind, config) in enumerate(assertions, 1):
                xpaths += kind == "XPath Match"
                assertion(req, step_id, n, kind, config, xpaths)
            el(req, "credentials").append(_auth())
            el(req, "jmsConfig", JMSDeliveryMode="PERSISTENT")
            el(req, "jmsPropertyConfig")
            el(req, "wsaConfig", mustUnderstand="NONE", version="200508", action=f"{PUBLIC_URL}#{op}")
            el(req, "wsrmConfig", version="1.2")
        properties(tc, {**props, "timestamp": "", "check": ""})
    el(suite, "properties")
    properties(
        project,
        {
            "endpoint": PUBLIC_URL,
            "hmacKey": "cheie-secreta-test",
        },
    )
    el(project, "wssContainer")
    el(project, "oAuth2ProfileContainer")
    el(project, "oAuth1ProfileContainer")
    el(project, "sensorRepository")
    etree.indent(project, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(project, encoding="UTF-8")


def main():
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        server = h.start_server(Path(tmp), "cheie-secreta-test", PUBLIC_URL)
        try:
            wsdl = h.get(server.wsdl_url).decode("utf-8")
        finally:
            server.stop()
    PROJECT.parent.mkdir(exist_ok=True)
    PROJECT.write_bytes(build(wsdl))
    print(f"wrote {PROJECT}")


if __name__ == "__main__":
    main()
