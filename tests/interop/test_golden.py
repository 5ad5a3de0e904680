"""docs/protocol.md is always true: its exchanges are the golden files under docs/golden/,
and the golden files are what the running server answers (normalised as golden.py says).
Regenerate after a deliberate change with `python3 tests/interop/golden.py --update`."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from lxml import etree

import golden as g
import harness as h


@pytest.fixture(scope="module")
def answers():
    """Every golden request file sent as-is, in order, to one fresh server."""
    out = {}
    with g.golden_server() as server:
        validator = h.validator_for(server)
        for case in g.CASES:
            request = g.request_path(case).read_bytes()
            status, content_type, body = g.exchange(server, case, request)
            parsed = validator.validate(body, case.version)
            out[case.name] = (status, content_type, body, parsed)
        assert validator.validated == len(g.CASES)
    return out


@pytest.mark.parametrize("case", g.CASES, ids=lambda c: c.name)
def test_golden_response_is_what_the_server_answers(case, answers):
    status, content_type, body, _ = answers[case.name]
    assert status == case.status
    assert h.content_type_for(case.version) in content_type
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    expected = g.response_path(case).read_bytes()
    assert g.normalise(body).decode() == expected.decode(), (
        f"{case.name}: the server's answer differs from the golden file; if the change is "
        "deliberate, run `python3 tests/interop/golden.py --update` and review the diff"
    )


@pytest.mark.parametrize("case", g.CASES, ids=lambda c: c.name)
def test_golden_request_is_the_documented_case(case):
    assert g.request_path(case).read_bytes() == g.request_xml(case)


def _values(element, path):
    return [e.text or "" for e in element.iterfind(path)]


@pytest.mark.parametrize("case", g.CASES, ids=lambda c: c.name)
def test_golden_request_check_is_computed_from_its_values(case):
    """Restates the check rule over what the golden request file holds: a reader who
    follows the docs gets the same check (or, for fault 1, a different one)."""
    root = etree.parse(str(g.request_path(case))).getroot()
    op = root.find("*/*")
    if case.operation == "getSumeDePlataPePersoana":
        text = h.sume_request_text(op.findtext("cui"))
    else:
        sume = list(zip(_values(op, "sume/item/idTipSuma"), _values(op, "sume/item/valoare")))
        text = h.incasari_request_text(op.findtext("order"), op.findtext("cui"), op.findtext("data"), sume)
    matches = op.findtext("check") == h.sign(g.KEY, text)
    assert matches == (not case.name.startswith(("09-", "10-"))), "only the fault 1 cases carry a wrong check"


@pytest.mark.parametrize("case", [c for c in g.CASES if c.name.split("-")[1] == "sume"], ids=lambda c: c.name)
def test_golden_statement_check_verifies(case, answers):
    result = answers[case.name][3].element.find("getSumeDePlataPePersoanaResult")
    items = [
        (
            t.findtext("idTipSuma"),
            t.findtext("valoare"),
            _values(t, "detaliiHeader/item"),
            [_values(line, "linie/item") for line in t.iterfind("detaliiBody/item")],
        )
        for t in result.iterfind("sume/item")
    ]
    assert result.findtext("check") == h.sign(g.KEY, h.sume_response_text(items))


def test_fault_goldens_carry_the_norm_codes(answers):
    codes = {name: parsed.fault[0] for name, (_, _, _, parsed) in answers.items() if parsed.fault}
    assert codes == {
        "09-fault1-check-soap11": "1",
        "10-fault1-check-soap12": "1",
        "11-fault2-unknown-soap11": "2",
        "12-fault2-unknown-soap12": "2",
        "13-fault2-invalid-soap11": "2",
        "14-fault3-soap11": "3",
    }


def test_protocol_md_shows_every_golden_file_as_it_is():
    markdown = g.PROTOCOL_MD.read_text(encoding="utf-8")
    blocks = g.docs_blocks(markdown)
    files = sorted(p.name for p in g.GOLDEN_DIR.glob("*.xml"))
    expected = sorted([g.request_path(c).name for c in g.CASES] + [g.response_path(c).name for c in g.CASES])
    assert files == expected, "docs/golden/ holds exactly the golden cases"
    shown = sorted(name for name, _ in blocks)
    assert shown == expected, "protocol.md shows every golden file once"
    for name, body in blocks:
        assert body == (g.GOLDEN_DIR / name).read_text(encoding="utf-8"), (
            f"protocol.md's block for {name} differs from the golden file; "
            "run `python3 tests/interop/golden.py --update`"
        )


# `$ command` followed by the line it prints, in protocol.md's console blocks.
COMMAND = re.compile(
    r"^\$ (?P<cmd>(?:printf %s .*\| openssl dgst -sha1 -hmac \S+|ghiseul-connector sign --key \S+ .*))\n(?P<out>.+)$",
    re.M,
)


def test_check_commands_in_protocol_md_print_what_it_says():
    markdown = g.PROTOCOL_MD.read_text(encoding="utf-8")
    commands = list(COMMAND.finditer(markdown))
    assert len(commands) >= 6, "protocol.md shows how to compute each check by hand"
    env = dict(os.environ, PATH=f"{h.BINARY.parent}:{os.environ['PATH']}")
    for m in commands:
        done = subprocess.run(["bash", "-c", m["cmd"]], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        # Compare the hex digest: OpenSSL 1.1 prints `(stdin)= `, 3.x `SHA1(stdin)= `.
        hex_of = lambda text: re.findall(r"\b[0-9a-f]{40}\b", text)  # noqa: E731
        assert hex_of(m["out"]) and hex_of(done.stdout) == hex_of(m["out"]), m["cmd"]
