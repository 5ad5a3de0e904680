//! Writing SOAP envelopes. Responses follow the schema exactly: the response element in the
//! target namespace, its children unqualified. Text is escaped, never trusted.

use std::fmt::Write as _;

use super::envelope::SoapVersion;
use crate::messages::{IncasariRequest, SumeRequest, SumeResponse};

fn open(version: SoapVersion, out: &mut String) {
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    match version {
        SoapVersion::V11 => out.push_str(r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV=""#),
        SoapVersion::V12 => out.push_str(r#"<env:Envelope xmlns:env=""#),
    }
    out.push_str(version.namespace());
    out.push_str("\">");
    out.push_str(body_tag(version, true));
}

fn close(version: SoapVersion, out: &mut String) {
    out.push_str(body_tag(version, false));
    out.push_str(match version {
        SoapVersion::V11 => "</SOAP-ENV:Envelope>",
        SoapVersion::V12 => "</env:Envelope>",
    });
}

fn body_tag(version: SoapVersion, opening: bool) -> &'static str {
    match (version, opening) {
        (SoapVersion::V11, true) => "<SOAP-ENV:Body>",
        (SoapVersion::V11, false) => "</SOAP-ENV:Body>",
        (SoapVersion::V12, true) => "<env:Body>",
        (SoapVersion::V12, false) => "</env:Body>",
    }
}

/// Appends `<name>text</name>` with `text` escaped.
fn leaf(out: &mut String, name: &str, text: &str) {
    let _ = write!(
        out,
        "<{name}>{}</{name}>",
        quick_xml::escape::partial_escape(text)
    );
}

fn open_operation(out: &mut String, name: &str, namespace: &str) {
    let _ = write!(
        out,
        r#"<ns1:{name} xmlns:ns1="{}">"#,
        quick_xml::escape::escape(namespace)
    );
}

pub fn sume_response(version: SoapVersion, namespace: &str, r: &SumeResponse) -> String {
    let mut out = String::with_capacity(1024 + r.sume.len() * 512);
    open(version, &mut out);
    open_operation(&mut out, "getSumeDePlataPePersoanaResponse", namespace);
    out.push_str("<getSumeDePlataPePersoanaResult><sume>");
    for t in &r.sume {
        out.push_str("<item>");
        leaf(&mut out, "idTipSuma", &t.id_tip_suma);
        leaf(&mut out, "valoare", &t.valoare);
        leaf(&mut out, "prioritate", &t.prioritate);
        out.push_str("<detaliiHeader>");
        for h in &t.detalii_header {
            leaf(&mut out, "item", h);
        }
        out.push_str("</detaliiHeader><detaliiBody>");
        for line in &t.detalii_body {
            out.push_str("<item><linie>");
            for cell in line {
                leaf(&mut out, "item", cell);
            }
            out.push_str("</linie></item>");
        }
        out.push_str("</detaliiBody></item>");
    }
    out.push_str("</sume>");
    leaf(&mut out, "dataCalcul", &r.data_calcul);
    leaf(&mut out, "timestamp", &r.timestamp);
    leaf(&mut out, "check", &r.check);
    out.push_str("</getSumeDePlataPePersoanaResult></ns1:getSumeDePlataPePersoanaResponse>");
    close(version, &mut out);
    out
}

pub fn incasari_response(version: SoapVersion, namespace: &str, result: bool) -> String {
    let mut out = String::with_capacity(512);
    open(version, &mut out);
    open_operation(&mut out, "inregistrareIncasariResponse", namespace);
    leaf(
        &mut out,
        "inregistrareIncasariResult",
        if result { "true" } else { "false" },
    );
    out.push_str("</ns1:inregistrareIncasariResponse>");
    close(version, &mut out);
    out
}

/// A SOAP Fault with the norm's numeric code, as in Annex 1's example.
pub fn fault(version: SoapVersion, code: u8, text: &str) -> String {
    let mut out = String::with_capacity(512);
    open(version, &mut out);
    let text = quick_xml::escape::partial_escape(text);
    match version {
        SoapVersion::V11 => {
            let _ = write!(
                out,
                "<SOAP-ENV:Fault><faultcode>{code}</faultcode><faultstring>{text}</faultstring></SOAP-ENV:Fault>"
            );
        }
        SoapVersion::V12 => {
            let _ = write!(
                out,
                r#"<env:Fault><env:Code><env:Value>{code}</env:Value></env:Code><env:Reason><env:Text xml:lang="ro">{text}</env:Text></env:Reason></env:Fault>"#
            );
        }
    }
    close(version, &mut out);
    out
}

/// A getSumeDePlataPePersoana request, as ghiseul.ro sends it (used by `call`).
pub fn sume_request(version: SoapVersion, namespace: &str, r: &SumeRequest) -> String {
    let mut out = String::with_capacity(512);
    open(version, &mut out);
    open_operation(&mut out, "getSumeDePlataPePersoana", namespace);
    leaf(&mut out, "cui", &r.cui);
    leaf(&mut out, "timestamp", &r.timestamp);
    leaf(&mut out, "check", &r.check);
    out.push_str("</ns1:getSumeDePlataPePersoana>");
    close(version, &mut out);
    out
}

/// An inregistrareIncasari request, as ghiseul.ro sends it (used by `call`).
pub fn incasari_request(version: SoapVersion, namespace: &str, r: &IncasariRequest) -> String {
    let mut out = String::with_capacity(1024);
    open(version, &mut out);
    open_operation(&mut out, "inregistrareIncasari", namespace);
    leaf(&mut out, "order", &r.order);
    leaf(&mut out, "cui", &r.cui);
    out.push_str("<sume>");
    for s in &r.sume {
        out.push_str("<item>");
        leaf(&mut out, "idTipSuma", &s.id_tip_suma);
        leaf(&mut out, "valoare", &s.valoare);
        out.push_str("</item>");
    }
    out.push_str("</sume>");
    leaf(&mut out, "data", &r.data);
    leaf(&mut out, "timestamp", &r.timestamp);
    leaf(&mut out, "check", &r.check);
    out.push_str("</ns1:inregistrareIncasari>");
    close(version, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::TipSuma;
    use crate::protocol::envelope::{parse, Limits};
    use crate::protocol::read;

    #[test]
    fn written_response_reads_back_identically_in_both_versions() {
        let r = SumeResponse {
            sume: vec![TipSuma {
                id_tip_suma: "3".into(),
                valoare: "10.00".into(),
                prioritate: "0".into(),
                detalii_header: vec!["A & B".into(), "<x>".into()],
                detalii_body: vec![vec!["Str. \"Mare\"".into(), "10.00".into()]],
            }],
            data_calcul: "20240101".into(),
            timestamp: "20240101120000".into(),
            check: "abc".into(),
        };
        for v in [SoapVersion::V11, SoapVersion::V12] {
            let xml = sume_response(v, "urn:ns&x", &r);
            let env = parse(xml.as_bytes(), Limits::default()).unwrap();
            assert_eq!(env.version, v);
            assert_eq!(read::sume_response(&env.operation).unwrap(), r);
        }
    }

    #[test]
    fn fault_carries_the_numeric_code_in_both_versions() {
        for v in [SoapVersion::V11, SoapVersion::V12] {
            let xml = fault(v, 2, "CUI invalid sau inexistent");
            let env = parse(xml.as_bytes(), Limits::default()).unwrap();
            assert_eq!(
                read::fault(&env.operation),
                Some(("2".to_string(), "CUI invalid sau inexistent".to_string()))
            );
        }
    }
}
