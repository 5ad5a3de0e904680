//! The web service end to end, one test per rule of Annex 1 and interface.md, run against
//! SQLite and (with `--ignored` and GHISEUL_TEST_POSTGRES_URL / GHISEUL_TEST_MYSQL_URL set)
//! PostgreSQL and MariaDB/MySQL.

#[macro_use]
mod common;

use common::*;
use ghiseul_connector::protocol::SoapVersion;
use ghiseul_connector::rules::check::Signer;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const XML11: &str = "text/xml; charset=utf-8";
const XML12: &str = "application/soap+xml; charset=utf-8";

fn sign(text: &str) -> String {
    Signer::new(KEY.as_bytes()).sign(text)
}

fn envelope(ns: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="{ns}" xmlns:t="urn:anything"><e:Body>{body}</e:Body></e:Envelope>"#
    )
}

fn get_sume_xml(ns: &str, cui: &str, check: &str) -> String {
    envelope(
        ns,
        &format!("<t:getSumeDePlataPePersoana><cui>{cui}</cui><timestamp>20250520101112</timestamp><check>{check}</check></t:getSumeDePlataPePersoana>"),
    )
}

fn pay_xml(order: &str, cui: &str, data: &str, sume: &[(&str, &str)], check: &str) -> String {
    let items: String = sume
        .iter()
        .map(|(id, v)| format!("<item><idTipSuma>{id}</idTipSuma><valoare>{v}</valoare></item>"))
        .collect();
    envelope(
        SOAP11,
        &format!("<t:inregistrareIncasari><order>{order}</order><cui>{cui}</cui><sume>{items}</sume><data>{data}</data><timestamp>20250520101112</timestamp><check>{check}</check></t:inregistrareIncasari>"),
    )
}

fn fault_code(body: &str) -> Option<String> {
    let env =
        ghiseul_connector::protocol::envelope::parse(body.as_bytes(), Default::default()).ok()?;
    ghiseul_connector::protocol::read::fault(&env.operation).map(|(code, _)| code)
}

on_every_backend!(
    statement_lists_prioritised_types_first_then_by_code,
    statement_totals_and_lines_add_up_and_match_the_header,
    statement_check_verifies_and_covers_what_is_written,
    person_who_owes_nothing_gets_empty_list_signed_over_empty_string,
    cif_is_found_with_or_without_ro,
    soap12_request_gets_soap12_answer,
    soap11_request_gets_soap11_answer,
    children_are_accepted_qualified_or_not_with_any_prefix,
    any_soapaction_is_accepted,
    wrong_check_is_fault_1,
    check_in_uppercase_hex_is_accepted,
    missing_element_is_fault_1,
    malformed_timestamp_is_fault_1,
    malformed_xml_is_fault_1,
    doctype_is_fault_1_and_nothing_is_read_from_disk,
    non_soap_body_is_fault_1_in_the_version_the_content_type_suggests,
    unknown_operation_is_fault_1,
    invalid_cnp_is_fault_2,
    unknown_cui_is_fault_2,
    database_unavailable_is_fault_3_without_internals,
    payment_is_allocated_and_the_next_query_shows_the_rest,
    payment_retry_answers_true_and_changes_nothing,
    payment_with_same_order_and_other_content_answers_false_and_changes_nothing,
    payment_signed_over_float_rendered_amounts_is_accepted,
    payment_with_malformed_date_or_order_or_amount_is_fault_1,
    zero_or_negative_amount_is_fault_1_and_journaled,
    payment_for_unknown_cui_is_fault_2_and_journaled,
    payment_for_unknown_tax_type_answers_false_and_is_journaled,
    overpayment_becomes_credit,
    wrong_check_on_payment_is_fault_1_and_not_journaled,
    concurrent_retries_of_one_order_record_it_once,
    concurrent_conflicting_duplicates_record_one_content,
    concurrent_payments_of_one_person_are_all_allocated,
    wsdl_is_served_with_the_configured_url,
    health_answers_ok_with_a_usable_database,
    import_updates_a_known_tax_type_and_refuses_a_taken_priority_keeping_nothing,
    import_keeps_romanian_diacritics,
);

async fn statement_lists_prioritised_types_first_then_by_code(db: Db) {
    let app = TestApp::spawn(db).await;
    let ids: Vec<String> = app
        .owed(POPESCU)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    // 1 (priority 1), 2 (priority 2), then priority 0 by code: 5, 7. Type 9 is owed by nobody.
    assert_eq!(ids, ["1", "2", "5", "7"]);
}

async fn statement_totals_and_lines_add_up_and_match_the_header(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = expect_ok(app.get_sume(POPESCU).await);
    let owed: Vec<(&str, &str)> = r
        .sume
        .iter()
        .map(|t| (t.id_tip_suma.as_str(), t.valoare.as_str()))
        .collect();
    assert_eq!(
        owed,
        [
            ("1", "326.00"),
            ("2", "30.50"),
            ("5", "100.00"),
            ("7", "50.00")
        ]
    );
    let t1 = &r.sume[0];
    assert_eq!(t1.prioritate, "1");
    assert_eq!(
        t1.detalii_header,
        ["Proprietate", "Debit", "Rămășiță", "Majorări", "Penalități"]
    );
    // Oldest first; each line: description then debit, rămășiță, majorări, penalități.
    assert_eq!(
        t1.detalii_body[0],
        ["Casă, Str. Lungă nr. 1", "100.00", "20.00", "5.00", "1.00"]
    );
    assert_eq!(
        t1.detalii_body[1],
        ["Casă, Str. Lungă nr. 1", "200.00", "0.00", "0.00", "0.00"]
    );
    assert_eq!(r.sume[2].detalii_header[0], "Proces-verbal");
    for t in &r.sume {
        let mut sum = 0i64;
        for line in &t.detalii_body {
            assert_eq!(line.len(), t.detalii_header.len());
            for cell in &line[1..] {
                sum += ghiseul_connector::rules::money::Bani::parse_lei(cell)
                    .unwrap()
                    .0;
            }
        }
        assert_eq!(
            ghiseul_connector::rules::money::Bani(sum).to_string(),
            t.valoare
        );
    }
    assert_eq!(r.data_calcul.len(), 8);
    assert_eq!(r.timestamp.len(), 14);
    assert!(r.timestamp.starts_with(&r.data_calcul));
}

async fn statement_check_verifies_and_covers_what_is_written(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, _, body) = app
        .post(get_sume_xml(SOAP11, FIRMA, &sign(FIRMA)), XML11)
        .await;
    assert_eq!(status, 200);
    // The one TipSuma of the firm, hashed from the strings as they appear in the XML.
    let expected =
        sign("11000.00ProprietateDebitRămășițăMajorăriPenalitățiHală1000.000.000.000.00");
    assert!(
        body.contains(&format!("<check>{expected}</check>")),
        "{body}"
    );
}

async fn person_who_owes_nothing_gets_empty_list_signed_over_empty_string(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = expect_ok(app.get_sume(IONESCU).await);
    assert!(r.sume.is_empty());
    assert_eq!(r.check, "66e5201c97540f64a38c843ac05e700fbc1bdd08");
}

async fn cif_is_found_with_or_without_ro(db: Db) {
    let app = TestApp::spawn(db).await;
    assert_eq!(
        app.owed(FIRMA).await,
        [("1".to_string(), "1000.00".to_string())]
    );
    assert_eq!(
        app.owed(&format!("RO{FIRMA}")).await,
        [("1".to_string(), "1000.00".to_string())]
    );
}

async fn soap12_request_gets_soap12_answer(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, ct, body) = app
        .post(get_sume_xml(SOAP12, POPESCU, &sign(POPESCU)), XML12)
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/soap+xml"), "{ct}");
    assert!(body.contains(SOAP12) && !body.contains(SOAP11));
    let (status, ct, body) = app.post(get_sume_xml(SOAP12, POPESCU, "0000"), XML12).await;
    assert_eq!(status, 500);
    assert!(ct.starts_with("application/soap+xml"));
    assert!(body.contains("<env:Value>1</env:Value>"), "{body}");
    let r = app
        .client(SoapVersion::V12)
        .get_sume(POPESCU)
        .await
        .unwrap();
    assert_eq!(expect_ok(r).sume.len(), 4);
}

async fn soap11_request_gets_soap11_answer(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, ct, body) = app
        .post(get_sume_xml(SOAP11, POPESCU, &sign(POPESCU)), XML11)
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/xml"), "{ct}");
    assert!(body.contains(SOAP11) && !body.contains(SOAP12));
    // The response element is in the target namespace, its children unqualified.
    assert!(body.contains(r#"<ns1:getSumeDePlataPePersoanaResponse xmlns:ns1=""#));
    assert!(body.contains("<getSumeDePlataPePersoanaResult><sume><item><idTipSuma>1</idTipSuma>"));
}

async fn children_are_accepted_qualified_or_not_with_any_prefix(db: Db) {
    let app = TestApp::spawn(db).await;
    let check = sign(POPESCU);
    let bodies = [
        format!("<t:getSumeDePlataPePersoana><t:cui>{POPESCU}</t:cui><t:timestamp>20250520101112</t:timestamp><t:check>{check}</t:check></t:getSumeDePlataPePersoana>"),
        format!(r#"<getSumeDePlataPePersoana xmlns="urn:other"><cui>{POPESCU}</cui><timestamp>20250520101112</timestamp><check>{check}</check></getSumeDePlataPePersoana>"#),
        format!(r#"<x:getSumeDePlataPePersoana xmlns:x="urn:x" xmlns:y="urn:y"><y:cui>{POPESCU}</y:cui><timestamp>20250520101112</timestamp><x:check>{check}</x:check></x:getSumeDePlataPePersoana>"#),
    ];
    for body in bodies {
        let (status, _, answer) = app.post(envelope(SOAP11, &body), XML11).await;
        assert_eq!(status, 200, "{body}\n{answer}");
    }
}

async fn any_soapaction_is_accepted(db: Db) {
    let app = TestApp::spawn(db).await;
    for action in [None, Some(""), Some("\"\""), Some("urn:whatever#x")] {
        let mut req = app.http.post(&app.url).header("Content-Type", XML11);
        if let Some(a) = action {
            req = req.header("SOAPAction", a);
        }
        let r = req
            .body(get_sume_xml(SOAP11, POPESCU, &sign(POPESCU)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "SOAPAction {action:?}");
    }
}

async fn wrong_check_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    let wrong = Signer::new(b"alta-cheie").sign(POPESCU);
    let (status, ct, body) = app.post(get_sume_xml(SOAP11, POPESCU, &wrong), XML11).await;
    assert_eq!(status, 500);
    assert!(ct.starts_with("text/xml"));
    assert_eq!(fault_code(&body).as_deref(), Some("1"));
    assert!(body.contains("<faultstring>Mesaj invalid"), "{body}");
}

async fn check_in_uppercase_hex_is_accepted(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, _, _) = app
        .post(
            get_sume_xml(SOAP11, POPESCU, &sign(POPESCU).to_uppercase()),
            XML11,
        )
        .await;
    assert_eq!(status, 200);
}

async fn missing_element_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    let body = envelope(SOAP11, &format!("<t:getSumeDePlataPePersoana><cui>{POPESCU}</cui><check>{}</check></t:getSumeDePlataPePersoana>", sign(POPESCU)));
    let (status, _, answer) = app.post(body, XML11).await;
    assert_eq!(status, 500);
    assert_eq!(fault_code(&answer).as_deref(), Some("1"));
    assert!(
        answer.contains("timestamp"),
        "the reason names the element: {answer}"
    );
}

async fn malformed_timestamp_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    for ts in ["2025-05-20", "20251320101112", "", "2025052010111"] {
        let body = envelope(SOAP11, &format!("<t:getSumeDePlataPePersoana><cui>{POPESCU}</cui><timestamp>{ts}</timestamp><check>{}</check></t:getSumeDePlataPePersoana>", sign(POPESCU)));
        let (_, _, answer) = app.post(body, XML11).await;
        assert_eq!(
            fault_code(&answer).as_deref(),
            Some("1"),
            "timestamp {ts:?}"
        );
    }
}

async fn malformed_xml_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    let good = get_sume_xml(SOAP11, POPESCU, &sign(POPESCU));
    for bad in [
        &good[..good.len() - 20],
        "<e:Envelope>",
        "\u{0}\u{1}binary",
        "",
    ] {
        let (status, _, answer) = app.post(bad.to_string(), XML11).await;
        assert_eq!(status, 500, "{bad:?}");
        assert_eq!(fault_code(&answer).as_deref(), Some("1"), "{bad:?}");
    }
    let (status, _, answer) = app.post(vec![0xffu8, 0xfe, 0x3c], XML11).await;
    assert_eq!((status, fault_code(&answer).as_deref()), (500, Some("1")));
}

async fn doctype_is_fault_1_and_nothing_is_read_from_disk(db: Db) {
    let app = TestApp::spawn(db).await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "CONTINUT-SECRET-DE-PE-DISC").unwrap();
    let body = format!(
        r#"<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{}">]><e:Envelope xmlns:e="{SOAP11}"><e:Body><getSumeDePlataPePersoana><cui>&x;</cui><timestamp>20250520101112</timestamp><check>0</check></getSumeDePlataPePersoana></e:Body></e:Envelope>"#,
        secret.path().display()
    );
    let (status, _, answer) = app.post(body, XML11).await;
    assert_eq!(status, 500);
    assert_eq!(fault_code(&answer).as_deref(), Some("1"));
    assert!(!answer.contains("CONTINUT-SECRET"));
}

async fn non_soap_body_is_fault_1_in_the_version_the_content_type_suggests(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, ct, answer) = app.post("hello", XML11).await;
    assert!(ct.starts_with("text/xml") && answer.contains(SOAP11));
    let (_, ct, answer) = app.post("hello", XML12).await;
    assert!(ct.starts_with("application/soap+xml") && answer.contains(SOAP12));
    assert_eq!(fault_code(&answer).as_deref(), Some("1"));
}

async fn unknown_operation_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    let (status, _, answer) = app
        .post(
            envelope(
                SOAP11,
                "<t:stergeToateDatoriile><cui>1</cui></t:stergeToateDatoriile>",
            ),
            XML11,
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(fault_code(&answer).as_deref(), Some("1"));
}

async fn invalid_cnp_is_fault_2(db: Db) {
    let app = TestApp::spawn(db).await;
    for bad in [
        "1800101221112",
        "180010122111",
        "18001O1221111",
        "1800231221115",
        "0123",
    ] {
        let (code, text) = expect_fault(app.get_sume(bad).await);
        assert_eq!(code, "2", "{bad}");
        assert!(text.starts_with("CUI invalid sau inexistent"), "{text}");
    }
}

async fn unknown_cui_is_fault_2(db: Db) {
    let app = TestApp::spawn(db).await;
    let (code, _) = expect_fault(app.get_sume(NECUNOSCUT).await);
    assert_eq!(code, "2");
}

async fn database_unavailable_is_fault_3_without_internals(db: Db) {
    let app = TestApp::spawn(db).await;
    app.store.close().await;
    for (xml, what) in [
        (get_sume_xml(SOAP11, POPESCU, &sign(POPESCU)), "query"),
        (
            pay_xml(
                "77",
                POPESCU,
                "2025-05-20 10:11:12",
                &[("1", "1.00")],
                &sign(&format!("77{POPESCU}2025-05-20 10:11:1211.00")),
            ),
            "payment",
        ),
    ] {
        let (status, _, answer) = app.post(xml, XML11).await;
        assert_eq!(status, 500, "{what}");
        assert_eq!(
            fault_code(&answer).as_deref(),
            Some("3"),
            "{what}: {answer}"
        );
        let lower = answer.to_lowercase();
        for leak in [
            "select", "insert", "sqlx", "pool", "sqlite", "postgres", "mysql", "mariadb",
        ] {
            assert!(
                !lower.contains(leak),
                "{what} answer reveals {leak}: {answer}"
            );
        }
    }
}

async fn payment_is_allocated_and_the_next_query_shows_the_rest(db: Db) {
    let app = TestApp::spawn(db).await;
    // 30.00 on type 1: rămășița 20.00 (oldest principal), then 10.00 of the 2024 debit.
    assert!(expect_ok(
        app.pay("1001", POPESCU, &[("1", "30.00"), ("2", "30.50")])
            .await
    ));
    let r = expect_ok(app.get_sume(POPESCU).await);
    let owed: Vec<(&str, &str)> = r
        .sume
        .iter()
        .map(|t| (t.id_tip_suma.as_str(), t.valoare.as_str()))
        .collect();
    assert_eq!(owed, [("1", "296.00"), ("5", "100.00"), ("7", "50.00")]);
    assert_eq!(
        r.sume[0].detalii_body[0],
        ["Casă, Str. Lungă nr. 1", "90.00", "0.00", "5.00", "1.00"]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT SUM(amount) FROM allocations").await,
        6050
    );
}

async fn payment_retry_answers_true_and_changes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("1002", POPESCU, &[("1", "50.00")]).await));
    let before = app.owed(POPESCU).await;
    // The same payment again, with the amount spelled as a float client writes it.
    assert!(expect_ok(app.pay("1002", POPESCU, &[("1", "50")]).await));
    assert!(expect_ok(app.pay("1002", POPESCU, &[("1", "50.00")]).await));
    assert_eq!(app.owed(POPESCU).await, before);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'retry'")
            .await,
        2
    );
}

async fn payment_with_same_order_and_other_content_answers_false_and_changes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("1003", POPESCU, &[("1", "50.00")]).await));
    let before = app.owed(POPESCU).await;
    assert!(!expect_ok(
        app.pay("1003", POPESCU, &[("1", "60.00")]).await
    ));
    assert!(!expect_ok(app.pay("1003", FIRMA, &[("1", "50.00")]).await));
    assert_eq!(app.owed(POPESCU).await, before);
    assert_eq!(
        app.owed(FIRMA).await,
        [("1".to_string(), "1000.00".to_string())]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'conflict'")
            .await,
        2
    );
}

async fn payment_signed_over_float_rendered_amounts_is_accepted(db: Db) {
    let app = TestApp::spawn(db).await;
    let data = "2025-05-20 10:11:12";
    // PHP sends 1133.50 as 1133.5 but may have signed "1133.50" — and the other way round.
    let cases = [
        ("2001", "30.5", "30.50"),
        ("2002", "30.50", "30.5"),
        ("2003", "5", "5.00"),
    ];
    for (order, sent, signed) in cases {
        let check = sign(&format!("{order}{POPESCU}{data}2{signed}"));
        let (status, _, answer) = app
            .post(pay_xml(order, POPESCU, data, &[("2", sent)], &check), XML11)
            .await;
        assert_eq!(status, 200, "order {order}: {answer}");
        assert!(answer.contains("<inregistrareIncasariResult>true</inregistrareIncasariResult>"));
    }
    // But nothing else: a different amount under the same check is refused.
    let check = sign(&format!("2004{POPESCU}{data}230.50"));
    let (status, _, answer) = app
        .post(
            pay_xml("2004", POPESCU, data, &[("2", "30.51")], &check),
            XML11,
        )
        .await;
    assert_eq!((status, fault_code(&answer).as_deref()), (500, Some("1")));
}

async fn payment_with_malformed_date_or_order_or_amount_is_fault_1(db: Db) {
    let app = TestApp::spawn(db).await;
    let cases = [
        ("3001", "2025-05-20T10:11:12", "1.00"),
        ("3002", "20.05.2025 10:11:12", "1.00"),
        ("abc", "2025-05-20 10:11:12", "1.00"),
        ("-5", "2025-05-20 10:11:12", "1.00"),
        ("3003", "2025-05-20 10:11:12", "1e3"),
        ("3004", "2025-05-20 10:11:12", "12.345"),
        ("3005", "2025-05-20 10:11:12", "1,50"),
    ];
    for (order, data, amount) in cases {
        let check = sign(&format!("{order}{POPESCU}{data}1{amount}"));
        let (status, _, answer) = app
            .post(
                pay_xml(order, POPESCU, data, &[("1", amount)], &check),
                XML11,
            )
            .await;
        assert_eq!(
            (status, fault_code(&answer).as_deref()),
            (500, Some("1")),
            "{order} {data} {amount}: {answer}"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'invalid_message'")
            .await,
        cases.len() as i64
    );
}

async fn zero_or_negative_amount_is_fault_1_and_journaled(db: Db) {
    let app = TestApp::spawn(db).await;
    for (order, amount) in [
        ("4001", "0"),
        ("4002", "0.00"),
        ("4003", "-1"),
        ("4004", "-0.01"),
    ] {
        let (code, _) = expect_fault(app.pay(order, POPESCU, &[("1", amount)]).await);
        assert_eq!(code, "1", "{amount}");
    }
    let (code, _) = expect_fault(app.pay("4005", POPESCU, &[("1", "5.00"), ("2", "0")]).await);
    assert_eq!(code, "1");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_journal").await, 5);
}

async fn payment_for_unknown_cui_is_fault_2_and_journaled(db: Db) {
    let app = TestApp::spawn(db).await;
    let (code, _) = expect_fault(app.pay("5001", NECUNOSCUT, &[("1", "10.00")]).await);
    assert_eq!(code, "2");
    let (code, _) = expect_fault(app.pay("5002", "1800101221112", &[("1", "10.00")]).await);
    assert_eq!(code, "2");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'unknown_cui'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'invalid_cui'")
            .await,
        1
    );
}

async fn payment_for_unknown_tax_type_answers_false_and_is_journaled(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(!expect_ok(
        app.pay("6001", POPESCU, &[("1", "10.00"), ("42", "5.00")])
            .await
    ));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'unknown_tax_type'")
            .await,
        1
    );
}

async fn overpayment_becomes_credit(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(
        app.pay("7001", POPESCU, &[("2", "100.00")]).await
    ));
    assert!(!app.owed(POPESCU).await.iter().any(|(id, _)| id == "2"));
    assert_eq!(app.scalar("SELECT SUM(amount) FROM credits").await, 6950);
    // Type 9 exists but nobody owes on it: the whole amount is credit.
    assert!(expect_ok(app.pay("7002", IONESCU, &[("9", "12.34")]).await));
    assert_eq!(
        app.scalar("SELECT SUM(amount) FROM credits").await,
        6950 + 1234
    );
}

async fn wrong_check_on_payment_is_fault_1_and_not_journaled(db: Db) {
    let app = TestApp::spawn(db).await;
    let check = sign(&format!("8001{POPESCU}2025-05-20 10:11:1215.00"));
    let xml = pay_xml(
        "8001",
        POPESCU,
        "2025-05-20 10:11:12",
        &[("1", "6.00")],
        &check,
    );
    let (status, _, answer) = app.post(xml, XML11).await;
    assert_eq!((status, fault_code(&answer).as_deref()), (500, Some("1")));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payment_journal").await, 0);
}

async fn concurrent_retries_of_one_order_record_it_once(db: Db) {
    let app = std::sync::Arc::new(TestApp::spawn(db).await);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.pay("9001", POPA, &[("1", "10.00")]).await })
        })
        .collect();
    for t in tasks {
        assert!(expect_ok(t.await.unwrap()));
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT SUM(amount) FROM allocations").await,
        1000
    );
    assert_eq!(
        app.owed(POPA).await,
        [("1".to_string(), "990.00".to_string())]
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payment_journal WHERE outcome = 'retry'")
            .await,
        15
    );
}

async fn concurrent_conflicting_duplicates_record_one_content(db: Db) {
    let app = std::sync::Arc::new(TestApp::spawn(db).await);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let app = app.clone();
            let amount = if i % 2 == 0 { "10.00" } else { "20.00" };
            tokio::spawn(async move { (amount, app.pay("9002", POPA, &[("1", amount)]).await) })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        let (amount, a) = t.await.unwrap();
        answers.push((amount, expect_ok(a)));
    }
    let recorded = app
        .scalar("SELECT total FROM payments WHERE order_no = 9002")
        .await;
    let winner = if recorded == 1000 { "10.00" } else { "20.00" };
    // Exactly as one at a time: every request with the recorded content is true, every other false.
    for (amount, answer) in answers {
        assert_eq!(answer, amount == winner, "{amount}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.scalar("SELECT SUM(amount) FROM allocations").await,
        recorded
    );
}

async fn concurrent_payments_of_one_person_are_all_allocated(db: Db) {
    let app = std::sync::Arc::new(TestApp::spawn(db).await);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(
                async move { app.pay(&format!("95{i:02}"), POPA, &[("1", "60.00")]).await },
            )
        })
        .collect();
    for t in tasks {
        assert!(expect_ok(t.await.unwrap()));
    }
    // 20 × 60.00 = 1200.00 against 1000.00 owed: all of it paid, 200.00 credit, not a ban lost.
    assert!(app.owed(POPA).await.is_empty());
    assert_eq!(
        app.scalar("SELECT SUM(amount) FROM allocations").await,
        100_000
    );
    assert_eq!(app.scalar("SELECT SUM(amount) FROM credits").await, 20_000);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM payments").await, 20);
}

async fn wsdl_is_served_with_the_configured_url(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, wsdl) = app.get("/soap?wsdl").await;
    assert!(wsdl.contains(r#"name="InformatiiPlataZF""#));
    assert!(wsdl.contains("#getSumeDePlataPePersoana\""));
    assert!(!wsdl.contains("{{"));
}

async fn health_answers_ok_with_a_usable_database(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = app
        .http
        .get(format!("http://{}/health", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.store.close().await;
    let r = app
        .http
        .get(format!("http://{}/health", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
}

async fn import_updates_a_known_tax_type_and_refuses_a_taken_priority_keeping_nothing(db: Db) {
    use ghiseul_connector::import::{ImportError, Kind};
    let app = TestApp::spawn(db).await;
    // Type 1 renamed and moved to priority 4, type 20 new: both kept.
    let ok = "id_tip_suma,nume,prioritate,iban\n1,Impozit clădiri nou,4,RO28TREZ2165070000000001\n20,Taxă nouă,0,RO98TREZ2165070000000002\n";
    let summary = import_csv(&app.store, Kind::TaxTypes, ok).await.unwrap();
    assert_eq!((summary.counts.added, summary.counts.changed), (1, 1));
    assert_eq!(
        app.scalar("SELECT prioritate FROM tax_types WHERE id_tip_suma = 1")
            .await,
        4
    );
    // Type 21 asks for priority 2, which type 2 holds: refused, and type 7's change in the
    // same file is not kept either (all or nothing), nor is type 2 overwritten.
    let bad = "id_tip_suma,nume,prioritate,iban\n7,Salubrizare,5,RO71TREZ2165070000000003\n21,Alta,2,RO44TREZ2165070000000004\n";
    match import_csv(&app.store, Kind::TaxTypes, bad).await {
        Err(ImportError::BadRows { rows, .. }) => assert!(!rows.is_empty()),
        other => panic!("expected bad rows, got {other:?}"),
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tax_types WHERE id_tip_suma = 21")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT prioritate FROM tax_types WHERE id_tip_suma = 7")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT prioritate FROM tax_types WHERE id_tip_suma = 2")
            .await,
        2
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tax_types").await, 6);
}

async fn import_keeps_romanian_diacritics(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = expect_ok(app.get_sume(POPESCU).await);
    let amenzi = r.sume.iter().find(|t| t.id_tip_suma == "5").unwrap();
    assert_eq!(
        amenzi.detalii_header,
        [
            "Proces-verbal",
            "Debit",
            "Rămășiță",
            "Majorări",
            "Penalități"
        ]
    );
    let row = sqlx::query("SELECT nume FROM taxpayers WHERE cui = '1800101221111'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        ghiseul_connector::store::text(&row, 0).unwrap(),
        "Popescu Ștefan"
    );
}
