//! The WSDL served at `?wsdl`: Annex 1 with the printed typos corrected (the file under
//! `wsdl/`), with the institution's namespace and public URL filled in once at start-up.

const TEMPLATE: &str = include_str!("../../wsdl/ghiseul-connector.wsdl");

/// Renders the WSDL for `public_url` (soap:address and the soapAction URIs) and
/// `namespace` (the target namespace).
pub fn render(public_url: &str, namespace: &str) -> String {
    TEMPLATE
        .replace("{{PUBLIC_URL}}", &quick_xml::escape::escape(public_url))
        .replace("{{NAMESPACE}}", &quick_xml::escape::escape(namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsdl_names_the_configured_url_and_namespace() {
        let w = render(
            "https://primarie.example.ro/ghiseu/server.php",
            "urn:primarie",
        );
        assert!(w.contains(r#"location="https://primarie.example.ro/ghiseu/server.php""#));
        assert!(w.contains(
            r#"soapAction="https://primarie.example.ro/ghiseu/server.php#inregistrareIncasari""#
        ));
        assert!(w.contains(r#"targetNamespace="urn:primarie""#));
        assert!(!w.contains("{{"));
    }

    #[test]
    fn wsdl_is_well_formed_xml_even_with_special_characters_in_the_url() {
        let w = render("https://x.ro/a?b=1&c=\"2\"", "urn:a&b");
        let mut reader = quick_xml::Reader::from_str(&w);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("WSDL is not well formed: {e}"),
            }
        }
    }
}
