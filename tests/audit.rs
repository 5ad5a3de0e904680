//! The GDPR audit log end to end: one row per SOAP request with a masked CUI, the right
//! outcome and source, never a full CNP; retention; the `audit` command; nothing pending is
//! lost on shutdown. Run on SQLite, and with `--ignored` and GHISEUL_TEST_POSTGRES_URL /
//! GHISEUL_TEST_MYSQL_URL on PostgreSQL and MariaDB/MySQL.

#[macro_use]
mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use ghiseul_connector::protocol::SoapVersion;
use ghiseul_connector::startup::Application;
use ghiseul_connector::store::audit::{self, Filter, Outcome, Record, Row};
use ghiseul_connector::store::{Store, Timeouts};
use prometheus_client::metrics::counter::Counter;

on_every_backend!(
    every_request_leaves_a_row_with_masked_cui_outcome_and_fault_code,
    full_cnp_never_reaches_the_audit_table,
    caller_refused_by_the_allow_list_is_audited_as_refused,
    source_is_the_client_behind_a_trusted_proxy,
    retention_deletes_only_rows_older_than_the_setting,
    server_deletes_expired_rows_at_start,
    writer_flushes_pending_rows_when_stopped,
    graceful_shutdown_writes_the_rows_of_the_last_requests,
    audit_command_prints_rows_newest_first_and_filters,
);

fn all() -> Filter {
    Filter {
        limit: 1000,
        ..Filter::default()
    }
}

/// The audit rows once `n` have been written (the writer batches for a moment).
async fn rows_when(store: &Store, n: usize) -> Vec<Row> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = audit::query(store, &all()).await.unwrap();
        if rows.len() >= n || tokio::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn every_request_leaves_a_row_with_masked_cui_outcome_and_fault_code(db: Db) {
    let app = TestApp::spawn(db).await;
    expect_ok(app.get_sume(POPA).await);
    let (code, _) = expect_fault(app.get_sume(NECUNOSCUT).await);
    assert_eq!(code, "2");
    assert!(expect_ok(app.pay("1001", POPA, &[("1", "10.00")]).await));
    let wrong_key = ghiseul_connector::client::Client::new(
        &app.url,
        "urn:test",
        "alta-cheie",
        SoapVersion::V12,
    )
    .unwrap();
    let (code, _) = expect_fault(wrong_key.get_sume(POPESCU).await.unwrap());
    assert_eq!(code, "1");
    let (status, _, _) = app.post("not xml at all", "text/xml").await;
    assert_eq!(status, 500);

    let rows = rows_when(&app.store, 5).await;
    let seen: Vec<(&str, &str, &str, Option<i64>)> = rows
        .iter()
        .map(|r| {
            (
                r.operation.as_str(),
                r.cui.as_str(),
                r.outcome.as_str(),
                r.fault_code,
            )
        })
        .collect();
    // Newest first.
    assert_eq!(
        seen,
        [
            ("-", "", "fault", Some(1)),
            (
                "getSumeDePlataPePersoana",
                "**********111",
                "fault",
                Some(1)
            ),
            ("inregistrareIncasari", "**********014", "ok", None),
            (
                "getSumeDePlataPePersoana",
                "**********035",
                "fault",
                Some(2)
            ),
            ("getSumeDePlataPePersoana", "**********014", "ok", None),
        ]
    );
    for r in &rows {
        assert_eq!(r.source, "127.0.0.1");
        assert!(r.duration_ms >= 0 && r.duration_ms < 10_000, "{r:?}");
        let at = chrono::NaiveDateTime::parse_from_str(&r.at, "%Y-%m-%d %H:%M:%S%.3f").unwrap();
        let age = Utc::now().naive_utc() - at;
        assert!(
            age.num_seconds().abs() < 120,
            "time is not UTC now: {}",
            r.at
        );
    }
}

async fn full_cnp_never_reaches_the_audit_table(db: Db) {
    let app = TestApp::spawn(db).await;
    let cnps = [POPESCU, IONESCU, POPA, NECUNOSCUT, "1800101221112"];
    for cnp in cnps {
        let _ = app.get_sume(cnp).await;
    }
    let _ = app.pay("2001", POPESCU, &[("1", "1.00")]).await;
    let _ = app.pay("2002", "1800101221112", &[("1", "1.00")]).await;
    let rows = rows_when(&app.store, cnps.len() + 2).await;
    assert_eq!(rows.len(), cnps.len() + 2);
    // Every column of every row, as the database holds it.
    let dump = format!("{rows:?}");
    for cnp in cnps {
        assert!(!dump.contains(cnp), "{cnp} is in the audit table: {dump}");
        assert!(
            dump.contains(&format!("**********{}", &cnp[10..])),
            "{cnp}: {dump}"
        );
    }
}

async fn caller_refused_by_the_allow_list_is_audited_as_refused(db: Db) {
    let (mut config, dir) = TestApp::fresh_config(db).await;
    config.allow = vec!["192.0.2.0/24".parse().unwrap()];
    let app = TestApp::spawn_with(config, dir).await;
    let (status, _, _) = app.post("<x/>", "text/xml").await;
    assert_eq!(status, 403);
    let rows = rows_when(&app.store, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].source.as_str(),
            rows[0].fault_code
        ),
        ("refused", "127.0.0.1", None)
    );
}

async fn source_is_the_client_behind_a_trusted_proxy(db: Db) {
    let (mut config, dir) = TestApp::fresh_config(db).await;
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::spawn_with(config, dir).await;
    let r = app
        .http
        .post(&app.url)
        .header("Content-Type", "text/xml")
        .header("X-Forwarded-For", "203.0.113.9, 198.51.100.7")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let rows = rows_when(&app.store, 1).await;
    assert_eq!(rows[0].source, "198.51.100.7");
}

fn record_at(days_ago: i64, cui: &str) -> Record {
    let mut r = Record::now(
        "getSumeDePlataPePersoana",
        cui.to_string(),
        "192.0.2.1".into(),
    );
    r.at = Utc::now().naive_utc() - chrono::Duration::days(days_ago);
    r.outcome = Outcome::Ok;
    r
}

async fn retention_deletes_only_rows_older_than_the_setting(db: Db) {
    // The server itself keeps everything (0), so only the calls below delete.
    let (mut config, dir) = TestApp::fresh_config(db).await;
    config.audit_retention_days = 0;
    let app = TestApp::spawn_with(config, dir).await;
    let records = [
        record_at(400, "***old"),
        record_at(366, "***old"),
        record_at(364, "***kept"),
        record_at(0, "***new"),
    ];
    audit::insert(&app.store, &records).await.unwrap();
    // 0 keeps everything.
    assert_eq!(audit::delete_older_than(&app.store, 0).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(audit::query(&app.store, &all()).await.unwrap().len(), 4);
    assert_eq!(audit::delete_older_than(&app.store, 365).await.unwrap(), 2);
    let cuis: Vec<String> = audit::query(&app.store, &all())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.cui)
        .collect();
    assert_eq!(cuis, ["***new", "***kept"]);
}

async fn server_deletes_expired_rows_at_start(db: Db) {
    let (mut config, dir) = TestApp::fresh_config(db).await;
    let first = TestApp::spawn_with(config.clone(), None).await;
    audit::insert(
        &first.store,
        &[record_at(40, "***old"), record_at(1, "***new")],
    )
    .await
    .unwrap();
    config.audit_retention_days = 30;
    let second = TestApp::spawn_with(config, dir).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let cuis = loop {
        let cuis: Vec<String> = audit::query(&second.store, &all())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.cui)
            .collect();
        if cuis.len() < 2 || tokio::time::Instant::now() > deadline {
            break cuis;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(cuis, ["***new"]);
}

async fn writer_flushes_pending_rows_when_stopped(db: Db) {
    let app = TestApp::spawn_empty(db).await;
    let dropped = Counter::default();
    let (log, queue) = audit::channel(100, dropped.clone());
    // A writer that would wait an hour to fill its batch: only the stop writes the rows.
    let writer = audit::spawn_writer(
        app.store.clone(),
        queue,
        audit::WriterSettings {
            batch: 1000,
            linger: Duration::from_secs(3600),
        },
        dropped.clone(),
    );
    for i in 0..3 {
        log.record(record_at(0, &format!("***{i}")));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(audit::query(&app.store, &all()).await.unwrap().is_empty());
    writer.flush_and_stop().await;
    assert_eq!(audit::query(&app.store, &all()).await.unwrap().len(), 3);
    assert_eq!(dropped.get(), 0);
}

async fn graceful_shutdown_writes_the_rows_of_the_last_requests(db: Db) {
    let (config, _dir) = TestApp::fresh_config(db).await;
    let app = Application::build(&config).await.unwrap();
    let url = format!("http://{}{}", app.local_addr(), config.soap_path);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let client =
        ghiseul_connector::client::Client::new(&url, "urn:test", KEY, SoapVersion::V11).unwrap();
    for _ in 0..3 {
        let (code, _) = expect_fault(client.get_sume(NECUNOSCUT).await.unwrap());
        assert_eq!(code, "2");
    }
    // Stop at once, while the writer is still gathering its batch.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let store = Store::connect(&config.database_url, 1, Timeouts::default())
        .await
        .unwrap();
    let rows = audit::query(&store, &all()).await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.fault_code == Some(2)));
}

async fn audit_command_prints_rows_newest_first_and_filters(db: Db) {
    let app = TestApp::spawn_empty(db).await;
    let mut old = record_at(3, "**********111");
    old.operation = "inregistrareIncasari";
    old.outcome = Outcome::Fault;
    old.fault_code = Some(2);
    audit::insert(&app.store, &[old, record_at(0, "**********014")])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"))
            .current_dir(dir.path())
            .env_remove("GHISEUL_HMAC_KEY")
            .env("GHISEUL_DATABASE_URL", &app.database_url)
            .env("GHISEUL_LOG", "warn")
            .arg("audit")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let table = run(&[]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("time (Europe/Bucharest)"), "{table}");
    assert!(lines[1].contains("**********014") && lines[1].contains("ok"));
    assert!(lines[2].contains("**********111") && lines[2].contains("fault"));

    let only_faults = run(&["--fault", "2", "--operation", "inregistrare"]);
    assert_eq!(only_faults.lines().count(), 2, "{only_faults}");
    assert!(only_faults.contains("**********111"));

    let since = (Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&run(&["--since", &since, "--json"])).unwrap();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["cui"], "**********014");
    assert_eq!(json[0]["outcome"], "ok");

    let limited = run(&["--limit", "1"]);
    assert_eq!(limited.lines().count(), 2);
}

#[tokio::test]
async fn dropped_audit_rows_are_counted_in_metrics() {
    let app = TestApp::spawn_empty(Db::Sqlite).await;
    let (_, text) = app.get("/metrics").await;
    assert!(
        text.contains("ghiseul_audit_dropped_total 0"),
        "no audit_dropped counter in:\n{text}"
    );
}
