//! The CSV import on SQLite, as the register's keeper sees it: a file is taken whole or not
//! at all, every refused row is named by its line, and a refused file leaves the database
//! (its rows and its indexes) exactly as it was.

use ghiseul_connector::store::import::{import, BadRow, ImportError, Kind};
use ghiseul_connector::store::{Store, Timeouts};

const TAX_TYPES: &str =
    "id_tip_suma,nume,prioritate,iban\n1,Impozit clădiri,1,RO1\n2,Teren,2,RO2\n";
const PERSONS: &str = "Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n\
                       1,1800101221111,Popescu,A\n\
                       2,2820704120023,Ionescu,B\n";
const DEBTS_HEADER: &str =
    "cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta\n";
/// A valid CNP that is not in the register.
const UNKNOWN: &str = "1600101220035";
const INDEX_SQL: &str = "CREATE INDEX debts_by_taxpayer ON debts (cui, id_tip_suma, scadenta, id)";

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
}

impl Db {
    /// A fresh SQLite file with the tax types and the two persons above.
    async fn with_register() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = Store::connect(&url, 2, Timeouts::default()).await.unwrap();
        store.migrate().await.unwrap();
        import(&store, Kind::TaxTypes, TAX_TYPES.as_bytes())
            .await
            .unwrap();
        import(&store, Kind::Persons, PERSONS.as_bytes())
            .await
            .unwrap();
        Db { store, _dir: dir }
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// The definition of the debts index, if it is there.
    async fn debts_index(&self) -> Option<String> {
        sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'debts_by_taxpayer'",
        )
        .fetch_optional(self.store.pool())
        .await
        .unwrap()
    }

    async fn refused(&self, kind: Kind, csv: &str) -> Vec<BadRow> {
        match import(&self.store, kind, csv.as_bytes()).await {
            Err(ImportError::BadRows(rows)) => rows,
            other => panic!("expected bad rows, got {other:?}"),
        }
    }
}

fn debts(rows: &[&str]) -> String {
    let mut csv = DEBTS_HEADER.to_string();
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    csv
}

/// `n` valid debts of the two persons, numbered from `from` in their description.
fn good(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            let cui = if i % 2 == 0 {
                "1800101221111"
            } else {
                "2820704120023"
            };
            format!("{cui},1,Datorie {i},{i}.00,0,0,0,2025-03-31")
        })
        .collect()
}

fn unknown_cui(line: u64) -> BadRow {
    BadRow {
        line,
        reason: format!("CUI {UNKNOWN} is not in the register (import persons first)"),
    }
}

#[tokio::test]
async fn a_debts_file_with_an_unknown_cui_is_refused_whole_and_names_its_line_into_an_empty_table()
{
    let db = Db::with_register().await;
    // Long enough for rows to be written in groups: the unknown CUIs are inside groups.
    let mut rows = good(0, 40);
    rows.push(format!("{UNKNOWN},1,Casă,10.00,0,0,0,2025-03-31")); // line 42
    rows.extend(good(40, 30));
    rows.push(format!("{UNKNOWN},2,Teren,5.00,0,0,0,2025-03-31")); // line 73
    rows.extend(good(70, 50));
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(
        db.refused(Kind::Debts, &debts(&rows)).await,
        [unknown_cui(42), unknown_cui(73)]
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM debts").await, 0);
    // The index, dropped for the bulk load into the empty table, is back as it was.
    assert_eq!(db.debts_index().await.as_deref(), Some(INDEX_SQL));
}

#[tokio::test]
async fn a_debts_file_with_an_unknown_cui_is_refused_whole_and_names_its_line_into_a_filled_table()
{
    let db = Db::with_register().await;
    let first = debts(&["1800101221111,1,Casă,10.00,0,0,0,2025-03-31"]);
    assert_eq!(
        import(&db.store, Kind::Debts, first.as_bytes())
            .await
            .unwrap(),
        1
    );
    let mut rows = good(0, 70);
    rows.insert(65, format!("{UNKNOWN},1,Casă,10.00,0,0,0,2025-03-31")); // line 67
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(
        db.refused(Kind::Debts, &debts(&rows)).await,
        [unknown_cui(67)]
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM debts").await, 1);
    assert_eq!(db.debts_index().await.as_deref(), Some(INDEX_SQL));
}

/// Debts are numbered in the order of the file, however they are written.
#[tokio::test]
async fn debts_are_numbered_in_file_order() {
    let db = Db::with_register().await;
    let rows = good(0, 100);
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(
        import(&db.store, Kind::Debts, debts(&rows).as_bytes())
            .await
            .unwrap(),
        100
    );
    let order: Vec<String> = sqlx::query_scalar("SELECT descriere FROM debts ORDER BY id")
        .fetch_all(db.store.pool())
        .await
        .unwrap();
    let expected: Vec<String> = (0..100).map(|i| format!("Datorie {i}")).collect();
    assert_eq!(order, expected);
    assert_eq!(
        db.count("SELECT SUM(rest_debit) FROM debts").await,
        (0..100).sum::<i64>() * 100
    );
}

/// A bulk load into the empty table builds the index once at the end; the statement query
/// then finds every debt through it, as after row-by-row inserts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debts_loaded_into_an_empty_table_are_all_in_the_index() {
    let db = Db::with_register().await;
    let csv = debts(&[
        "1800101221111,1,Casă,10.00,0,0,0,2025-03-31",
        "2820704120023,2,Teren,5.00,1.50,0,0,2024-03-31",
        "1800101221111,2,Teren,,,,,2024-02-29",
    ]);
    assert_eq!(
        import(&db.store, Kind::Debts, csv.as_bytes())
            .await
            .unwrap(),
        3
    );
    assert_eq!(db.debts_index().await.as_deref(), Some(INDEX_SQL));
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM debts INDEXED BY debts_by_taxpayer WHERE cui = '1800101221111'"
        )
        .await,
        2
    );
    assert_eq!(
        db.count("SELECT rest_ramasita FROM debts WHERE cui = '2820704120023'")
            .await,
        150
    );
}

/// Bad rows are reported in line order, whatever made them bad, and the report stops at
/// the first 20.
#[tokio::test]
async fn the_first_twenty_bad_rows_are_reported_in_line_order() {
    let db = Db::with_register().await;
    let mut rows = good(0, 35);
    for i in 0..30 {
        rows.push(if i % 2 == 0 {
            format!("{UNKNOWN},1,Casă,10.00,0,0,0,2025-03-31")
        } else {
            "1800101221111,1,Casă,10.00,0,0,0,2025-02-30".to_string()
        });
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let bad = db.refused(Kind::Debts, &debts(&rows)).await;
    let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, (37..=56).collect::<Vec<u64>>());
    assert_eq!(bad[0], unknown_cui(37));
    assert_eq!(
        bad[1].reason,
        "scadenta `2025-02-30` must be a date YYYY-MM-DD"
    );
    assert!(ImportError::BadRows(bad)
        .to_string()
        .ends_with("(stopped after the first bad rows)"));
    assert_eq!(db.count("SELECT COUNT(*) FROM debts").await, 0);
}

/// Valid CIFs (2–10 digits, control digit by the 753217532 key), for registers of any size.
fn cif(n: u32) -> String {
    const KEY: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];
    let body = n.to_string();
    let key = &KEY[KEY.len() - body.len()..];
    let sum: u32 = body
        .bytes()
        .zip(key)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", sum * 10 % 11 % 10)
}

/// A person listed twice keeps the last row's name and address, whether the two rows are
/// close together or far apart in the file. The count printed is the same on every path.
#[tokio::test]
async fn the_last_row_of_a_person_wins() {
    let db = Db::with_register().await;
    let mut csv = String::from("Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa\n");
    for i in 0..1200u32 {
        csv.push_str(&format!("{i},{},Firma {i},Adresa {i}\n", cif(100_000 + i)));
        if i == 3 {
            csv.push_str(&format!("x,{},Aproape,Nouă\n", cif(100_001)));
        }
    }
    csv.push_str(&format!("y,{},Departe,Ultima\n", cif(100_002)));
    let count = import(&db.store, Kind::Persons, csv.as_bytes())
        .await
        .unwrap();
    assert!(count >= 1200, "{count} rows reported for 1,200 people");
    let person = |cui: String| {
        let pool = db.store.pool().clone();
        async move {
            let row: (String, String) =
                sqlx::query_as("SELECT nume, adresa FROM taxpayers WHERE cui = $1")
                    .bind(cui)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            row
        }
    };
    assert_eq!(
        person(cif(100_001)).await,
        ("Aproape".to_string(), "Nouă".to_string())
    );
    assert_eq!(
        person(cif(100_002)).await,
        ("Departe".to_string(), "Ultima".to_string())
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM taxpayers").await, 2 + 1200);
}

/// An in-memory SQLite database would be a different, empty database on every connection
/// of the server: such a URL is refused with what to write instead.
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
    let db = Db::with_register().await;
    // Another writer (the server's, or a second process) holds the write lock.
    let mut writer = db.store.acquire().await.unwrap();
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
    let csv = debts(&["1800101221111,1,Casă,10.00,0,0,0,2025-03-31"]);
    assert_eq!(
        import(&db.store, Kind::Debts, csv.as_bytes())
            .await
            .unwrap(),
        1
    );
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "the import finished while another writer held the lock"
    );
    holder.await.unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM debts").await, 1);
}
