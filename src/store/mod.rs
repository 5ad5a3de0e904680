//! Storage: the connection pool, migrations, and every query of the service, on SQLite
//! (the embedded default), PostgreSQL and MariaDB/MySQL through one code path (sqlx's `Any`
//! driver).
//!
//! The queries are written with `$1`-style placeholders, which SQLite and PostgreSQL
//! understand; `Backend::sql` turns them into MySQL's `?` in this one place. Statements
//! built at run time with many values (the import, the audit writer) take their
//! placeholders from `Backend::values_list`. Where the
//! dialects really differ (locking a row, getting the id of a new row, insert-if-absent)
//! the difference is spelled out here.

pub mod audit;
pub mod import;
mod import_sqlite;

use std::borrow::Cow;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::rules::allocation::{Allocation, Component, Outstanding};
use crate::rules::money::Bani;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "database URL `{0}` is not supported: use sqlite://FILE, postgres://… or mysql://… (MariaDB/MySQL)"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the folder of the SQLite database {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MariaDB or MySQL (`mysql://` URLs).
    Mysql,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Backend::Mysql)
        } else {
            None
        }
    }

    /// `(…),(…)`: the placeholders of a multi-row INSERT of `rows` rows of `width` values,
    /// for statements built at run time (the import, the audit writer). They are `$1, $2, …`
    /// on PostgreSQL and anonymous `?` elsewhere: SQLite looks a numbered parameter up by
    /// name in a list, once per bound value, which with thousands of values per statement
    /// is quadratic (it took 75% of an import's time).
    pub fn values_list(self, rows: usize, width: usize) -> String {
        let mut sql = String::with_capacity(rows * (width * 6 + 3));
        let mut n = 1;
        for i in 0..rows {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push(',');
                }
                if self == Backend::Postgres {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                } else {
                    sql.push('?');
                }
                n += 1;
            }
            sql.push(')');
        }
        sql
    }

    /// `sql` as this backend wants it: MySQL numbers no placeholders, so `$1, $2, …` become
    /// `?`. Every query of the program passes through here, so the rewrite is in one place;
    /// the placeholders must therefore appear in order, each once (checked in debug builds).
    pub fn sql(self, sql: &str) -> Cow<'_, str> {
        if self != Backend::Mysql || !sql.contains('$') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        let mut expected = 1u32;
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = 0u32;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d;
                    chars.next();
                }
                debug_assert_eq!(n, expected, "placeholders out of order in: {sql}");
                expected += 1;
                out.push('?');
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// A text column as a `String`. MySQL hands `TEXT` columns to sqlx's `Any` driver as bytes
/// (only `VARCHAR` comes as text), so those are decoded here, as UTF-8, like the others.
pub fn text(row: &AnyRow, index: usize) -> std::result::Result<String, sqlx::Error> {
    match row.try_get::<String, _>(index) {
        Ok(s) => Ok(s),
        Err(text_error) => match row.try_get::<Vec<u8>, _>(index) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: Box::new(e),
            }),
            Err(_) => Err(text_error),
        },
    }
}

/// Like `text`, for a column that may be NULL.
pub fn opt_text(row: &AnyRow, index: usize) -> std::result::Result<Option<String>, sqlx::Error> {
    match row.try_get::<Option<String>, _>(index) {
        Ok(s) => Ok(s),
        Err(text_error) => match row.try_get::<Option<Vec<u8>>, _>(index) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => {
                String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|e| sqlx::Error::ColumnDecode {
                        index: index.to_string(),
                        source: Box::new(e),
                    })
            }
            Err(_) => Err(text_error),
        },
    }
}

/// How long to wait for a connection (and, on SQLite, for the write lock) before the
/// service answers fault 3 instead of making ghiseul.ro wait.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub acquire: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            acquire: Duration::from_secs(5),
        }
    }
}

/// The database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; queueing payments here is fairer and faster than
    /// letting connections spin on SQLITE_BUSY.
    write_lock: Arc<Mutex<()>>,
}

/// One debt row with something still owed, in the order the statement lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRow {
    pub id_tip_suma: i64,
    pub prioritate: i64,
    pub detalii_header: Option<String>,
    pub descriere: String,
    pub debit: Bani,
    pub ramasita: Bani,
    pub majorari: Bani,
    pub penalitati: Bani,
}

/// What the journal keeps of a verified inregistrareIncasari request: the values exactly
/// as received.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    pub received_at: String,
    pub order: String,
    pub cui: String,
    pub data: String,
    pub sume: String,
}

/// A payment about to be recorded.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub order_no: i64,
    pub cui: String,
    pub data: String,
    pub content: String,
    pub total: Bani,
    pub recorded_at: String,
}

pub enum Inserted {
    New(i64),
    /// The order was recorded before; here is its canonical content.
    Existing(String),
}

impl Store {
    /// Connects to `url`. A `sqlite://` file that does not exist yet is created, with its
    /// folder, so that a first start needs nothing prepared by hand.
    pub async fn connect(url: &str, max_connections: u32, timeouts: Timeouts) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let Some(backend) = Backend::of_url(url) else {
            return Err(Error::UnsupportedUrl(redact_url(url)));
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
            // sqlx knows the scheme `mysql` only; MariaDB speaks the same protocol.
            Backend::Mysql => url.replacen("mariadb://", "mysql://", 1),
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            // A SQLite connection is a file handle in this process: it cannot go stale the
            // way a network connection can, so pinging it before every query (one more
            // hand-off to sqlx's worker thread) buys nothing. The bench measured p99 of
            // getSume falling from 29.7 ms to about 5.5 ms without it (docs/performance.md).
            .test_before_acquire(backend != Backend::Sqlite)
            .acquire_timeout(timeouts.acquire)
            .after_connect(move |conn, _| Box::pin(prepare_connection(conn, backend)))
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            Backend::Mysql => MYSQL_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// True when a query can be run now.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Everything still owed by `cui`, grouped by tax type in statement order (prioritised
    /// types ascending, then priority 0, ties by code; within a type oldest first).
    /// `None` when the person is not in the register.
    pub async fn statement(&self, cui: &str) -> Result<Option<Vec<DueRow>>> {
        let sql = self.backend.sql(
            "SELECT d.id_tip_suma, t.prioritate, t.detalii_header, d.descriere, \
                    d.rest_debit, d.rest_ramasita, d.rest_majorari, d.rest_penalitati \
             FROM taxpayers p \
             LEFT JOIN debts d ON d.cui = p.cui \
                  AND d.rest_debit + d.rest_ramasita + d.rest_majorari + d.rest_penalitati > 0 \
             LEFT JOIN tax_types t ON t.id_tip_suma = d.id_tip_suma \
             WHERE p.cui = $1 \
             ORDER BY CASE WHEN t.prioritate > 0 THEN 0 ELSE 1 END, t.prioritate, \
                      d.id_tip_suma, d.scadenta, d.id",
        );
        let rows = sqlx::query(&sql).bind(cui).fetch_all(&self.pool).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(id_tip_suma) = row.try_get::<Option<i64>, _>(0)? else {
                continue; // the person's own row, with no debt joined
            };
            due.push(DueRow {
                id_tip_suma,
                prioritate: row.try_get(1)?,
                detalii_header: opt_text(&row, 2)?,
                descriere: text(&row, 3)?,
                debit: Bani(row.try_get(4)?),
                ramasita: Bani(row.try_get(5)?),
                majorari: Bani(row.try_get(6)?),
                penalitati: Bani(row.try_get(7)?),
            });
        }
        Ok(Some(due))
    }

    /// Starts the one transaction in which a payment request is journaled, checked
    /// against earlier ones and, if new, recorded and allocated.
    pub async fn begin_payment(&self) -> Result<PaymentTx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres | Backend::Mysql => None,
        };
        let tx = match self.backend {
            // IMMEDIATE takes the write lock now, so the reads that follow cannot be made
            // stale by another process's write.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            // MySQL connections run READ COMMITTED (see `prepare_connection`).
            Backend::Postgres | Backend::Mysql => self.pool.begin().await?,
        };
        Ok(PaymentTx {
            tx,
            backend: self.backend,
            _guard: guard,
        })
    }

    /// A plain connection, for imports and tools.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The payment transaction. Dropping it without `commit` rolls everything back.
pub struct PaymentTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl PaymentTx {
    /// Writes the journal row first, with outcome `pending` until `set_outcome`.
    pub async fn journal(&mut self, e: &JournalEntry) -> Result<i64> {
        let insert = "INSERT INTO payment_journal (received_at, order_text, cui_text, data_text, sume_text, outcome) \
             VALUES ($1, $2, $3, $4, $5, 'pending')";
        let sql = match self.backend {
            Backend::Mysql => self.backend.sql(insert),
            _ => Cow::Owned(format!("{insert} RETURNING id")),
        };
        let query = sqlx::query(&sql)
            .bind(&e.received_at)
            .bind(&e.order)
            .bind(&e.cui)
            .bind(&e.data)
            .bind(&e.sume);
        let id = match self.backend {
            // MySQL has no RETURNING: the connection remembers the id it generated.
            Backend::Mysql => new_id(query.execute(&mut *self.tx).await?.last_insert_id())?,
            _ => query.fetch_one(&mut *self.tx).await?.try_get(0)?,
        };
        Ok(id)
    }

    pub async fn set_outcome(
        &mut self,
        journal_id: i64,
        outcome: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        let sql = self
            .backend
            .sql("UPDATE payment_journal SET outcome = $1, detail = $2 WHERE id = $3");
        sqlx::query(&sql)
            .bind(outcome)
            .bind(detail)
            .bind(journal_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Locks the taxpayer's row for the rest of the transaction, so that payments of one
    /// person are allocated one after the other. False when the person is unknown.
    pub async fn lock_taxpayer(&mut self, cui: &str) -> Result<bool> {
        let sql = match self.backend {
            // The whole database is already locked for writing (BEGIN IMMEDIATE).
            Backend::Sqlite => "SELECT cui FROM taxpayers WHERE cui = $1",
            Backend::Postgres | Backend::Mysql => {
                "SELECT cui FROM taxpayers WHERE cui = $1 FOR UPDATE"
            }
        };
        let sql = self.backend.sql(sql);
        let found = sqlx::query(&sql)
            .bind(cui)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    /// The codes among `ids` that are not tax types of the register.
    pub async fn unknown_tax_types(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        let sql = self
            .backend
            .sql("SELECT 1 FROM tax_types WHERE id_tip_suma = $1");
        let mut unknown = Vec::new();
        for &id in ids {
            let found = sqlx::query(&sql)
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?;
            if found.is_none() && !unknown.contains(&id) {
                unknown.push(id);
            }
        }
        Ok(unknown)
    }

    /// Inserts the payment unless its order exists; the database's unique constraint
    /// decides, so two instances sharing one database cannot both record it.
    pub async fn insert_payment(&mut self, p: &NewPayment, journal_id: i64) -> Result<Inserted> {
        let insert =
            "INSERT INTO payments (order_no, cui, data, content, total, journal_id, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let sql = match self.backend {
            Backend::Mysql => self.backend.sql(insert),
            _ => Cow::Owned(format!(
                "{insert} ON CONFLICT (order_no) DO NOTHING RETURNING id"
            )),
        };
        let query = sqlx::query(&sql)
            .bind(p.order_no)
            .bind(&p.cui)
            .bind(&p.data)
            .bind(&p.content)
            .bind(p.total.0)
            .bind(journal_id)
            .bind(&p.recorded_at);
        let id: Option<i64> = match self.backend {
            // MySQL has no ON CONFLICT DO NOTHING RETURNING. A plain INSERT that hits the
            // unique order_no fails with a duplicate-key error, which (unlike PostgreSQL)
            // leaves the transaction usable; INSERT IGNORE would also hide other errors.
            // A concurrent insert of the same order waits for the other transaction and
            // then fails here, so the database still decides.
            Backend::Mysql => match query.execute(&mut *self.tx).await {
                Ok(done) => Some(new_id(done.last_insert_id())?),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => None,
                Err(e) => return Err(e.into()),
            },
            _ => match query.fetch_optional(&mut *self.tx).await? {
                Some(row) => Some(row.try_get(0)?),
                None => None,
            },
        };
        if let Some(id) = id {
            return Ok(Inserted::New(id));
        }
        // READ COMMITTED (MySQL) and PostgreSQL's default both see the row the other
        // transaction committed.
        let sql = self
            .backend
            .sql("SELECT content FROM payments WHERE order_no = $1");
        let row = sqlx::query(&sql)
            .bind(p.order_no)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Inserted::Existing(text(&row, 0)?))
    }

    pub async fn insert_item(
        &mut self,
        payment_id: i64,
        id_tip_suma: i64,
        valoare: Bani,
    ) -> Result<()> {
        let sql = self.backend.sql(
            "INSERT INTO payment_items (payment_id, id_tip_suma, valoare) VALUES ($1, $2, $3)",
        );
        sqlx::query(&sql)
            .bind(payment_id)
            .bind(id_tip_suma)
            .bind(valoare.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// What `cui` still owes on `id_tip_suma`, oldest first.
    pub async fn outstanding(&mut self, cui: &str, id_tip_suma: i64) -> Result<Vec<Outstanding>> {
        let sql = self.backend.sql(
            "SELECT id, rest_debit, rest_ramasita, rest_majorari, rest_penalitati FROM debts \
             WHERE cui = $1 AND id_tip_suma = $2 \
               AND rest_debit + rest_ramasita + rest_majorari + rest_penalitati > 0 \
             ORDER BY scadenta, id",
        );
        let rows = sqlx::query(&sql)
            .bind(cui)
            .bind(id_tip_suma)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Outstanding {
                    debt_id: r.try_get(0)?,
                    debit: Bani(r.try_get(1)?),
                    ramasita: Bani(r.try_get(2)?),
                    majorari: Bani(r.try_get(3)?),
                    penalitati: Bani(r.try_get(4)?),
                })
            })
            .collect()
    }

    /// Applies an allocation: lowers what is owed, writes the allocation lines and the
    /// credit for what was left over.
    pub async fn apply(
        &mut self,
        payment_id: i64,
        cui: &str,
        id_tip_suma: i64,
        a: &Allocation,
    ) -> Result<()> {
        let b = self.backend;
        for line in &a.lines {
            let update = match line.component {
                Component::Debit => "UPDATE debts SET rest_debit = rest_debit - $1 WHERE id = $2",
                Component::Ramasita => {
                    "UPDATE debts SET rest_ramasita = rest_ramasita - $1 WHERE id = $2"
                }
                Component::Majorari => {
                    "UPDATE debts SET rest_majorari = rest_majorari - $1 WHERE id = $2"
                }
                Component::Penalitati => {
                    "UPDATE debts SET rest_penalitati = rest_penalitati - $1 WHERE id = $2"
                }
            };
            sqlx::query(&b.sql(update))
                .bind(line.amount.0)
                .bind(line.debt_id)
                .execute(&mut *self.tx)
                .await?;
            sqlx::query(&b.sql("INSERT INTO allocations (payment_id, debt_id, component, amount) VALUES ($1, $2, $3, $4)"))
                .bind(payment_id)
                .bind(line.debt_id)
                .bind(line.component.as_str())
                .bind(line.amount.0)
                .execute(&mut *self.tx)
                .await?;
        }
        if a.credit.is_positive() {
            sqlx::query(&b.sql("INSERT INTO credits (payment_id, cui, id_tip_suma, amount) VALUES ($1, $2, $3, $4)"))
                .bind(payment_id)
                .bind(cui)
                .bind(id_tip_suma)
                .bind(a.credit.0)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The id MySQL generated for the row just inserted.
fn new_id(last_insert_id: Option<i64>) -> Result<i64> {
    last_insert_id.filter(|id| *id > 0).ok_or_else(|| {
        Error::Database(sqlx::Error::Protocol(
            "the database did not report the id of the new row".into(),
        ))
    })
}

async fn prepare_connection(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
) -> std::result::Result<(), sqlx::Error> {
    let settings: &[&str] = match backend {
        // WAL lets readers run beside the writer; FULL makes every committed payment
        // survive a power cut; busy_timeout covers other processes (an import) holding
        // the write lock.
        Backend::Sqlite => &[
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
        ],
        Backend::Postgres => &[],
        // READ COMMITTED as on PostgreSQL: a transaction sees what others committed (the
        // payment path relies on it after a duplicate order), and InnoDB takes no gap
        // locks, so a payment for an unknown CUI blocks no import. Strict mode turns a
        // value that does not fit into an error instead of a silent truncation.
        Backend::Mysql => &[
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        ],
    };
    for statement in settings {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Makes sure a SQLite file can be created: its folder exists and `mode=rwc` is set.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|source| Error::CreateFolder {
                path: parent.display().to_string(),
                source,
            })?;
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

/// A URL fit for a log or an error message: any password is replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_printed_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("sqlite://data/g.db"), "sqlite://data/g.db");
    }

    #[test]
    fn mysql_gets_question_marks_in_order_and_others_keep_numbers() {
        let sql = "UPDATE t SET a = $1, b = $2 WHERE id = $10";
        assert_eq!(Backend::Sqlite.sql(sql), sql);
        assert_eq!(Backend::Postgres.sql(sql), sql);
        let many: Vec<String> = (1..=12).map(|i| format!("${i}")).collect();
        assert_eq!(
            Backend::Mysql.sql(&format!("VALUES ({}) -- $x", many.join(","))),
            format!("VALUES ({}) -- $x", ["?"; 12].join(","))
        );
    }

    #[test]
    fn url_scheme_decides_the_backend() {
        assert_eq!(Backend::of_url("sqlite://a.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://h/x"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://root@h/x"), Some(Backend::Mysql));
        assert_eq!(Backend::of_url("mariadb://root@h/x"), Some(Backend::Mysql));
        assert_eq!(Backend::of_url("oracle://h/x"), None);
    }

    /// A verified payment must be on disk before the answer leaves: the payment
    /// transaction runs in WAL mode with synchronous = FULL (2).
    #[tokio::test]
    async fn sqlite_payment_path_runs_in_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let store = Store::connect(&url, 2, Timeouts::default()).await.unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.begin_payment().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *tx.tx)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *tx.tx)
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(synchronous, 2, "synchronous must be FULL");
        drop(tx);
        // Every connection of the pool, not just the first one, is set up the same way.
        let (mut a, mut b) = (
            store.acquire().await.unwrap(),
            store.acquire().await.unwrap(),
        );
        for conn in [&mut a, &mut b] {
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(synchronous, 2);
        }
    }

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/g.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.path().join("a/b").is_dir());
    }
}
