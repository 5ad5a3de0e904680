//! Reading a SOAP 1.1 or 1.2 envelope into a small element tree of its operation.
//!
//! The reader is deliberately strict about what can hurt (a DOCTYPE, entity references
//! other than XML's five, processing instructions, encodings other than UTF-8, unbounded
//! nesting) and liberal about what clients legitimately vary (prefixes, namespaces of the
//! operation's children, SOAPAction, whitespace, comments, a Header).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Limits that keep a hostile document from costing more than a normal one.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_elements: 20_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => SOAP11_NS,
            SoapVersion::V12 => SOAP12_NS,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    /// The version a client most likely speaks when its envelope cannot tell us:
    /// SOAP 1.2 clients send `application/soap+xml`.
    pub fn from_content_type(content_type: Option<&str>) -> SoapVersion {
        match content_type {
            Some(ct) if ct.to_ascii_lowercase().contains("application/soap+xml") => {
                SoapVersion::V12
            }
            _ => SoapVersion::V11,
        }
    }
}

/// An element of the operation: local name, text (for leaves) and children, in order.
/// Namespaces of the operation's descendants are not kept: clients qualify them or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The children called `name`.
    pub fn children_named<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a Element> + 'n
    where
        'a: 'n,
    {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// A request envelope: its SOAP version and the first element of its Body.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub version: SoapVersion,
    pub operation: Element,
}

/// Why an envelope could not be read. `version` is known once the root was recognised,
/// so that even this answer goes back in the client's SOAP version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct EnvelopeError {
    pub version: Option<SoapVersion>,
    pub reason: String,
}

/// Reads `body` as a SOAP request envelope.
pub fn parse(body: &[u8], limits: Limits) -> Result<Envelope, EnvelopeError> {
    let mut version = None;
    let fail = |version: Option<SoapVersion>, reason: String| EnvelopeError { version, reason };
    let text =
        std::str::from_utf8(body).map_err(|_| fail(None, "mesajul nu este UTF-8 valid".into()))?;
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.trim_text(false);

    // Path of open elements: 0 = Envelope, 1 = Header/Body, 2 = operation, deeper = its content.
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut in_body = false;
    let mut seen_body = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut operation: Option<Element> = None;

    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| fail(version, format!("XML invalid: {e}")))?;
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(fail(version, "se acceptă numai codarea UTF-8".into()));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(fail(version, "DOCTYPE nu este permis".into()));
            }
            Event::PI(_) => {
                return Err(fail(
                    version,
                    "instrucțiunile de procesare nu sunt permise".into(),
                ));
            }
            Event::Comment(_) => {}
            Event::Start(start) => {
                elements += 1;
                if depth >= limits.max_depth || elements > limits.max_elements {
                    return Err(fail(
                        version,
                        "mesajul este prea adânc sau prea mare".into(),
                    ));
                }
                let local = std::str::from_utf8(start.local_name().into_inner())
                    .map_err(|_| fail(version, "nume de element invalid".into()))?
                    .to_string();
                let namespace = match &ns {
                    ResolveResult::Bound(n) => Some(n.into_inner()),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(p) => {
                        return Err(fail(
                            version,
                            format!("prefix nedeclarat: {}", String::from_utf8_lossy(p)),
                        ))
                    }
                };
                match depth {
                    0 => {
                        version = match (namespace, local.as_str()) {
                            (Some(n), "Envelope") if n == SOAP11_NS.as_bytes() => {
                                Some(SoapVersion::V11)
                            }
                            (Some(n), "Envelope") if n == SOAP12_NS.as_bytes() => {
                                Some(SoapVersion::V12)
                            }
                            _ => {
                                return Err(fail(
                                    None,
                                    "elementul rădăcină nu este un Envelope SOAP 1.1 sau 1.2"
                                        .into(),
                                ))
                            }
                        };
                    }
                    1 => {
                        let soap_ns = version.map(|v| v.namespace().as_bytes());
                        if namespace != soap_ns {
                            return Err(fail(
                                version,
                                format!("element neașteptat în Envelope: {local}"),
                            ));
                        }
                        match local.as_str() {
                            "Header" if !seen_body => {}
                            "Body" if !seen_body => {
                                in_body = true;
                                seen_body = true;
                            }
                            _ => {
                                return Err(fail(
                                    version,
                                    format!("element neașteptat în Envelope: {local}"),
                                ))
                            }
                        }
                    }
                    // The first element of the Body is the operation; later ones are ignored.
                    2 if in_body && operation.is_none() => stack.push(Element {
                        name: local,
                        ..Element::default()
                    }),
                    _ if !stack.is_empty() => stack.push(Element {
                        name: local,
                        ..Element::default()
                    }),
                    _ => {}
                }
                depth += 1;
            }
            Event::End(_) => {
                depth -= 1;
                if depth == 1 {
                    in_body = false;
                }
                if let Some(done) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => operation = Some(done),
                    }
                }
            }
            Event::Text(t) => {
                let unescaped = t
                    .unescape()
                    .map_err(|e| fail(version, format!("text invalid: {e}")))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&unescaped);
                }
            }
            Event::CData(c) => {
                let raw = std::str::from_utf8(c.as_ref())
                    .map_err(|_| fail(version, "CDATA invalid".into()))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(raw);
                }
            }
            Event::Empty(_) => unreachable!("expand_empty_elements is on"),
            Event::Eof => break,
        }
    }

    let version =
        version.ok_or_else(|| fail(None, "mesajul nu conține un Envelope SOAP".into()))?;
    if !seen_body {
        return Err(fail(Some(version), "Envelope fără Body".into()));
    }
    let operation =
        operation.ok_or_else(|| fail(Some(version), "Body nu conține nicio operație".into()))?;
    Ok(Envelope { version, operation })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(xml: &str) -> Envelope {
        parse(xml.as_bytes(), Limits::default()).expect("envelope should parse")
    }

    fn parse_err(xml: &str) -> EnvelopeError {
        parse(xml.as_bytes(), Limits::default()).expect_err("envelope should be refused")
    }

    #[test]
    fn soap11_envelope_gives_version_and_operation() {
        let env = parse_ok(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:n="urn:x">
              <s:Header><n:x>ignored</n:x></s:Header>
              <s:Body><n:getSumeDePlataPePersoana><cui>123</cui><n:check>ab&amp;c</n:check></n:getSumeDePlataPePersoana></s:Body>
            </s:Envelope>"#,
        );
        assert_eq!(env.version, SoapVersion::V11);
        assert_eq!(env.operation.name, "getSumeDePlataPePersoana");
        let names: Vec<_> = env
            .operation
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(names, vec![("cui", "123"), ("check", "ab&c")]);
    }

    #[test]
    fn soap12_envelope_is_recognised() {
        let env = parse_ok(
            r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><op xmlns="urn:y"><a><![CDATA[x<y]]></a><b/></op></env:Body></env:Envelope>"#,
        );
        assert_eq!(env.version, SoapVersion::V12);
        assert_eq!(env.operation.children[0].text, "x<y");
        assert_eq!(env.operation.children[1].text, "");
    }

    #[test]
    fn doctype_is_refused_without_expansion() {
        let err = parse_err(
            r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>&e;</op></s:Body></s:Envelope>"#,
        );
        assert!(err.reason.contains("DOCTYPE"));
    }

    #[test]
    fn undefined_entity_is_refused() {
        let err = parse_err(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>&e;</op></s:Body></s:Envelope>"#,
        );
        assert_eq!(err.version, Some(SoapVersion::V11));
    }

    #[test]
    fn non_soap_root_is_refused_without_version() {
        assert_eq!(parse_err("<a/>").version, None);
        assert_eq!(parse_err("not xml").version, None);
        assert_eq!(parse_err("").version, None);
    }

    #[test]
    fn unclosed_or_mismatched_xml_is_refused() {
        parse_err(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op></s:Body></s:Envelope>"#,
        );
        parse_err(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>"#,
        );
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused() {
        let deep = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op>{}{}</op></s:Body></s:Envelope>"#,
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(parse_err(&deep).reason.contains("prea"));
    }

    #[test]
    fn empty_body_is_refused() {
        parse_err(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#,
        );
    }

    #[test]
    fn latin2_encoding_is_refused() {
        parse_err(
            r#"<?xml version="1.0" encoding="ISO-8859-2"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><op/></s:Body></s:Envelope>"#,
        );
    }
}
