//! Keeping the register current from the tax system's files, as the register's keeper sees
//! it: a re-import changes nothing, `--replace` removes what the file lacks without losing
//! a payment, columns are found by name, real spreadsheet exports are read, bad files are
//! refused whole with every bad line named. Run against SQLite and (with `--ignored` and
//! GHISEUL_TEST_POSTGRES_URL / GHISEUL_TEST_MYSQL_URL set) PostgreSQL and MariaDB/MySQL.

#[macro_use]
mod common;

use common::*;
use ghiseul_connector::import::{import, ImportError, Kind, Options, MAX_REPORTED};
use ghiseul_connector::rules::register::Counts;
use ghiseul_connector::store::{Store, Timeouts};

on_every_backend!(
    re_importing_the_same_files_changes_nothing,
    a_re_import_does_not_ask_again_for_what_was_paid_here,
    once_booked_the_tax_systems_balance_is_the_truth,
    a_changed_debt_is_updated_in_place,
    a_debt_with_an_id_debit_is_matched_by_it,
    replace_deletes_absent_debts_and_closes_paid_ones,
    replace_removes_absent_persons_queues_their_deletion_and_keeps_their_payments,
    a_removed_person_who_comes_back_keeps_their_cod,
    replace_marks_absent_tax_types_inactive,
    data_changes_only_when_the_content_does,
    headers_are_read_by_name_in_any_order_with_semicolons_and_decimal_commas,
    a_windows_1250_file_keeps_its_romanian_letters,
    the_same_cui_twice_in_a_file_is_refused,
    the_same_debt_twice_in_a_file_is_refused,
    an_invalid_iban_is_refused,
    an_empty_amount_is_refused,
    a_dry_run_writes_nothing,
    every_bad_row_is_counted,
    a_debt_of_an_unknown_person_is_refused_and_nothing_is_kept,
    debts_are_paired_by_key_whatever_the_order_of_the_file_and_of_the_database,
);

/// One text from the database (MariaDB hands TEXT columns over as bytes).
async fn text(app: &TestApp, sql: &str) -> String {
    let row = sqlx::query(sql).fetch_one(app.store.pool()).await.unwrap();
    ghiseul_connector::store::text(&row, 0).unwrap()
}

fn counts(added: u64, changed: u64, unchanged: u64, removed: u64) -> Counts {
    Counts {
        added,
        changed,
        unchanged,
        removed,
    }
}

fn replace() -> Options {
    Options {
        replace: true,
        ..Options::default()
    }
}

fn bad_rows(
    r: Result<ghiseul_connector::import::Summary, ImportError>,
) -> (Vec<(u64, String)>, u64) {
    match r {
        Err(ImportError::BadRows { rows, total }) => (
            rows.into_iter().map(|b| (b.line, b.reason)).collect(),
            total,
        ),
        other => panic!("expected bad rows, got {other:?}"),
    }
}

/// The bug: the same debts file twice doubled every debt.
async fn re_importing_the_same_files_changes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let debts_before = app.scalar("SELECT COUNT(*) FROM debts").await;
    let owed_before = app.owed(POPESCU).await;
    for (kind, csv, n) in [
        (Kind::TaxTypes, TAX_TYPES, 5),
        (Kind::Persons, PERSONS, 4),
        (Kind::Debts, DEBTS, 7),
    ] {
        let s = import_csv(&app.store, kind, csv).await.unwrap();
        assert_eq!(s.counts, counts(0, 0, n, 0), "{kind:?}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, debts_before);
    assert_eq!(app.owed(POPESCU).await, owed_before);
}

async fn a_re_import_does_not_ask_again_for_what_was_paid_here(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("7001", POPA, &[("1", "95.56")]).await));
    let s = import_csv(&app.store, Kind::Debts, DEBTS).await.unwrap();
    assert_eq!(s.counts.unchanged, 7);
    assert_eq!(app.owed(POPA).await, [("1".into(), "904.44".into())]);
    // The tax system adds interest without having booked our payment: its new balance,
    // less our payment.
    let more = DEBTS.replace(
        "1750315400014,1,Apartament,1000.00,0,0,0",
        "1750315400014,1,Apartament,1000.00,0,10.00,0",
    );
    let s = import_csv(&app.store, Kind::Debts, &more).await.unwrap();
    assert_eq!(s.counts.changed, 1);
    assert_eq!(app.owed(POPA).await, [("1".into(), "914.44".into())]);
    assert_no_payment_half_written(&app.store).await;
}

async fn once_booked_the_tax_systems_balance_is_the_truth(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("7002", POPA, &[("1", "95.56")]).await));
    let booked = DEBTS.replace(
        "1750315400014,1,Apartament,1000.00",
        "1750315400014,1,Apartament,904.44",
    );
    let options = Options {
        booked_until: Some("2999-12-31 23:59:59".into()),
        ..Options::default()
    };
    let s = import_with(&app.store, Kind::Debts, &booked, &options)
        .await
        .unwrap();
    assert_eq!(s.booked, 1);
    assert_eq!(app.owed(POPA).await, [("1".into(), "904.44".into())]);
    // Booked once, for good: the next import does not subtract it again.
    let s = import_csv(&app.store, Kind::Debts, &booked).await.unwrap();
    assert_eq!((s.booked, s.counts.changed), (0, 0));
    assert_eq!(app.owed(POPA).await, [("1".into(), "904.44".into())]);
}

async fn a_changed_debt_is_updated_in_place(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = app
        .scalar("SELECT id FROM debts WHERE cui = '1750315400014'")
        .await;
    let changed = DEBTS.replace(
        "1750315400014,1,Apartament,1000.00",
        "1750315400014,1,Apartament,1200.00",
    );
    let s = import_csv(&app.store, Kind::Debts, &changed).await.unwrap();
    assert_eq!(s.counts, counts(0, 1, 6, 0));
    assert_eq!(
        app.scalar("SELECT id FROM debts WHERE cui = '1750315400014'")
            .await,
        id
    );
    assert_eq!(app.owed(POPA).await, [("1".into(), "1200.00".into())]);
}

async fn a_debt_with_an_id_debit_is_matched_by_it(db: Db) {
    let app = TestApp::spawn(db).await;
    let header = "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta,id_debit\n";
    let first = format!("{header}{POPA},1,Apartament,1000.00,0,0,0,2025-03-31,D-9\n");
    let s = import_with(&app.store, Kind::Debts, &first, &replace())
        .await
        .unwrap();
    // The natural-key debt of the fixture is not D-9: one added, one removed.
    assert_eq!(s.counts, counts(1, 0, 0, 7));
    let renamed = format!("{header}{POPA},1,Apartament bloc B,900.00,0,0,0,2025-06-30,D-9\n");
    let s = import_csv(&app.store, Kind::Debts, &renamed).await.unwrap();
    assert_eq!(s.counts, counts(0, 1, 0, 0));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, 1);
    assert_eq!(app.owed(POPA).await, [("1".into(), "900.00".into())]);
}

async fn replace_deletes_absent_debts_and_closes_paid_ones(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("7003", POPA, &[("1", "95.56")]).await));
    // Only POPESCU's tax on land stays.
    let only = "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n\
                1800101221111,2,Teren,30.50,0,0,0,2025-03-31\n";
    let s = import_with(&app.store, Kind::Debts, only, &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 0, 1, 6));
    // POPA's paid debt stays, owing nothing, so its payment's allocation stays whole.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, 2);
    assert_eq!(
        app.scalar("SELECT rest_debit FROM debts WHERE cui = '1750315400014'")
            .await,
        0
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM allocations").await, 1);
    assert!(app.owed(POPA).await.is_empty());
    assert_eq!(app.owed(POPESCU).await, [("2".into(), "30.50".into())]);
    // The same file again: nothing more to remove.
    let s = import_with(&app.store, Kind::Debts, only, &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 0, 2, 0));
    assert_no_payment_half_written(&app.store).await;
}

async fn replace_removes_absent_persons_queues_their_deletion_and_keeps_their_payments(db: Db) {
    let app = TestApp::spawn(db).await;
    assert!(expect_ok(app.pay("7004", POPA, &[("1", "95.56")]).await));
    let cod_popa = app
        .scalar("SELECT cod FROM taxpayers WHERE cui = '1750315400014'")
        .await;
    let cod_firma = app
        .scalar("SELECT cod FROM taxpayers WHERE cui = '31245671'")
        .await;
    let two = "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n\
               1,1800101221111,Popescu Ștefan,\"Str. Lungă nr. 1, Iași\"\n\
               2,2820704120023,Ionescu Maria,\"Str. Scurtă nr. 2\"\n";
    let s = import_with(&app.store, Kind::Persons, two, &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 0, 2, 2));
    // Unknown to ghiseul.ro's questions now…
    match app.get_sume(POPA).await {
        ghiseul_connector::client::Answer::Fault { code, .. } => assert_eq!(code, "2"),
        ghiseul_connector::client::Answer::Ok(_) => panic!("expected fault 2, got an answer"),
    }
    // …but the payment, its allocation and the person's row it refers to are kept.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payments WHERE cui = '1750315400014'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM allocations").await, 1);
    assert_no_payment_half_written(&app.store).await;
    // The firm's unpaid debt is gone; POPA's paid one stays, owing nothing.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM debts WHERE cui = '31245671'")
            .await,
        0
    );
    // Both queued for deletion at ghiseul.ro, with growing codes: a person (1), a PFA (2).
    assert_eq!(
        app.scalar("SELECT fizjur FROM deletions WHERE cod_obiect = (SELECT cod FROM taxpayers WHERE cui = '1750315400014')")
            .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT fizjur FROM deletions WHERE cod_obiect = {cod_firma}"
        ))
        .await,
        2
    );
    // Queued in the order of the persons' codes.
    let first = if cod_popa < cod_firma {
        cod_popa
    } else {
        cod_firma
    };
    assert_eq!(
        app.scalar(&format!(
            "SELECT cod FROM deletions WHERE cod_obiect = {first}"
        ))
        .await,
        1
    );
    assert_eq!(app.scalar("SELECT MAX(cod) FROM deletions").await, 2);
}

async fn a_removed_person_who_comes_back_keeps_their_cod(db: Db) {
    let app = TestApp::spawn(db).await;
    let cod = app
        .scalar("SELECT cod FROM taxpayers WHERE cui = '2820704120023'")
        .await;
    let without = PERSONS.replace("2,2820704120023,Ionescu Maria,\"Str. Scurtă nr. 2\"\n", "");
    import_with(&app.store, Kind::Persons, &without, &replace())
        .await
        .unwrap();
    let s = import_csv(&app.store, Kind::Persons, PERSONS)
        .await
        .unwrap();
    assert_eq!(s.counts, counts(1, 0, 3, 0));
    assert_eq!(
        app.scalar("SELECT cod FROM taxpayers WHERE cui = '2820704120023'")
            .await,
        cod
    );
    assert!(app.owed(IONESCU).await.is_empty());
    // A new person gets a code never given before.
    let max = app.scalar("SELECT MAX(cod) FROM taxpayers").await;
    let one_more = format!("{PERSONS}5,1600101220035,Nou Ion,Iași\n");
    import_csv(&app.store, Kind::Persons, &one_more)
        .await
        .unwrap();
    assert_eq!(
        app.scalar("SELECT cod FROM taxpayers WHERE cui = '1600101220035'")
            .await,
        max + 1
    );
}

async fn replace_marks_absent_tax_types_inactive(db: Db) {
    let app = TestApp::spawn(db).await;
    let without_9 = TAX_TYPES
        .lines()
        .filter(|l| !l.starts_with("9,"))
        .collect::<Vec<_>>()
        .join("\n");
    let s = import_with(&app.store, Kind::TaxTypes, &without_9, &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 0, 4, 1));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tax_types").await, 5);
    assert_eq!(
        app.scalar("SELECT inactiv FROM tax_types WHERE id_tip_suma = 9")
            .await,
        1
    );
    // Its priority is free for another type now.
    let nine_to_new = format!("{without_9}\n10,Taxă nouă,3,RO28TREZ2165070000000001\n");
    let s = import_csv(&app.store, Kind::TaxTypes, &nine_to_new)
        .await
        .unwrap();
    assert_eq!(s.counts.added, 1);
}

async fn data_changes_only_when_the_content_does(db: Db) {
    let app = TestApp::spawn(db).await;
    // Stamps of the past, to see whether an import touches them.
    sqlx::query("UPDATE taxpayers SET data = '2020-01-01 00:00:00'")
        .execute(app.store.pool())
        .await
        .unwrap();
    import_csv(&app.store, Kind::Persons, PERSONS)
        .await
        .unwrap();
    assert_eq!(
        text(&app, "SELECT MAX(data) FROM taxpayers").await,
        "2020-01-01 00:00:00"
    );
    let renamed = PERSONS.replace("Ionescu Maria", "Ionescu-Pop Maria");
    let s = import_csv(&app.store, Kind::Persons, &renamed)
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 1, 3, 0));
    let changed = text(
        &app,
        "SELECT data FROM taxpayers WHERE cui = '2820704120023'",
    )
    .await;
    assert!(changed.as_str() > "2020-01-01 00:00:00", "{changed}");
    assert_eq!(
        text(
            &app,
            "SELECT data FROM taxpayers WHERE cui = '1800101221111'"
        )
        .await,
        "2020-01-01 00:00:00"
    );
}

async fn headers_are_read_by_name_in_any_order_with_semicolons_and_decimal_commas(db: Db) {
    let app = TestApp::spawn(db).await;
    let csv = "Scadență;Penalități;Majorări;Rămășiță;Debit;Descriere;ID_TIP_SUMA;CNP\n\
               2025-03-31;0;0;0;1200,50;Apartament;1;1750315400014\n";
    let s = import_csv(&app.store, Kind::Debts, csv).await.unwrap();
    assert_eq!(s.counts.changed, 1);
    assert_eq!(app.owed(POPA).await, [("1".into(), "1200.50".into())]);
}

async fn a_windows_1250_file_keeps_its_romanian_letters(db: Db) {
    let app = TestApp::spawn_empty(db).await;
    // "Ştefan Ţăranu, Iaşi" in Windows-1250 (ş = 0xBA, Ţ = 0xDE, ă = 0xE3).
    let mut bytes = b"Nr. crt.;CNP/NIF sau CIF/CUI;Nume;Adresa\r\n1;1800101221111;".to_vec();
    bytes.extend_from_slice(b"\xAAtefan \xDE\xE3ranu;Ia\xBAi\r\n");
    import(
        &app.store,
        Kind::Persons,
        std::io::Cursor::new(bytes),
        &Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        text(&app, "SELECT nume FROM taxpayers").await,
        "Ştefan Ţăranu"
    );
    assert_eq!(text(&app, "SELECT adresa FROM taxpayers").await, "Iaşi");
}

async fn the_same_cui_twice_in_a_file_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let twice = format!("{PERSONS}5,1800101221111,Popescu Alt,Cluj\n");
    let (rows, total) = bad_rows(import_csv(&app.store, Kind::Persons, &twice).await);
    assert_eq!(total, 1);
    assert_eq!(rows[0].0, 6);
    assert!(rows[0].1.contains("line 2"), "{}", rows[0].1);
    assert_eq!(
        text(
            &app,
            "SELECT nume FROM taxpayers WHERE cui = '1800101221111'"
        )
        .await,
        "Popescu Ștefan"
    );
}

async fn the_same_debt_twice_in_a_file_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let twice = format!("{DEBTS}1750315400014,1,Apartament,1000.00,0,0,0,2025-03-31\n");
    let (rows, total) = bad_rows(import_csv(&app.store, Kind::Debts, &twice).await);
    assert_eq!((total, rows[0].0), (1, 9));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, 7);
}

async fn an_invalid_iban_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let bad = "id_tip_suma,nume,prioritate,iban\n30,Taxă,0,RO00BADIBAN\n";
    let (rows, _) = bad_rows(import_csv(&app.store, Kind::TaxTypes, bad).await);
    assert_eq!(rows[0].0, 2);
    assert!(rows[0].1.contains("iban"), "{}", rows[0].1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tax_types WHERE id_tip_suma = 30")
            .await,
        0
    );
}

async fn an_empty_amount_is_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let empty = "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n\
                 1750315400014,1,Apartament,1000.00,,0,0,2025-03-31\n";
    let (rows, _) = bad_rows(import_csv(&app.store, Kind::Debts, empty).await);
    assert!(rows[0].1.contains("ramasita"), "{}", rows[0].1);
}

async fn a_dry_run_writes_nothing(db: Db) {
    let app = TestApp::spawn(db).await;
    let changed = DEBTS.replace(
        "1750315400014,1,Apartament,1000.00",
        "1750315400014,1,Apartament,1200.00",
    );
    let options = Options {
        replace: true,
        dry_run: true,
        ..Options::default()
    };
    let only_one = format!(
        "{}\n{}",
        DEBTS.lines().next().unwrap(),
        changed.lines().last().unwrap()
    );
    let s = import_with(&app.store, Kind::Debts, &only_one, &options)
        .await
        .unwrap();
    assert!(s.dry_run);
    assert_eq!(s.counts, counts(0, 1, 0, 6));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, 7);
    assert_eq!(app.owed(POPA).await, [("1".into(), "1000.00".into())]);
}

async fn every_bad_row_is_counted(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut csv = String::from(DEBTS);
    for _ in 0..30 {
        csv.push_str("1750315400014,1,X,abc,0,0,0,2025-03-31\n");
    }
    let (rows, total) = bad_rows(import_csv(&app.store, Kind::Debts, &csv).await);
    assert_eq!(total, 30);
    assert_eq!(rows.len(), MAX_REPORTED);
    assert_eq!(rows[0].0, 9);
}

async fn a_debt_of_an_unknown_person_is_refused_and_nothing_is_kept(db: Db) {
    let app = TestApp::spawn(db).await;
    let csv = format!(
        "{}\n{NECUNOSCUT},1,Casă,10.00,0,0,0,2025-03-31\n",
        DEBTS.replace("1000.00", "1100.00").trim_end()
    );
    let (rows, total) = bad_rows(import_csv(&app.store, Kind::Debts, &csv).await);
    assert_eq!(total, 1);
    assert!(rows[0].1.contains("not in the register"), "{}", rows[0].1);
    assert_eq!(app.owed(POPA).await, [("1".into(), "1000.00".into())]);
}

#[tokio::test]
async fn an_empty_file_says_it_is_empty() {
    let app = TestApp::spawn_empty(Db::Sqlite).await;
    let e = import_csv(&app.store, Kind::Persons, "").await.unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[tokio::test]
async fn a_bad_row_of_a_crlf_file_is_named_by_its_real_line() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let csv =
        "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\r\n1,1800101221111,Popescu,A\r\n2,123,Bad,B\r\n";
    let (rows, _) = bad_rows(import_csv(&app.store, Kind::Persons, csv).await);
    assert_eq!(rows[0].0, 3);
}

#[tokio::test]
async fn an_in_memory_database_is_refused_with_what_to_use_instead() {
    let e = Store::connect("sqlite::memory:", 1, Timeouts::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("SQLite needs a file"), "{e}");
}

/// The server may be recording a payment when the import starts: the import waits for the
/// write lock instead of failing, and the server's tasks keep running meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_waits_for_a_payment_in_progress() {
    let app = TestApp::spawn(Db::Sqlite).await;
    // Another writer (the server's, or a second process) holds the write lock.
    let mut writer = app.store.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *writer)
        .await
        .unwrap();
    // Set just before the lock is given up: an import that finishes while it is false did
    // not wait. (A measured duration would depend on the machine's load.)
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (started, ready) = tokio::sync::oneshot::channel();
    let holder = tokio::spawn({
        let released = released.clone();
        async move {
            started.send(()).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            released.store(true, std::sync::atomic::Ordering::SeqCst);
            sqlx::query("ROLLBACK").execute(&mut *writer).await.unwrap(); // the write lock is free again
        }
    });
    ready.await.unwrap();
    let changed = DEBTS.replace("1000.00", "1100.00");
    let s = import_csv(&app.store, Kind::Debts, &changed).await.unwrap();
    assert_eq!(s.counts.changed, 2);
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "the import finished while another writer held the lock"
    );
    holder.await.unwrap();
    assert_eq!(app.owed(POPA).await, [("1".into(), "1100.00".into())]);
}

/// A first load into an empty table builds the debts' indexes once at the end: they are
/// all there afterwards, and the next import finds every debt by its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_first_load_leaves_every_index_in_place() {
    let app = TestApp::spawn_empty(Db::Sqlite).await;
    import_csv(&app.store, Kind::TaxTypes, TAX_TYPES)
        .await
        .unwrap();
    import_csv(&app.store, Kind::Persons, PERSONS)
        .await
        .unwrap();
    let mut csv =
        String::from("cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n");
    for i in 0..12_001 {
        csv.push_str(&format!("{POPESCU},1,Rata {i},1.00,0,0,0,2025-03-31\n"));
    }
    let s = import_csv(&app.store, Kind::Debts, &csv).await.unwrap();
    assert_eq!(s.counts.added, 12_001);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('debts_owed', 'debts_by_key')")
            .await,
        2
    );
    let s = import_csv(&app.store, Kind::Debts, &csv).await.unwrap();
    assert_eq!(s.counts.unchanged, 12_001);
    assert_eq!(
        app.scalar("SELECT SUM(rest_debit) FROM debts").await,
        12_001 * 100
    );
}

/// File and register are compared as two lists sorted by key: a file in any row order, and
/// a database whose own text order is not byte order (PostgreSQL's and MariaDB's
/// collations), still pair every debt with itself.
async fn debts_are_paired_by_key_whatever_the_order_of_the_file_and_of_the_database(db: Db) {
    let app = TestApp::spawn(db).await;
    let header = "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta,id_debit\n";
    let file = |rows: &[String]| format!("{header}{}\n", rows.join("\n"));
    // CIFs and CNPs of different lengths, ids that collations sort apart from bytes.
    let mut rows = vec![
        format!("{FIRMA},1,A,1.00,0,0,0,2025-03-31,d-10"),
        format!("{POPESCU},1,B,2.00,0,0,0,2025-03-31,D-9"),
        format!("{POPESCU},2,C,3.00,0,0,0,2025-03-31,d.1"),
        format!("{POPESCU},1,D,4.00,0,0,0,2025-03-31,Z"),
        format!("{POPA},1,E,5.00,0,0,0,2025-03-31,D_2"),
        format!("{IONESCU},2,F,6.00,0,0,0,2025-03-31,a"),
        format!("{FIRMA},2,G,7.00,0,0,0,2025-03-31,B 3"),
    ];
    let s = import_with(&app.store, Kind::Debts, &file(&rows), &replace())
        .await
        .unwrap();
    assert_eq!(s.counts.added, 7);
    rows.reverse();
    let s = import_with(&app.store, Kind::Debts, &file(&rows), &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 0, 7, 0));
    // One changed and one gone, in the middle of either order.
    rows[3] = format!("{POPESCU},1,D,4.50,0,0,0,2025-03-31,Z");
    rows.remove(5);
    let s = import_with(&app.store, Kind::Debts, &file(&rows), &replace())
        .await
        .unwrap();
    assert_eq!(s.counts, counts(0, 1, 5, 1));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM debts").await, 6);
    assert_eq!(
        app.scalar("SELECT debit FROM debts WHERE id_debit = 'Z'")
            .await,
        450
    );
}
