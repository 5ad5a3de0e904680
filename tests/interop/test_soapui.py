"""The SoapUI project cannot drift from the server: SoapUI itself does not run here, so this
test reads soapui/ghiseul-connector-soapui-project.xml, does what SoapUI would do with it
and checks that every assertion in it holds against the running server:

- property expansion `${#Project#x}`, `${#TestSuite#x}`, `${#TestCase#x}` (recursively);
- the test cases' Groovy step, which sets `timestamp` (now) and `check` (HMAC-SHA1 of the
  expanded `signedText` with the project's `hmacKey`), is done here in Python, with
  hmacKey set to the server's key (a fresh one per run, so no check can be hard-coded);
- each request step is POSTed as SOAP 1.1 or 1.2 (from its interface's soapVersion), to
  the project's `endpoint` set to the server's address;
- the assertions, with SoapUI's meaning of each type (note SoapUI's own naming: type
  "SOAP Fault Assertion" is "Not SOAP Fault", type "Not SOAP Fault Assertion" is "SOAP
  Fault"). An assertion type this test does not know fails the test.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

import harness as h

PROJECT = h.ROOT / "soapui" / "ghiseul-connector-soapui-project.xml"
CON = "http://eviware.com/soapui/config"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NS = {"con": CON}
PUBLIC_URL = "http://127.0.0.1:8080/soap"  # the project's WSDL was served for this URL

KNOWN_ASSERTIONS = {
    "SOAP Response",
    "Schema Compliance",
    "SOAP Fault Assertion",  # SoapUI's "Not SOAP Fault"
    "Not SOAP Fault Assertion",  # SoapUI's "SOAP Fault"
    "XPath Match",
    "Valid HTTP Status Codes",
}


@pytest.fixture(scope="module")
def project():
    return etree.parse(str(PROJECT)).getroot()


@pytest.fixture(scope="module")
def server():
    with h.ServerFixture("cheie-soapui-" + secrets.token_hex(8), PUBLIC_URL) as s:
        yield s


def props(element) -> dict:
    return {
        p.findtext("con:name", namespaces=NS): p.findtext("con:value", namespaces=NS) or ""
        for p in element.findall("con:properties/con:property", NS)
    }


def interfaces(project) -> dict:
    return {i.get("name"): i for i in project.findall("con:interface", NS)}


def test_project_is_a_soapui_5_project_with_both_bindings(project):
    assert project.tag == f"{{{CON}}}soapui-project"
    assert project.get("soapui-version", "").startswith("5.")
    ifaces = interfaces(project)
    assert {i.get("soapVersion") for i in ifaces.values()} == {"1_1", "1_2"}
    for i in ifaces.values():
        assert i.get(XSI_TYPE) == "con:WsdlInterface" and i.get("type") == "wsdl"
        assert i.get("definition", "").endswith("?wsdl")
        assert {o.get("name") for o in i.findall("con:operation", NS)} == {
            "getSumeDePlataPePersoana",
            "inregistrareIncasari",
        }
    assert {"endpoint", "hmacKey"} <= props(project).keys()


def test_project_covers_each_operation_and_fault_in_both_versions(project):
    ifaces = interfaces(project)
    seen = set()
    for step in project.iterfind("con:testSuite/con:testCase/con:testStep[@type='request']", NS):
        config = step.find("con:config", NS)
        assert config.get(XSI_TYPE) == "con:RequestStep"
        iface = ifaces[config.findtext("con:interface", namespaces=NS)]
        version = iface.get("soapVersion")
        operation = config.findtext("con:operation", namespaces=NS)
        assert operation in {o.get("name") for o in iface.findall("con:operation", NS)}
        types = [a.get("type") for a in config.iterfind("con:request/con:assertion", NS)]
        assert set(types) <= KNOWN_ASSERTIONS, set(types) - KNOWN_ASSERTIONS
        assert "SOAP Response" in types and "XPath Match" in types
        assert ("SOAP Fault Assertion" in types) != ("Not SOAP Fault Assertion" in types)
        if "Not SOAP Fault Assertion" in types:
            for a in config.iterfind("con:request/con:assertion[@type='XPath Match']", NS):
                if "faultcode" in a.findtext("con:configuration/path", namespaces=NS) or "Value" in a.findtext(
                    "con:configuration/path", namespaces=NS
                ):
                    seen.add((version, "fault " + a.findtext("con:configuration/content", namespaces=NS)))
        else:
            seen.add((version, operation))
    for v in ("1_1", "1_2"):
        assert {(v, "getSumeDePlataPePersoana"), (v, "inregistrareIncasari"), (v, "fault 1"), (v, "fault 2")} <= seen


def test_cached_wsdl_is_the_wsdl_the_server_serves(project, server):
    served = h.get(server.wsdl_url).decode("utf-8")
    for i in interfaces(project).values():
        cached = i.findtext("con:definitionCache/con:part/con:content", namespaces=NS)
        assert cached == served, f"{i.get('name')}: the project's WSDL differs from the served one"


EXPANSION = re.compile(r"\$\{#(Project|TestSuite|TestCase)#(\w+)\}")


def expand(text: str, scopes: dict) -> str:
    for _ in range(10):
        new = EXPANSION.sub(lambda m: scopes[m[1]][m[2]], text)
        if new == text:
            return new
        text = new
    raise AssertionError(f"property expansion does not end: {text}")


def groovy(script: str, scopes: dict) -> None:
    """The one Groovy script the project uses, done in Python (see the module doc)."""
    sets = re.findall(r"setPropertyValue\('(\w+)'", script)
    assert sets == ["timestamp", "check"], f"unexpected Groovy script: it sets {sets}"
    assert "HmacSHA1" in script and "${#Project#hmacKey}" in script and "signedText" in script
    tc = scopes["TestCase"]
    tc["timestamp"] = datetime.now(ZoneInfo("Europe/Bucharest")).strftime("%Y%m%d%H%M%S")
    tc["check"] = h.sign(scopes["Project"]["hmacKey"], expand(tc["signedText"], scopes))


def rule_check(request: bytes, key: str) -> tuple[str, str]:
    """(the check in the request, the check interface.md §2 gives for its values)."""
    op = etree.fromstring(request).find("{*}Body/*")
    if etree.QName(op).localname == "getSumeDePlataPePersoana":
        text = h.sume_request_text(op.findtext("cui"))
    else:
        sume = [(i.findtext("idTipSuma"), i.findtext("valoare")) for i in op.iterfind("sume/item")]
        text = h.incasari_request_text(op.findtext("order"), op.findtext("cui"), op.findtext("data"), sume)
    return op.findtext("check"), h.sign(key, text)


def xpath_value(body: bytes, path: str) -> str | None:
    namespaces = dict(re.findall(r"declare namespace (\w+)\s*=\s*['\"]([^'\"]+)['\"]\s*;", path))
    expr = re.sub(r"declare namespace [^;]+;", "", path).strip()
    result = etree.fromstring(body).xpath(expr, namespaces=namespaces)
    if isinstance(result, bool):
        return "true" if result else "false"
    if isinstance(result, float):
        return str(int(result)) if result.is_integer() else str(result)
    if isinstance(result, str):
        return str(result)
    if not result:
        return None
    first = result[0]
    return str(first) if isinstance(first, str) else etree.tostring(first, encoding="unicode")


def test_replay_every_request_and_assertion_against_the_server(project, server):
    ifaces = interfaces(project)
    validator = h.validator_for(server)
    scopes = {"Project": {**props(project), "endpoint": server.url, "hmacKey": server.key}}
    failures, asserted, steps = [], 0, 0
    for suite in project.iterfind("con:testSuite", NS):
        scopes["TestSuite"] = props(suite)
        for case in suite.iterfind("con:testCase", NS):
            scopes["TestCase"] = props(case)
            for step in case.iterfind("con:testStep", NS):
                where = f"{case.get('name')} / {step.get('name')}"
                if step.get("type") == "groovy":
                    groovy(step.findtext("con:config/script", namespaces=NS), scopes)
                    continue
                assert step.get("type") == "request", f"{where}: unknown step type"
                steps += 1
                config = step.find("con:config", NS)
                iface = ifaces[config.findtext("con:interface", namespaces=NS)]
                version = {"1_1": "1.1", "1_2": "1.2"}[iface.get("soapVersion")]
                op_name = config.findtext("con:operation", namespaces=NS)
                op = iface.find(f"con:operation[@name='{op_name}']", NS)
                req = config.find("con:request", NS)
                raw = req.findtext("con:request", namespaces=NS)
                request = expand(raw, scopes).encode("utf-8")
                if "${#TestCase#check}" in raw:
                    sent, expected = rule_check(request, server.key)
                    assert sent == expected, f"{where}: signedText does not cover the request's values"
                endpoint = expand(req.findtext("con:endpoint", namespaces=NS), scopes)
                status, _, body = h.post(endpoint, request, version, op.get("action"))
                parsed = None
                try:
                    parsed = validator.validate(body, version)
                except AssertionError as e:
                    failures.append(f"{where}: not a valid SOAP {version} response: {e}")
                for a in req.iterfind("con:assertion", NS):
                    asserted += 1
                    kind = a.get("type")
                    ok = {
                        "SOAP Response": lambda: parsed is not None,
                        "Schema Compliance": lambda: parsed is not None,
                        "SOAP Fault Assertion": lambda: parsed is not None and parsed.fault is None,
                        "Not SOAP Fault Assertion": lambda: parsed is not None and parsed.fault is not None,
                        "Valid HTTP Status Codes": lambda: str(status)
                        in a.findtext("con:configuration/codes", namespaces=NS).replace(" ", "").split(","),
                        "XPath Match": lambda: xpath_value(body, a.findtext("con:configuration/path", namespaces=NS))
                        == a.findtext("con:configuration/content", namespaces=NS),
                    }.get(kind)
                    if ok is None:
                        failures.append(f"{where}: assertion type {kind!r} is not replayed")
                    elif not ok():
                        detail = ""
                        if kind == "XPath Match":
                            path = a.findtext("con:configuration/path", namespaces=NS)
                            detail = f" (got {xpath_value(body, path)!r})"
                        failures.append(f"{where}: {a.get('name')} failed{detail}; HTTP {status}: {body[:300]!r}")
    print(f"replayed {steps} request steps, {asserted} assertions")
    assert not failures, "\n".join(failures)
    assert steps >= 12 and asserted >= 60
    assert validator.validated == steps
