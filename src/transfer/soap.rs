//! The SOAP messages of the Transfer service, both ways: what `sync` sends and reads back,
//! and what the simulator reads and answers. SOAP 1.1, document/literal, as the binding
//! says; the operation element in the target namespace, everything below it unqualified
//! (the schema has no `elementFormDefault`); every field of a record sent, empty when it
//! has no value, in schema order.

use std::fmt::Write as _;

use super::records::{Packet, Persoana, Stergere, TipSuma};
use super::{Operation, NAMESPACE};
use crate::protocol::envelope::Element;
use crate::protocol::SoapVersion;

/// The fields every request (but connectionTest) carries besides the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `idClient`, written in integer form (D15).
    pub id_client: String,
    pub user_client: String,
    /// `idClient.userWindows@numeStatie`; not sent with `stergere`.
    pub utilizator: String,
    /// `aaaallzzoommss`, Romanian local time.
    pub timestamp: String,
}

/// A packet with its place in the transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sending<'a> {
    pub packet: &'a Packet,
    pub primul: bool,
    pub ultimul: bool,
    pub check: String,
}

fn leaf(out: &mut String, name: &str, text: &str) {
    if text.is_empty() {
        let _ = write!(out, "<{name}/>");
    } else {
        let _ = write!(
            out,
            "<{name}>{}</{name}>",
            quick_xml::escape::partial_escape(text)
        );
    }
}

fn envelope_open(out: &mut String, version: SoapVersion) {
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    match version {
        SoapVersion::V11 => out.push_str(
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>"#,
        ),
        SoapVersion::V12 => out.push_str(
            r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>"#,
        ),
    }
}

fn envelope_close(out: &mut String, version: SoapVersion) {
    out.push_str(match version {
        SoapVersion::V11 => "</SOAP-ENV:Body></SOAP-ENV:Envelope>",
        SoapVersion::V12 => "</env:Body></env:Envelope>",
    });
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

/// The request of `op`. `caller` is ignored for connectionTest; `sending` is required for
/// the operations that carry a packet and ignored otherwise.
pub fn request(op: Operation, caller: &Caller, sending: Option<&Sending<'_>>) -> String {
    let items = sending.map_or(0, |s| s.packet.len());
    let mut out = String::with_capacity(512 + items * 256);
    envelope_open(&mut out, SoapVersion::V11);
    let _ = write!(out, r#"<ns1:{} xmlns:ns1="{NAMESPACE}">"#, op.name());
    if op != Operation::ConnectionTest {
        leaf(&mut out, "idClient", &caller.id_client);
        leaf(&mut out, "userClient", &caller.user_client);
    }
    if op.carries_packet() {
        let empty = Packet::Persoane(Vec::new());
        let s = sending.cloned().unwrap_or(Sending {
            packet: &empty,
            primul: true,
            ultimul: true,
            check: String::new(),
        });
        write_date(&mut out, s.packet);
        if op != Operation::Stergere {
            leaf(&mut out, "utilizator", &caller.utilizator);
        }
        leaf(&mut out, "timestamp", &caller.timestamp);
        leaf(&mut out, "primulPachet", flag(s.primul));
        leaf(&mut out, "ultimulPachet", flag(s.ultimul));
        leaf(&mut out, "check", &s.check);
    } else if op != Operation::ConnectionTest {
        leaf(&mut out, "timestamp", &caller.timestamp);
    }
    let _ = write!(out, "</ns1:{}>", op.name());
    envelope_close(&mut out, SoapVersion::V11);
    out
}

fn write_date(out: &mut String, packet: &Packet) {
    out.push_str("<date>");
    match packet {
        Packet::Persoane(v) | Packet::Firme(v) => {
            for p in v {
                out.push_str("<item>");
                leaf(out, "cui", &p.cui);
                leaf(out, "nume", &p.nume);
                leaf(out, "adresa", &p.adresa);
                leaf(out, "cod", &p.cod);
                leaf(out, "data", &p.data);
                out.push_str("</item>");
            }
        }
        Packet::TipuriSume(v) => {
            for t in v {
                out.push_str("<item>");
                leaf(out, "cod", &t.cod);
                leaf(out, "idNomUnic", &t.id_nom_unic);
                leaf(out, "nume", &t.nume);
                leaf(out, "iban", &t.iban);
                leaf(out, "debit", &t.debit);
                leaf(out, "valInitiala", &t.val_initiala);
                leaf(out, "inactiv", &t.inactiv);
                leaf(out, "data", &t.data);
                leaf(out, "platitor", &t.platitor);
                out.push_str("</item>");
            }
        }
        Packet::Stergeri(v) => {
            for s in v {
                out.push_str("<item>");
                leaf(out, "cod", &s.cod);
                leaf(out, "codObiectSters", &s.cod_obiect_sters);
                leaf(out, "fizjur", &s.fizjur);
                out.push_str("</item>");
            }
        }
    }
    out.push_str("</date>");
}

/// The answer of `op`: its `…Response` element with the `…Result` string.
pub fn response(version: SoapVersion, op: Operation, result: &str) -> String {
    let mut out = String::with_capacity(512);
    envelope_open(&mut out, version);
    let name = op.name();
    let _ = write!(out, r#"<ns1:{name}Response xmlns:ns1="{NAMESPACE}">"#);
    leaf(&mut out, &format!("{name}Result"), result);
    let _ = write!(out, "</ns1:{name}Response>");
    envelope_close(&mut out, version);
    out
}

/// The result string of a response to `op` (D17: the text of the single child, whatever its
/// name, since the norm's prose and WSDL name one of them differently).
pub fn read_result(op: Operation, element: &Element) -> Result<String, String> {
    if element.name != format!("{}Response", op.name()) {
        return Err(format!(
            "expected {}Response, got {}",
            op.name(),
            element.name
        ));
    }
    match element.children.as_slice() {
        [only] => Ok(only.text.trim().to_string()),
        other => Err(format!(
            "{}Response has {} children, expected one",
            op.name(),
            other.len()
        )),
    }
}

/// A request as the simulator reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub op: Operation,
    pub id_client: String,
    pub user_client: String,
    pub utilizator: Option<String>,
    pub timestamp: String,
    pub primul: bool,
    pub ultimul: bool,
    pub packet: Option<Packet>,
    pub check: String,
}

/// Reads the operation element of a request; an error names what is missing or wrong.
pub fn read_request(element: &Element) -> Result<Request, String> {
    let op = Operation::from_name(&element.name)
        .ok_or_else(|| format!("operație necunoscută: {}", element.name))?;
    let mut r = Request {
        op,
        id_client: String::new(),
        user_client: String::new(),
        utilizator: None,
        timestamp: String::new(),
        primul: false,
        ultimul: false,
        packet: None,
        check: String::new(),
    };
    if op == Operation::ConnectionTest {
        return Ok(r);
    }
    r.id_client = one(element, "idClient")?.text.trim().to_string();
    r.user_client = one(element, "userClient")?.text.clone();
    r.timestamp = one(element, "timestamp")?.text.trim().to_string();
    if !op.carries_packet() {
        return Ok(r);
    }
    if op != Operation::Stergere {
        r.utilizator = Some(one(element, "utilizator")?.text.clone());
    }
    r.primul = boolean(one(element, "primulPachet")?)?;
    r.ultimul = boolean(one(element, "ultimulPachet")?)?;
    r.check = one(element, "check")?.text.trim().to_string();
    let date = one(element, "date")?;
    let items: Vec<&Element> = date.children_named("item").collect();
    if items.len() != date.children.len() {
        return Err("date conține alte elemente decât item".into());
    }
    r.packet = Some(match op.kind() {
        Some(super::Kind::Persoane) | Some(super::Kind::Firme) => {
            let v = items
                .iter()
                .map(|i| {
                    exactly(i, &["cui", "nume", "adresa", "cod", "data"])?;
                    Ok(Persoana {
                        cui: field(i, "cui")?,
                        nume: field(i, "nume")?,
                        adresa: field(i, "adresa")?,
                        cod: field(i, "cod")?,
                        data: field(i, "data")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            if op.kind() == Some(super::Kind::Persoane) {
                Packet::Persoane(v)
            } else {
                Packet::Firme(v)
            }
        }
        Some(super::Kind::TipuriSume) => Packet::TipuriSume(
            items
                .iter()
                .map(|i| {
                    exactly(
                        i,
                        &[
                            "cod",
                            "idNomUnic",
                            "nume",
                            "iban",
                            "debit",
                            "valInitiala",
                            "inactiv",
                            "data",
                            "platitor",
                        ],
                    )?;
                    Ok(TipSuma {
                        cod: field(i, "cod")?,
                        id_nom_unic: field(i, "idNomUnic")?,
                        nume: field(i, "nume")?,
                        iban: field(i, "iban")?,
                        debit: field(i, "debit")?,
                        val_initiala: field(i, "valInitiala")?,
                        inactiv: field(i, "inactiv")?,
                        data: field(i, "data")?,
                        platitor: field(i, "platitor")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        Some(super::Kind::Stergeri) => Packet::Stergeri(
            items
                .iter()
                .map(|i| {
                    exactly(i, &["cod", "codObiectSters", "fizjur"])?;
                    Ok(Stergere {
                        cod: field(i, "cod")?,
                        cod_obiect_sters: field(i, "codObiectSters")?,
                        fizjur: field(i, "fizjur")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        None => unreachable!("only connectionTest has no register"),
    });
    Ok(r)
}

fn one<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, String> {
    let mut found = parent.children_named(name);
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(format!("lipsește elementul {name} din {}", parent.name)),
        (Some(_), Some(_)) => Err(format!("elementul {name} apare de mai multe ori")),
    }
}

fn field(item: &Element, name: &str) -> Result<String, String> {
    Ok(one(item, name)?.text.clone())
}

/// `xsd:all`: each field exactly once, nothing else.
fn exactly(item: &Element, names: &[&str]) -> Result<(), String> {
    if item.children.len() != names.len() {
        return Err(format!(
            "item are {} câmpuri, se așteptau {}: {}",
            item.children.len(),
            names.len(),
            names.join(", ")
        ));
    }
    for c in &item.children {
        if !names.contains(&c.name.as_str()) {
            return Err(format!("câmp necunoscut în item: {}", c.name));
        }
    }
    Ok(())
}

fn boolean(e: &Element) -> Result<bool, String> {
    match e.text.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(format!("{} nu este xsd:boolean: `{other}`", e.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::{parse, Limits};
    use crate::protocol::read;

    fn caller() -> Caller {
        Caller {
            id_client: "1234".into(),
            user_client: "primaria.exemplu".into(),
            utilizator: "1234.ghiseul@srv-taxe".into(),
            timestamp: "20110203100000".into(),
        }
    }

    fn packets() -> Vec<Packet> {
        vec![
            Packet::Persoane(vec![Persoana {
                cui: "1780315123453".into(),
                nume: "Popescu & <Ion>".into(),
                adresa: "Str. Lungă nr. 1, Brașov".into(),
                cod: "17".into(),
                data: "2010-10-22 16:06:12".into(),
            }]),
            Packet::Firme(vec![]),
            Packet::TipuriSume(vec![TipSuma {
                cod: "3".into(),
                nume: "Impozit".into(),
                iban: "RO33TREZ1315069XXX012345".into(),
                debit: "1".into(),
                inactiv: "0".into(),
                data: "2010-10-22 16:06:12".into(),
                platitor: "1".into(),
                ..TipSuma::default()
            }]),
            Packet::Stergeri(vec![Stergere {
                cod: "41".into(),
                cod_obiect_sters: "17".into(),
                fizjur: "1".into(),
            }]),
        ]
    }

    #[test]
    fn every_request_reads_back_as_written() {
        for op in Operation::ALL {
            let packet = match op.kind() {
                Some(super::super::Kind::Persoane) => packets()[0].clone(),
                Some(super::super::Kind::Firme) => packets()[1].clone(),
                Some(super::super::Kind::TipuriSume) => packets()[2].clone(),
                _ => packets()[3].clone(),
            };
            let sending = Sending {
                packet: &packet,
                primul: true,
                ultimul: false,
                check: "abc".into(),
            };
            let xml = request(op, &caller(), Some(&sending));
            let env = parse(xml.as_bytes(), Limits::default()).unwrap();
            let r = read_request(&env.operation).unwrap();
            assert_eq!(r.op, op);
            if op == Operation::ConnectionTest {
                assert!(r.id_client.is_empty());
                continue;
            }
            assert_eq!(r.id_client, "1234");
            assert_eq!(r.user_client, "primaria.exemplu");
            assert_eq!(r.timestamp, "20110203100000");
            if op.carries_packet() {
                assert_eq!(r.packet.as_ref(), Some(&packet));
                assert!(r.primul && !r.ultimul);
                assert_eq!(r.check, "abc");
                assert_eq!(
                    r.utilizator.is_some(),
                    op != Operation::Stergere,
                    "stergere has no utilizator"
                );
            } else {
                assert!(r.packet.is_none());
                assert!(!xml.contains("<check"));
            }
        }
    }

    #[test]
    fn an_empty_field_is_sent_as_an_empty_element_in_schema_order() {
        let xml = request(
            Operation::TransferTipuriSume,
            &caller(),
            Some(&Sending {
                packet: &packets()[2],
                primul: true,
                ultimul: true,
                check: "x".into(),
            }),
        );
        assert!(xml.contains("<item><cod>3</cod><idNomUnic/><nume>Impozit</nume><iban>RO33TREZ1315069XXX012345</iban><debit>1</debit><valInitiala/><inactiv>0</inactiv><data>2010-10-22 16:06:12</data><platitor>1</platitor></item>"), "{xml}");
        assert!(xml.contains(&format!(
            r#"<ns1:transferTipuriSume xmlns:ns1="{NAMESPACE}"><idClient>1234</idClient>"#
        )));
    }

    #[test]
    fn responses_and_faults_read_back() {
        for v in [SoapVersion::V11, SoapVersion::V12] {
            let xml = response(v, Operation::GetUltimaDataPersoane, "2010-10-22 16:06:12");
            let env = parse(xml.as_bytes(), Limits::default()).unwrap();
            assert_eq!(
                read_result(Operation::GetUltimaDataPersoane, &env.operation).unwrap(),
                "2010-10-22 16:06:12"
            );
            assert!(read_result(Operation::GetUltimaDataFirme, &env.operation).is_err());
            let xml = crate::protocol::write::fault(v, 7, "Error. CNP-uri invalide: 1, 2");
            let env = parse(xml.as_bytes(), Limits::default()).unwrap();
            assert_eq!(
                read::fault(&env.operation),
                Some(("7".into(), "Error. CNP-uri invalide: 1, 2".into()))
            );
        }
    }

    #[test]
    fn the_prose_name_of_a_result_child_is_read_too() {
        let xml = format!(
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><n:getUltimaDataPersoaneResponse xmlns:n="{NAMESPACE}"><getUltimaDataModificarePersoaneResult>0</getUltimaDataModificarePersoaneResult></n:getUltimaDataPersoaneResponse></e:Body></e:Envelope>"#
        );
        let env = parse(xml.as_bytes(), Limits::default()).unwrap();
        assert_eq!(
            read_result(Operation::GetUltimaDataPersoane, &env.operation).unwrap(),
            "0"
        );
    }

    #[test]
    fn a_request_missing_a_field_or_with_an_extra_one_is_refused() {
        let xml = request(
            Operation::Stergere,
            &caller(),
            Some(&Sending {
                packet: &packets()[3],
                primul: true,
                ultimul: true,
                check: "x".into(),
            }),
        );
        let broken = xml.replace("<fizjur>1</fizjur>", "");
        let env = parse(broken.as_bytes(), Limits::default()).unwrap();
        assert!(read_request(&env.operation).is_err());
        let extra = xml.replace("<fizjur>1</fizjur>", "<fizjur>1</fizjur><x>1</x>");
        let env = parse(extra.as_bytes(), Limits::default()).unwrap();
        assert!(read_request(&env.operation).is_err());
    }
}
