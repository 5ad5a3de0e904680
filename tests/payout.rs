//! Payments out (issue 13) on every backend: `export payments` gives exactly what was
//! paid, a consumer's cursor survives a crash between writing and renaming its file, the
//! daily report's totals are the export's, and exceptions appear and can be handled. The
//! exports run the real binary against the database of a real server.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use ghiseul_connector::store::payout;

fn bin(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghiseul-connector"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GHISEUL_") {
            c.env_remove(name);
        }
    }
    c.env("GHISEUL_DATABASE_URL", database_url)
        .env("GHISEUL_LOG", "warn")
        .env("GHISEUL_INSTITUTIE_NUME", "Primăria Test");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(c: &mut Command) -> String {
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "failed: {err}");
    out
}

/// A mixed day: new payments (one beyond the debt, so with credit), a retry, a conflicting
/// duplicate, an unknown tax type and an unknown person.
async fn mixed_run(app: &TestApp) {
    assert!(expect_ok(
        app.pay("1", POPESCU, &[("1", "400.00"), ("7", "50.00")])
            .await
    ));
    assert!(expect_ok(app.pay("2", POPA, &[("1", "300.00")]).await));
    assert!(expect_ok(app.pay("2", POPA, &[("1", "300.00")]).await));
    assert!(!expect_ok(app.pay("2", POPA, &[("1", "301.00")]).await));
    assert!(!expect_ok(
        app.pay("3", FIRMA, &[("1", "10.00"), ("99", "5.00")]).await
    ));
    expect_fault(app.pay("4", NECUNOSCUT, &[("1", "10.00")]).await);
    assert!(expect_ok(
        app.pay("5", POPESCU, &[("2", "30.50"), ("5", "100")]).await
    ));
}

fn json_rows(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn bani(v: &serde_json::Value, key: &str) -> i64 {
    let s = v[key].as_str().unwrap();
    let (l, b) = s.split_once('.').unwrap();
    l.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap()
}

async fn export_equals_what_was_paid(db: Db) {
    let app = TestApp::spawn(db).await;
    mixed_run(&app).await;
    let paid = app.scalar("SELECT SUM(total) FROM payments").await;
    let items = app.scalar("SELECT COUNT(*) FROM payment_items").await;
    assert_eq!(paid, 88_050);
    let rows = json_rows(&ok(
        bin(&app.database_url).args(["export", "payments", "--format", "json"])
    ));
    assert_eq!(rows.len() as i64, items);
    let sum: i64 = rows
        .iter()
        .map(|r| r["amount_bani"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, paid, "the export's sum is what was paid, to the ban");
    for r in &rows {
        assert_eq!(
            bani(r, "to_debts") + bani(r, "to_credit"),
            r["amount_bani"].as_i64().unwrap(),
            "every item is applied whole: {r}"
        );
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=items).collect::<Vec<_>>(),
        "sequence numbers grow by one"
    );
    // Order 1, type 1: 326.00 owed on two debts, 74.00 kept as credit; the full CNP goes out.
    let first = &rows[0];
    assert_eq!(first["cui"], POPESCU);
    assert_eq!(first["name"], "Popescu Ștefan");
    assert_eq!(first["iban"], "RO50TREZ2165070XXX012345");
    assert_eq!(first["to_credit"], "74.00");

    // --allocations: a row per component touched plus one per credit, same total.
    let lines = json_rows(&ok(bin(&app.database_url).args([
        "export",
        "payments",
        "--format",
        "json",
        "--allocations",
    ])));
    let alloc_rows = app.scalar("SELECT COUNT(*) FROM allocations").await
        + app.scalar("SELECT COUNT(*) FROM credits").await;
    assert_eq!(lines.len() as i64, alloc_rows);
    let sum: i64 = lines
        .iter()
        .map(|r| r["amount_bani"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, paid);
    assert!(lines
        .iter()
        .any(|l| l["component"] == "credit" && l["amount"] == "74.00"));

    // CSV and the Excel form of it.
    let csv = ok(bin(&app.database_url).args(["export", "payments"]));
    assert!(csv.starts_with("seq,order,received_at,payment_date,cui,name,"));
    assert_eq!(csv.lines().count() as i64, items + 1);
    let excel = ok(bin(&app.database_url).args(["export", "payments", "--excel"]));
    assert!(excel.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    assert!(excel.contains(";400,00;326,00;74,00"), "{excel}");
    // A CNP as the text formula ="…" (CSV-quoted), or Excel shows it as 1,80E+12.
    assert!(
        excel.contains(&format!("\"=\"\"{POPESCU}\"\"\"")),
        "{excel}"
    );

    // --after and --from/--to.
    let after = json_rows(&ok(
        bin(&app.database_url).args(["export", "payments", "--format", "json", "--after", "3"])
    ));
    assert_eq!(after.len() as i64, items - 3);
    assert_eq!(after[0]["seq"], 4);
    let today = ghiseul_connector::rules::clock::now().date_naive();
    let yesterday = today.pred_opt().unwrap().to_string();
    let none = ok(bin(&app.database_url).args([
        "export", "payments", "--format", "json", "--from", &yesterday, "--to", &yesterday,
    ]));
    assert!(none.is_empty());

    // Every export is in the audit.
    let audit = payout::audit_rows(&app.store, 100).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "export payments")
            .count(),
        6
    );
    assert!(audit[0].detail.contains("rows=0"), "{:?}", audit[0]);
    assert!(audit[0].actor.starts_with("cli:"));
}

/// Every seq in the consumer files of `dir`, in file order.
fn seqs_in(files: &[&Path]) -> Vec<i64> {
    let mut seqs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines().skip(1) {
            seqs.push(line.split(',').next().unwrap().parse().unwrap());
        }
    }
    seqs
}

async fn consumer_cursor_survives_crashes(db: Db) {
    let app = TestApp::spawn(db).await;
    let dir = tempfile::tempdir().unwrap();
    let f = |n: u32| dir.path().join(format!("plati-{n}.csv"));
    let export = |n: u32| {
        let mut c = bin(&app.database_url);
        c.args(["export", "payments", "--consumer", "contabilitate", "--out"])
            .arg(f(n));
        c
    };
    assert!(expect_ok(app.pay("11", POPESCU, &[("7", "10.00")]).await));
    assert!(expect_ok(app.pay("12", POPA, &[("1", "20.00")]).await));
    ok(&mut export(1));
    assert_eq!(seqs_in(&[&f(1)]), vec![1, 2]);

    // Nothing new: an empty file (header only), the cursor stays.
    ok(&mut export(2));
    assert_eq!(seqs_in(&[&f(2)]), Vec::<i64>::new());

    // A crash after the file is written and synced, before it is renamed into place.
    assert!(expect_ok(app.pay("13", FIRMA, &[("1", "30.00")]).await));
    let (code, _, err) = run(export(3).env("GHISEUL_TEST_PAYOUT_CRASH_AT", "before-rename"));
    assert_eq!(code, 86, "{err}");
    assert!(!f(3).exists(), "the file was never put in place");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 3, "the temporary file is left, as after a crash");
    assert!(expect_ok(app.pay("14", POPA, &[("1", "40.00")]).await));
    let (code, _, err) = run(&mut export(4));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("had not put its file in place"), "{err}");
    assert_eq!(seqs_in(&[&f(4)]), vec![3, 4], "nothing skipped");

    // A crash after the rename, before the cursor moves: the next run knows the file is
    // there and does not take its payments again.
    assert!(expect_ok(app.pay("15", POPESCU, &[("2", "5.00")]).await));
    let (code, _, _) = run(export(5).env("GHISEUL_TEST_PAYOUT_CRASH_AT", "after-rename"));
    assert_eq!(code, 86);
    assert_eq!(seqs_in(&[&f(5)]), vec![5]);
    assert!(expect_ok(app.pay("16", POPESCU, &[("2", "6.00")]).await));
    let (code, _, err) = run(&mut export(6));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("had put its file in place"), "{err}");
    assert_eq!(seqs_in(&[&f(6)]), vec![6], "nothing doubled");

    let all = seqs_in(&[&f(1), &f(2), &f(4), &f(5), &f(6)]);
    assert_eq!(all, (1..=6).collect::<Vec<_>>());
    let total_paid = app.scalar("SELECT SUM(total) FROM payments").await;
    assert_eq!(total_paid, 11_100);
    // No temporary file is left behind once recovered.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // An existing file is never overwritten: it may not have been taken yet.
    let (code, _, err) = run(&mut export(6));
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
    // A second consumer starts from the beginning.
    let mut c = bin(&app.database_url);
    let other = dir.path().join("altul.csv");
    ok(
        c.args(["export", "payments", "--consumer", "altul", "--out"])
            .arg(&other),
    );
    assert_eq!(seqs_in(&[&other]), (1..=6).collect::<Vec<_>>());
}

async fn daily_report_totals_equal_the_export(db: Db) {
    let app = TestApp::spawn(db).await;
    mixed_run(&app).await;
    let today = ghiseul_connector::rules::clock::now()
        .date_naive()
        .to_string();
    let report =
        ok(bin(&app.database_url).args(["report", "daily", "--date", &today, "--format", "csv"]));
    let total_line = report.lines().last().unwrap().to_string();
    let export = json_rows(&ok(bin(&app.database_url).args([
        "export", "payments", "--format", "json", "--from", &today, "--to", &today,
    ])));
    let sum: i64 = export
        .iter()
        .map(|r| r["amount_bani"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total_line,
        format!(
            "{today},TOTAL,,,{},{}.{:02}",
            export.len(),
            sum / 100,
            sum % 100
        )
    );
    // Per tax type 1 (one IBAN): orders 1 and 2.
    assert!(
        report.contains(&format!(
            "{today},RO50TREZ2165070XXX012345,1,Impozit pe clădiri,2,700.00"
        )),
        "{report}"
    );
    let html = ok(bin(&app.database_url).args(["report", "daily", "--date", &today]));
    assert!(html.contains("Primăria Test"));
    assert!(html.contains("880,50"), "amounts the Romanian way");
    assert!(html.contains("size: A4"));
    assert!(html.contains("ordin duplicat cu alt conținut"));

    // The PDF: A4, the font embedded, and (when poppler's pdftotext is installed) the
    // same total and diacritics as text.
    let pdf = tempfile::NamedTempFile::new().unwrap();
    ok(bin(&app.database_url)
        .args([
            "report", "daily", "--date", &today, "--format", "pdf", "--out",
        ])
        .arg(pdf.path()));
    let bytes = std::fs::read(pdf.path()).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.contains("595.27"), "A4 width in points");
    assert!(raw.contains("FontFile2"), "the font is embedded");
    if let Ok(out) = Command::new("pdftotext").arg(pdf.path()).arg("-").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("880,50") && text.contains("Primăria Test"),
            "{text}"
        );
        assert!(text.contains("încasări"), "{text}");
    }

    let (code, _, err) =
        run(bin(&app.database_url).args(["report", "daily", "--date", "1.12.2026"]));
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

async fn exceptions_appear_and_can_be_handled(db: Db) {
    let app = TestApp::spawn(db).await;
    mixed_run(&app).await;
    let open = payout::exceptions(&app.store, "0000", "9999", true)
        .await
        .unwrap();
    let reasons: Vec<&str> = open.iter().map(|e| e.reason.as_str()).collect();
    let mut sorted = reasons.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["conflict", "credit", "unknown_cui", "unknown_tax_type"],
        "{open:?}"
    );
    let credit = open.iter().find(|e| e.reason == "credit").unwrap();
    assert_eq!(credit.amount, Some(7400));
    let conflict = open.iter().find(|e| e.reason == "conflict").unwrap();
    assert!(payout::mark_handled(
        &app.store,
        "journal",
        conflict.ref_id,
        "ana",
        "sunat la ghiseul.ro"
    )
    .await
    .unwrap());
    assert!(
        !payout::mark_handled(&app.store, "journal", conflict.ref_id, "ana", "din nou")
            .await
            .unwrap()
    );
    let open = payout::exceptions(&app.store, "0000", "9999", true)
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    let all = payout::exceptions(&app.store, "0000", "9999", false)
        .await
        .unwrap();
    let handled = all.iter().find(|e| e.reason == "conflict").unwrap();
    assert_eq!(handled.handled.as_ref().unwrap().1, "ana");
    let audit = payout::audit_rows(&app.store, 10).await.unwrap();
    assert_eq!(audit[0].action, "exception handled");
    assert!(audit[0].detail.contains("sunat la ghiseul.ro"));
}

/// Exports run again and again while payments arrive from several clients at once: each
/// item is in exactly one file, and the files add up to what was paid.
async fn exports_during_concurrent_payments_take_each_item_once(db: Db) {
    let app = std::sync::Arc::new(TestApp::spawn(db).await);
    let dir = tempfile::tempdir().unwrap();
    let mut payers = Vec::new();
    for (w, cui) in [POPESCU, POPA, FIRMA, IONESCU].into_iter().enumerate() {
        let app = app.clone();
        payers.push(tokio::spawn(async move {
            for i in 0..12 {
                let order = format!("{}", 5000 + w * 100 + i);
                assert!(expect_ok(
                    app.pay(&order, cui, &[("1", "1.25"), ("7", "0.50")]).await
                ));
            }
        }));
    }
    let url = app.database_url.clone();
    let path = dir.path().to_path_buf();
    let exporter = tokio::task::spawn_blocking(move || {
        let mut n = 0;
        while n < 8 {
            n += 1;
            ok(bin(&url)
                .args(["export", "payments", "--consumer", "c", "--out"])
                .arg(path.join(format!("{n:03}.csv"))));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        n
    });
    for p in payers {
        p.await.unwrap();
    }
    let n = exporter.await.unwrap() + 1;
    ok(bin(&app.database_url)
        .args(["export", "payments", "--consumer", "c", "--out"])
        .arg(dir.path().join(format!("{n:03}.csv"))));
    let files: Vec<std::path::PathBuf> = (1..=n)
        .map(|i| dir.path().join(format!("{i:03}.csv")))
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let seqs = seqs_in(&refs);
    let items = app.scalar("SELECT COUNT(*) FROM payment_items").await;
    assert_eq!(items, 96);
    assert_eq!(
        seqs,
        (1..=items).collect::<Vec<_>>(),
        "each item exactly once, in order"
    );
    let mut sum = 0;
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap().lines().skip(1) {
            let amount = line.split(',').nth(9).unwrap();
            let (l, b) = amount.split_once('.').unwrap();
            sum += l.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap();
        }
    }
    assert_eq!(sum, app.scalar("SELECT SUM(total) FROM payments").await);
}

on_every_backend!(
    exports_during_concurrent_payments_take_each_item_once,
    export_equals_what_was_paid,
    consumer_cursor_survives_crashes,
    daily_report_totals_equal_the_export,
    exceptions_appear_and_can_be_handled,
);

#[test]
fn cli_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let (code, _, err) = run(bin(&db).args(["export", "payments", "--consumer", "x"]));
    assert_ne!(code, 0);
    assert!(err.contains("--consumer needs --out FILE"), "{err}");
    let out = dir.path().join("x.csv");
    let (code, _, err) = run(bin(&db)
        .args([
            "export",
            "payments",
            "--consumer",
            "x",
            "--from",
            "2026-12-01",
            "--out",
        ])
        .arg(&out));
    assert_ne!(code, 0);
    assert!(err.contains("cannot be used with --consumer"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = run(bin(&db).args(["export", "payments", "--from", "2026-13-01"]));
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let (code, _, err) = run(bin(&db).args([
        "export",
        "payments",
        "--from",
        "2026-12-02",
        "--to",
        "2026-12-01",
    ]));
    assert_ne!(code, 0);
    assert!(err.contains("swap them"), "{err}");
    let (code, _, err) = run(bin(&db).args(["export", "payments", "--excel", "--format", "json"]));
    assert_ne!(code, 0);
    assert!(err.contains("--excel is a form of CSV"), "{err}");
}

#[test]
fn user_add_stores_an_argon2_hash_and_refuses_short_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let mut c = bin(&db);
    c.args(["user", "add", "ana", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"o-parola-destul-de-lunga\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(dir.path().join("g.db")).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM console_users WHERE name = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(ghiseul_connector::console::verify_password(
        "o-parola-destul-de-lunga",
        &hash
    ));
    assert!(!ghiseul_connector::console::verify_password("alta", &hash));

    let mut c = bin(&db);
    c.args(["user", "add", "ion", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"scurta\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
}
