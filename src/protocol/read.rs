//! From an operation's element tree to the message values of Annex 1. Only structure is
//! checked here (every element present exactly once); what the values mean is the
//! service's business, after the check has been verified.

use super::envelope::Element;
use crate::messages::{IncasariRequest, SumaIncasata, SumeRequest, SumeResponse, TipSuma};

pub const GET_SUME: &str = "getSumeDePlataPePersoana";
pub const INCASARI: &str = "inregistrareIncasari";

/// A request of one of the two operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Sume(SumeRequest),
    Incasari(IncasariRequest),
}

/// The message is not a request of Annex 1 (fault 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

pub fn request(op: &Element) -> Result<Request, ReadError> {
    match op.name.as_str() {
        GET_SUME => Ok(Request::Sume(SumeRequest {
            cui: leaf(op, "cui")?,
            timestamp: leaf(op, "timestamp")?,
            check: leaf(op, "check")?,
        })),
        INCASARI => Ok(Request::Incasari(IncasariRequest {
            order: leaf(op, "order")?,
            cui: leaf(op, "cui")?,
            sume: items(one(op, "sume")?)?
                .iter()
                .map(|item| {
                    Ok(SumaIncasata {
                        id_tip_suma: leaf(item, "idTipSuma")?,
                        valoare: leaf(item, "valoare")?,
                    })
                })
                .collect::<Result<_, ReadError>>()?,
            data: leaf(op, "data")?,
            timestamp: leaf(op, "timestamp")?,
            check: leaf(op, "check")?,
        })),
        other => Err(ReadError(format!("operație necunoscută: {other}"))),
    }
}

/// A getSumeDePlataPePersoanaResponse, as the `call` command reads it.
pub fn sume_response(op: &Element) -> Result<SumeResponse, ReadError> {
    expect_name(op, "getSumeDePlataPePersoanaResponse")?;
    let result = one(op, "getSumeDePlataPePersoanaResult")?;
    let sume = one(result, "sume")?
        .children
        .iter()
        .map(|item| {
            Ok(TipSuma {
                id_tip_suma: leaf(item, "idTipSuma")?,
                valoare: leaf(item, "valoare")?,
                prioritate: leaf(item, "prioritate")?,
                detalii_header: strings(one(item, "detaliiHeader")?),
                detalii_body: one(item, "detaliiBody")?
                    .children
                    .iter()
                    .map(|line| Ok(strings(one(line, "linie")?)))
                    .collect::<Result<_, ReadError>>()?,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(SumeResponse {
        sume,
        data_calcul: leaf(result, "dataCalcul")?,
        timestamp: leaf(result, "timestamp")?,
        check: leaf(result, "check")?,
    })
}

/// An inregistrareIncasariResponse: `true`/`1` or `false`/`0`.
pub fn incasari_response(op: &Element) -> Result<bool, ReadError> {
    expect_name(op, "inregistrareIncasariResponse")?;
    match leaf(op, "inregistrareIncasariResult")?.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ReadError(format!("rezultat nevalid: {other}"))),
    }
}

/// The code and text of a SOAP 1.1 or 1.2 Fault element.
pub fn fault(op: &Element) -> Option<(String, String)> {
    if op.name != "Fault" {
        return None;
    }
    let find = |path: &[&str]| -> Option<String> {
        let mut e = op;
        for name in path {
            e = e.children_named(name).next()?;
        }
        Some(e.text.trim().to_string())
    };
    let code = find(&["faultcode"]).or_else(|| find(&["Code", "Value"]))?;
    let text = find(&["faultstring"])
        .or_else(|| find(&["Reason", "Text"]))
        .unwrap_or_default();
    Some((code, text))
}

fn expect_name(op: &Element, name: &str) -> Result<(), ReadError> {
    if op.name == name {
        Ok(())
    } else {
        Err(ReadError(format!("se aștepta {name}, a sosit {}", op.name)))
    }
}

fn one<'a>(parent: &'a Element, name: &str) -> Result<&'a Element, ReadError> {
    let mut found = parent.children_named(name);
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(ReadError(format!("lipsește elementul {name}"))),
        (Some(_), Some(_)) => Err(ReadError(format!(
            "elementul {name} apare de mai multe ori"
        ))),
    }
}

/// More paid amounts than any register has tax types is not a payment but an attack on
/// the allocation loop; a city hall has tens of tax types, not hundreds.
pub const MAX_SUME_ITEMS: usize = 100;

fn items(sume: &Element) -> Result<&[Element], ReadError> {
    if sume.children.len() > MAX_SUME_ITEMS {
        return Err(ReadError(format!(
            "prea multe sume într-o cerere (cel mult {MAX_SUME_ITEMS})"
        )));
    }
    Ok(&sume.children)
}

fn leaf(parent: &Element, name: &str) -> Result<String, ReadError> {
    let e = one(parent, name)?;
    if !e.children.is_empty() {
        return Err(ReadError(format!(
            "elementul {name} trebuie să conțină doar text"
        )));
    }
    Ok(e.text.clone())
}

fn strings(array: &Element) -> Vec<String> {
    array.children.iter().map(|c| c.text.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::{parse, Limits};

    fn op(body: &str) -> Element {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:t"><s:Body>{body}</s:Body></s:Envelope>"#
        );
        parse(xml.as_bytes(), Limits::default()).unwrap().operation
    }

    #[test]
    fn unqualified_and_qualified_children_are_read_alike() {
        let a = request(&op("<t:getSumeDePlataPePersoana><cui>1</cui><timestamp>2</timestamp><check>3</check></t:getSumeDePlataPePersoana>")).unwrap();
        let b = request(&op("<t:getSumeDePlataPePersoana><t:cui>1</t:cui><t:timestamp>2</t:timestamp><t:check>3</t:check></t:getSumeDePlataPePersoana>")).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn payment_items_are_read_in_order() {
        let r = request(&op("<t:inregistrareIncasari><order>7</order><cui>c</cui><sume><item><idTipSuma>2</idTipSuma><valoare>1.50</valoare></item><item><valoare>3</valoare><idTipSuma>1</idTipSuma></item></sume><data>d</data><timestamp>t</timestamp><check>k</check></t:inregistrareIncasari>")).unwrap();
        let Request::Incasari(r) = r else {
            panic!("wrong operation")
        };
        assert_eq!(r.sume_as_received(), "2=1.50;1=3");
    }

    #[test]
    fn missing_element_is_an_invalid_message() {
        let err = request(&op(
            "<t:getSumeDePlataPePersoana><cui>1</cui><check>3</check></t:getSumeDePlataPePersoana>",
        ))
        .unwrap_err();
        assert!(err.0.contains("timestamp"));
    }

    #[test]
    fn repeated_element_is_an_invalid_message() {
        assert!(request(&op("<t:getSumeDePlataPePersoana><cui>1</cui><cui>2</cui><timestamp>2</timestamp><check>3</check></t:getSumeDePlataPePersoana>")).is_err());
    }

    #[test]
    fn unknown_operation_is_an_invalid_message() {
        assert!(request(&op("<t:stergeDatorii/>")).is_err());
    }
}
