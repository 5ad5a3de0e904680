//! Annex 4 (`InformatiiPlataZF.getSumeDePlataPePersoana` with `cuiInstitutie`): the Annex 1
//! operation of the same name with one more field saying for which institution the debts
//! are asked. Its answer is Annex 1's (`write::sume_response`); here only what differs: the
//! WSDL and reading `cuiInstitutie`.

use super::envelope::Element;

const TEMPLATE: &str = include_str!("../../wsdl/informatii-plata-zf.wsdl");

/// The Annex 4 WSDL (shared/spec/informatii-plata-zf.wsdl, corrected) for `public_url`
/// (soap:address and the soapAction) and `namespace`.
pub fn render(public_url: &str, namespace: &str) -> String {
    TEMPLATE
        .replace("{{PUBLIC_URL}}", &quick_xml::escape::escape(public_url))
        .replace("{{NAMESPACE}}", &quick_xml::escape::escape(namespace))
}

/// The `cuiInstitutie` of a getSumeDePlataPePersoana request, when it has exactly one.
/// The rest of the request (`cui`, `timestamp`, `check`) is Annex 1's and read as such.
pub fn cui_institutie(op: &Element) -> Option<String> {
    if op.name != super::read::GET_SUME {
        return None;
    }
    let mut found = op.children_named("cuiInstitutie");
    match (found.next(), found.next()) {
        (Some(e), None) if e.children.is_empty() => Some(e.text.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::{parse, Limits};

    #[test]
    fn annex4_wsdl_names_the_configured_url_and_namespace() {
        let w = render("https://judet.example.ro/zf", "urn:zf");
        assert!(w.contains(r#"location="https://judet.example.ro/zf""#));
        assert!(w.contains(r#"soapAction="https://judet.example.ro/zf#getSumeDePlataPePersoana""#));
        assert!(w.contains(r#"targetNamespace="urn:zf""#));
        assert!(w.contains(r#"name="cuiInstitutie""#));
        assert!(!w.contains("{{"));
    }

    #[test]
    fn cui_institutie_is_read_once_or_not_at_all() {
        let op = |body: &str| {
            let xml = format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:t"><s:Body>{body}</s:Body></s:Envelope>"#
            );
            parse(xml.as_bytes(), Limits::default()).unwrap().operation
        };
        let one = op("<t:getSumeDePlataPePersoana><cuiInstitutie> 4351446 </cuiInstitutie><cui>1</cui></t:getSumeDePlataPePersoana>");
        assert_eq!(cui_institutie(&one).as_deref(), Some("4351446"));
        let none = op("<t:getSumeDePlataPePersoana><cui>1</cui></t:getSumeDePlataPePersoana>");
        assert_eq!(cui_institutie(&none), None);
        let two = op("<t:getSumeDePlataPePersoana><cuiInstitutie>1</cuiInstitutie><cuiInstitutie>2</cuiInstitutie></t:getSumeDePlataPePersoana>");
        assert_eq!(cui_institutie(&two), None);
        let pay =
            op("<t:inregistrareIncasari><cuiInstitutie>1</cuiInstitutie></t:inregistrareIncasari>");
        assert_eq!(cui_institutie(&pay), None);
    }
}
