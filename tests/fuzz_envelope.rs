//! Property tests: random and mutated envelopes never make the reader panic, and the
//! server always answers them with a well-formed SOAP envelope (a response or a fault).

mod common;

use common::*;
use ghiseul_connector::messages::{IncasariRequest, SumeRequest};
use ghiseul_connector::protocol::{envelope, read, write, Limits, SoapVersion};
use ghiseul_connector::rules::check::Signer;
use proptest::prelude::*;

fn valid_envelopes() -> Vec<String> {
    let signer = Signer::new(KEY.as_bytes());
    let mut out = Vec::new();
    for version in [SoapVersion::V11, SoapVersion::V12] {
        out.push(write::sume_request(
            version,
            "urn:test",
            &SumeRequest {
                cui: POPESCU.into(),
                timestamp: "2025-05-20 10:11:12".into(),
                check: signer.sign(POPESCU),
            },
        ));
        let mut pay = IncasariRequest {
            order: "4242".into(),
            cui: POPA.into(),
            sume: items(&[("1", "10.00"), ("2", "0.50")]),
            data: "2025-05-20 10:11:12".into(),
            timestamp: "2025-05-20 10:11:12".into(),
            check: String::new(),
        };
        pay.check = signer.sign(&pay.signed_text());
        out.push(write::incasari_request(version, "urn:test", &pay));
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Duplicate { at: usize, len: usize },
    Replace { at: usize, byte: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        b"<".to_vec(),
        b">".to_vec(),
        b"&".to_vec(),
        b"&amp;".to_vec(),
        b"&#0;".to_vec(),
        b"&#x110000;".to_vec(),
        b"<!DOCTYPE x [<!ENTITY e \"e\">]>".to_vec(),
        b"<?pi x?>".to_vec(),
        b"<![CDATA[".to_vec(),
        b"]]>".to_vec(),
        b"xmlns:=\"\"".to_vec(),
        b"\xff\xfe".to_vec(),
        b"\xc3".to_vec(),
        b"</soap:Body>".to_vec(),
        b"<sume><SumaIncasata/></sume>".to_vec(),
        b"-1".to_vec(),
        b"1e308".to_vec(),
        b"99999999999999999999999".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            prop_oneof![prop::collection::vec(any::<u8>(), 1..16), interesting]
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..200usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
    ]
}

fn apply(mut doc: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if doc.is_empty() {
            break;
        }
        match m {
            Mutation::Delete { at, len } => {
                let at = at % doc.len();
                let end = (at + len).min(doc.len());
                doc.drain(at..end);
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (doc.len() + 1);
                doc.splice(at..at, bytes.iter().copied());
            }
            Mutation::Duplicate { at, len } => {
                let at = at % doc.len();
                let end = (at + len).min(doc.len());
                let copy = doc[at..end].to_vec();
                doc.splice(end..end, copy);
            }
            Mutation::Replace { at, byte } => {
                let at = at % doc.len();
                doc[at] = *byte;
            }
        }
    }
    doc
}

fn mutated_envelope() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(valid_envelopes()),
        prop::collection::vec(mutation(), 1..6),
    )
        .prop_map(|(doc, ms)| apply(doc.into_bytes(), &ms))
}

/// What the HTTP layer does with a body, minus the database: read it, or answer a fault.
fn read_or_fault(body: &[u8]) -> String {
    match envelope::parse(body, Limits::default()) {
        Ok(env) => match read::request(&env.operation) {
            Ok(_) => String::new(),
            Err(e) => write::fault(env.version, 1, &e.to_string()),
        },
        Err(e) => write::fault(e.version.unwrap_or(SoapVersion::V11), 1, &e.reason),
    }
}

fn assert_well_formed_fault(xml: &str) {
    let env = envelope::parse(xml.as_bytes(), Limits::default())
        .unwrap_or_else(|e| panic!("our fault is not a SOAP envelope ({}): {xml}", e.reason));
    let (code, _) = read::fault(&env.operation).expect("a Fault element");
    assert_eq!(code, "1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_reader_and_get_a_well_formed_fault(
        body in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        let fault = read_or_fault(&body);
        prop_assume!(!fault.is_empty());
        assert_well_formed_fault(&fault);
    }

    #[test]
    fn mutated_envelopes_never_panic_the_reader_and_get_a_well_formed_fault(
        body in mutated_envelope()
    ) {
        let fault = read_or_fault(&body);
        if !fault.is_empty() {
            assert_well_formed_fault(&fault);
        }
    }
}

proptest! {
    // Through the real server: fewer cases, each a whole HTTP round trip.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_server_answers_every_mutated_envelope_with_a_well_formed_soap_envelope(
        body in mutated_envelope()
    ) {
        let (status, xml) = server_answer(body);
        prop_assert!(status == 200 || status == 500, "status {}", status);
        let env = envelope::parse(xml.as_bytes(), Limits::default());
        prop_assert!(env.is_ok(), "not a SOAP envelope: {}", xml);
        if status == 500 {
            prop_assert!(read::fault(&env.unwrap().operation).is_some(), "{}", xml);
        }
    }
}

/// One server for all cases of the HTTP property, on its own runtime.
fn server_answer(body: Vec<u8>) -> (u16, String) {
    use std::sync::OnceLock;
    static SERVER: OnceLock<(tokio::runtime::Runtime, String)> = OnceLock::new();
    let (rt, url) = SERVER.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let url = rt.block_on(async {
            let app = TestApp::spawn(Db::Sqlite).await;
            let url = app.url.clone();
            // The server lives as long as the test process.
            std::mem::forget(app);
            url
        });
        (rt, url)
    });
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url.as_str())
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}
